//! TOML values as JSON, for comparing with decisions.

use crate::time::Timestamp;

/// TOML to JSON; datetimes become RFC 3339 strings.
pub fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(dt) => {
            let text = dt.to_string();
            match text.parse::<Timestamp>() {
                Ok(ts) => serde_json::Value::String(ts.to_rfc3339()),
                Err(_) => serde_json::Value::String(text),
            }
        }
        toml::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(toml_to_json).collect())
        }
        toml::Value::Table(table) => serde_json::Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}
