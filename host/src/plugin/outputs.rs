//! What a plugin's call returns, checked before the rules see it: at most
//! so many outputs and offers, text and lists within their sizes, each
//! output declared with that type and within its range, each offer of a
//! kind the manifest may propose, finite and not negative.

use std::collections::BTreeMap;

use crate::annotation::AnnotationValue;
use crate::plugin::bindings::{self, Analysis};
use crate::plugin::error::Failure;
use crate::plugin::manifest::PluginSpec;

/// Most annotations one call may return.
pub const MAX_ANNOTATIONS: usize = 64;
/// Longest `text` output, in bytes.
pub const MAX_TEXT: usize = 4096;
/// Most items in a `list` output, and longest item in bytes.
pub const MAX_LIST_ITEMS: usize = 256;
pub const MAX_LIST_ITEM: usize = 1024;
/// Most offers one call may propose.
pub const MAX_OFFERS: usize = 16;

/// A plugin's validated outputs for one complaint.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// By output key.
    pub values: BTreeMap<String, AnnotationValue>,
    pub offers: Vec<bindings::Offer>,
}

/// Checks a call's outputs against the manifest's declarations and the
/// host's limits: what a plugin returns is as untrusted as what it is given.
pub(super) fn check_outputs(spec: &PluginSpec, analysis: Analysis) -> Result<Outputs, Failure> {
    let bad = |message: String| Err(Failure::BadOutput { message });
    if analysis.annotations.len() > MAX_ANNOTATIONS {
        return bad(format!(
            "{} outputs (at most {MAX_ANNOTATIONS})",
            analysis.annotations.len()
        ));
    }
    if analysis.offers.len() > MAX_OFFERS {
        return bad(format!(
            "{} offers (at most {MAX_OFFERS})",
            analysis.offers.len()
        ));
    }
    let declared = !spec.outputs.is_empty();
    let mut values = BTreeMap::new();
    for annotation in analysis.annotations {
        let key = clip(annotation.key, 64);
        let value = match annotation.value {
            bindings::Value::Number(n) if n.is_finite() => AnnotationValue::Number(n),
            bindings::Value::Number(n) => {
                return bad(format!("output `{key}` is {n}, not a finite number"));
            }
            bindings::Value::Text(text) if text.len() > MAX_TEXT => {
                return bad(format!(
                    "output `{key}` is {} bytes of text (at most {MAX_TEXT})",
                    text.len()
                ));
            }
            bindings::Value::Text(text) => AnnotationValue::Text(text),
            bindings::Value::Flag(flag) => AnnotationValue::Flag(flag),
            bindings::Value::List(items) => {
                if items.len() > MAX_LIST_ITEMS || items.iter().any(|i| i.len() > MAX_LIST_ITEM) {
                    return bad(format!(
                        "output `{key}` is a list of {} items (at most {MAX_LIST_ITEMS} of at most {MAX_LIST_ITEM} bytes)",
                        items.len()
                    ));
                }
                AnnotationValue::List(items)
            }
        };
        if declared {
            let Some(spec) = spec.output(&key) else {
                let known: Vec<&str> = spec.outputs.iter().map(|o| o.key.as_str()).collect();
                return bad(format!(
                    "output `{key}` is not declared in the manifest (declared: {})",
                    known.join(", ")
                ));
            };
            if spec.ty != value.kind() {
                return bad(format!(
                    "output `{key}` is a {}, but the manifest declares it a {}",
                    value.kind().name(),
                    spec.ty.name()
                ));
            }
            if let Some(problem) = spec.out_of_range(&value) {
                return bad(problem);
            }
        }
        if values.insert(key.clone(), value).is_some() {
            return bad(format!("output `{key}` is given twice"));
        }
    }
    for offer in &analysis.offers {
        if !spec.may_propose.contains(&offer.kind) {
            return bad(format!(
                "proposes a `{}` offer, but the manifest's `may_propose` does not list it",
                clip(offer.kind.clone(), 64)
            ));
        }
        if !offer.value.is_finite() || offer.value < 0.0 {
            return bad(format!("proposes an offer worth {}", offer.value));
        }
        if offer.note.as_ref().is_some_and(|n| n.len() > MAX_LIST_ITEM) {
            return bad("offer note longer than 1024 bytes".to_string());
        }
    }
    Ok(Outputs {
        values,
        offers: analysis.offers,
    })
}

