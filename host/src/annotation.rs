//! Facts a plugin adds to a complaint, as rules see them
//! (`plugins.<name>.<key>`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The declared type of a plugin output, from the plugin's manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationType {
    /// A floating point number (`double` in conditions).
    Number,
    /// A string.
    Text,
    /// A boolean.
    Flag,
    /// A list of strings.
    List,
}

impl AnnotationType {
    pub fn name(self) -> &'static str {
        match self {
            AnnotationType::Number => "number",
            AnnotationType::Text => "text",
            AnnotationType::Flag => "flag",
            AnnotationType::List => "list",
        }
    }
}

/// One value a plugin produced. In JSON: a number, a string, a boolean or
/// a list of strings.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum AnnotationValue {
    Number(f64),
    Text(String),
    Flag(bool),
    List(Vec<String>),
}

/// By the JSON type, directly: serde's untagged enums buffer every value
/// and try each variant in turn, which replaying a log pays for every
/// plugin output of every decision.
impl<'de> Deserialize<'de> for AnnotationValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> serde::de::Visitor<'de> for ValueVisitor {
            type Value = AnnotationValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, a string, a boolean or a list of strings")
            }
            fn visit_f64<E>(self, n: f64) -> Result<AnnotationValue, E> {
                Ok(AnnotationValue::Number(n))
            }
            fn visit_i64<E>(self, n: i64) -> Result<AnnotationValue, E> {
                Ok(AnnotationValue::Number(n as f64))
            }
            fn visit_u64<E>(self, n: u64) -> Result<AnnotationValue, E> {
                Ok(AnnotationValue::Number(n as f64))
            }
            fn visit_bool<E>(self, b: bool) -> Result<AnnotationValue, E> {
                Ok(AnnotationValue::Flag(b))
            }
            fn visit_str<E>(self, s: &str) -> Result<AnnotationValue, E> {
                Ok(AnnotationValue::Text(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<AnnotationValue, E> {
                Ok(AnnotationValue::Text(s))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<AnnotationValue, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(AnnotationValue::List(items))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl AnnotationValue {
    pub fn kind(&self) -> AnnotationType {
        match self {
            AnnotationValue::Number(_) => AnnotationType::Number,
            AnnotationValue::Text(_) => AnnotationType::Text,
            AnnotationValue::Flag(_) => AnnotationType::Flag,
            AnnotationValue::List(_) => AnnotationType::List,
        }
    }

    /// Converts a TOML value (a manifest default, a test stub) of the given
    /// type; `None` when the value does not have that type.
    pub fn from_toml(ty: AnnotationType, value: &toml::Value) -> Option<Self> {
        match (ty, value) {
            (AnnotationType::Number, toml::Value::Float(f)) => Some(AnnotationValue::Number(*f)),
            (AnnotationType::Number, toml::Value::Integer(i)) => {
                Some(AnnotationValue::Number(*i as f64))
            }
            (AnnotationType::Text, toml::Value::String(s)) => {
                Some(AnnotationValue::Text(s.clone()))
            }
            (AnnotationType::Flag, toml::Value::Boolean(b)) => Some(AnnotationValue::Flag(*b)),
            (AnnotationType::List, toml::Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(AnnotationValue::List),
            _ => None,
        }
    }
}
