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

/// One value a plugin produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnnotationValue {
    Number(f64),
    Text(String),
    Flag(bool),
    List(Vec<String>),
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