/// `text` cut to at most `max` bytes (on a character boundary), marked.
pub(super) fn clip(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;
    use crate::plugin::bindings::{Annotation, Offer, Value};

    fn spec() -> PluginSpec {
        PluginSpec::parse(
            Path::new("plugins/p.toml"),
            r#"
may_propose = ["refund"]
[outputs]
score = { type = "number", range = [0, 1] }
label = { type = "text" }
urgent = { type = "flag" }
topics = { type = "list" }
"#,
        )
        .unwrap()
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => proptest::sample::select(&["score", "label", "urgent", "topics", "refund", "gift", ""][..])
                .prop_map(str::to_string),
            1 => any::<String>(),
            1 => (0..8_000usize).prop_map(|n| "é".repeat(n / 2)),
        ]
    }

    fn number() -> impl Strategy<Value = f64> {
        prop_oneof![
            3 => -2.0..2.0f64,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(-0.0),
            1 => any::<f64>(),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            number().prop_map(Value::Number),
            text().prop_map(Value::Text),
            any::<bool>().prop_map(Value::Flag),
            proptest::collection::vec(text(), 0..300).prop_map(Value::List),
        ]
    }

    fn analysis() -> impl Strategy<Value = Analysis> {
        let annotation = (text(), value()).prop_map(|(key, value)| Annotation { key, value });
        let offer = (text(), number(), proptest::option::of(text()))
            .prop_map(|(kind, value, note)| Offer { kind, value, note });
        (
            proptest::collection::vec(annotation, 0..70),
            proptest::collection::vec(offer, 0..20),
        )
            .prop_map(|(annotations, offers)| Analysis {
                annotations,
                offers,
            })
    }

    proptest! {
        /// Whatever a plugin returns is refused with a message or
        /// accepted only as its manifest and the host's limits allow.
        #[test]
        fn outputs_are_refused_or_within_the_manifest(analysis in analysis()) {
            let spec = spec();
            match check_outputs(&spec, analysis) {
                Err(Failure::BadOutput { message }) => prop_assert!(!message.is_empty()),
                Err(other) => prop_assert!(false, "not a bad-output failure: {other}"),
                Ok(outputs) => {
                    prop_assert!(outputs.values.len() <= MAX_ANNOTATIONS);
                    prop_assert!(outputs.offers.len() <= MAX_OFFERS);
                    for (key, value) in &outputs.values {
                        let declared = spec.output(key);
                        prop_assert!(declared.is_some(), "undeclared `{key}` accepted");
                        let declared = declared.unwrap();
                        prop_assert_eq!(declared.ty, value.kind());
                        prop_assert!(declared.out_of_range(value).is_none());
                        match value {
                            AnnotationValue::Number(n) => prop_assert!(n.is_finite()),
                            AnnotationValue::Text(text) => prop_assert!(text.len() <= MAX_TEXT),
                            AnnotationValue::List(items) => prop_assert!(
                                items.len() <= MAX_LIST_ITEMS
                                    && items.iter().all(|i| i.len() <= MAX_LIST_ITEM)
                            ),
                            AnnotationValue::Flag(_) => {}
                        }
                    }
                    for offer in &outputs.offers {
                        prop_assert_eq!(offer.kind.as_str(), "refund");
                        prop_assert!(offer.value.is_finite() && offer.value >= 0.0);
                    }
                }
            }
        }
    }
}
