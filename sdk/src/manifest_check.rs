//! `testing::check_manifest`: what a plugin answered, checked against its
//! manifest in `cargo test` the way the host checks it on every call, so a
//! mismatch (an undeclared output, a number declared a flag, a value
//! outside its `range`, an offer kind not in `may_propose`) fails the
//! plugin's own tests instead of making rules silently never fire.

use std::string::String;
use std::vec::Vec;

use crate::{Analysis, Value};

/// Checks `analysis` against the manifest's text (`include_str!("../NAME.toml")`):
/// each output declared (when the manifest declares any), of its declared
/// type, a finite number within its `range`, given once; each offer's kind
/// listed in `may_propose` and its value finite and not negative. The error
/// says every problem found, in the host's words.
pub fn check_manifest(manifest: &str, analysis: &Analysis) -> Result<(), String> {
    let table: toml::Table = toml::from_str(manifest)
        .map_err(|error| format!("the manifest does not parse: {error}"))?;
    let outputs = table.get("outputs").and_then(toml::Value::as_table);
    let mut problems = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for annotation in &analysis.annotations {
        let key = annotation.key.as_str();
        if seen.contains(&key) {
            problems.push(format!("output `{key}` is given twice"));
        }
        seen.push(key);
        if let Value::Number(n) = annotation.value
            && !n.is_finite()
        {
            problems.push(format!("output `{key}` is {n}, not a finite number"));
        }
        let Some(outputs) = outputs.filter(|o| !o.is_empty()) else {
            continue;
        };
        let Some(declared) = outputs.get(key).and_then(toml::Value::as_table) else {
            let known: Vec<&str> = outputs.keys().map(String::as_str).collect();
            problems.push(format!(
                "output `{key}` is not declared in the manifest (declared: {})",
                known.join(", ")
            ));
            continue;
        };
        let given = match annotation.value {
            Value::Number(_) => "number",
            Value::Text(_) => "text",
            Value::Flag(_) => "flag",
            Value::List(_) => "list",
        };
        let wanted = declared
            .get("type")
            .and_then(toml::Value::as_str)
            .unwrap_or("?");
        if given != wanted {
            problems.push(format!(
                "output `{key}` is a {given}, but the manifest declares it a {wanted}"
            ));
            continue;
        }
        if let (Value::Number(n), Some(range)) = (
            &annotation.value,
            declared.get("range").and_then(toml::Value::as_array),
        ) {
            let bound = |i: usize| {
                range
                    .get(i)
                    .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
            };
            if let (Some(low), Some(high)) = (bound(0), bound(1))
                && !(low..=high).contains(n)
            {
                problems.push(format!(
                    "output `{key}` is {n}, outside its range [{low}, {high}]"
                ));
            }
        }
    }
    let may_propose: Vec<&str> = table
        .get("may_propose")
        .and_then(toml::Value::as_array)
        .map(|kinds| kinds.iter().filter_map(toml::Value::as_str).collect())
        .unwrap_or_default();
    for offer in &analysis.offers {
        if !may_propose.contains(&offer.kind.as_str()) {
            problems.push(format!(
                "proposes a `{}` offer, but the manifest's `may_propose` does not list it",
                offer.kind
            ));
        }
        if !offer.value.is_finite() || offer.value < 0.0 {
            problems.push(format!("proposes an offer worth {}", offer.value));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
name = "t"
may_propose = ["coupon"]
[outputs]
anger = { type = "number", range = [0, 1] }
angry = { type = "flag" }
"#;

    #[test]
    fn what_matches_the_manifest_passes() {
        let analysis = Analysis::new()
            .number("anger", 0.5)
            .flag("angry", false)
            .offer("coupon", 5.0, None);
        assert_eq!(check_manifest(MANIFEST, &analysis), Ok(()));
    }

    #[test]
    fn every_mismatch_is_named_in_the_hosts_words() {
        let analysis = Analysis::new()
            .number("anger", 1.5)
            .number("angry", 1.0)
            .text("mood", "bad")
            .offer("refund", 5.0, None);
        let error = check_manifest(MANIFEST, &analysis).unwrap_err();
        for expected in [
            "output `anger` is 1.5, outside its range [0, 1]",
            "output `angry` is a number, but the manifest declares it a flag",
            "output `mood` is not declared in the manifest (declared: anger, angry)",
            "proposes a `refund` offer, but the manifest's `may_propose` does not list it",
        ] {
            assert!(error.contains(expected), "{error}");
        }
    }
}
