//! Runtime values of conditions. Strings borrow from the event where they
//! can, so evaluating a condition does not allocate.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::time::{Duration, Timestamp};

/// A value produced while evaluating a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(Cow<'a, str>),
    Duration(Duration),
    Timestamp(Timestamp),
    List(List<'a>),
    /// A JSON object from `attrs` (or `attrs` itself).
    Map(MapRef<'a>),
}

/// A list value: borrowed from the event or a plugin, or built by a literal.
#[derive(Debug, Clone, PartialEq)]
pub enum List<'a> {
    Strings(&'a [String]),
    Json(&'a [serde_json::Value]),
    Owned(Vec<Value<'a>>),
}

/// A map value: `attrs`, or a JSON object inside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MapRef<'a> {
    Attrs(&'a BTreeMap<String, serde_json::Value>),
    Json(&'a serde_json::Map<String, serde_json::Value>),
}

impl<'a> MapRef<'a> {
    pub fn get(self, key: &str) -> Option<&'a serde_json::Value> {
        match self {
            MapRef::Attrs(map) => map.get(key),
            MapRef::Json(map) => map.get(key),
        }
    }

    pub fn len(self) -> usize {
        match self {
            MapRef::Attrs(map) => map.len(),
            MapRef::Json(map) => map.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl<'a> List<'a> {
    pub fn len(&self) -> usize {
        match self {
            List::Strings(items) => items.len(),
            List::Json(items) => items.len(),
            List::Owned(items) => items.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> Option<Value<'a>> {
        match self {
            List::Strings(items) => items.get(index).map(|s| Value::Str(Cow::Borrowed(s))),
            List::Json(items) => items.get(index).map(Value::from_json),
            List::Owned(items) => items.get(index).cloned(),
        }
    }

    pub fn contains(&self, needle: &Value<'_>) -> bool {
        match self {
            List::Strings(items) => match needle {
                Value::Str(s) => items.iter().any(|item| item == s.as_ref()),
                _ => false,
            },
            List::Json(items) => items
                .iter()
                .any(|item| Value::from_json(item).equals(needle) == Some(true)),
            List::Owned(items) => items.iter().any(|item| item.equals(needle) == Some(true)),
        }
    }
}

impl<'a> Value<'a> {
    /// Reads a JSON value from `attrs` without copying strings.
    pub fn from_json(value: &'a serde_json::Value) -> Value<'a> {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(Cow::Borrowed(s)),
            serde_json::Value::Array(items) => Value::List(List::Json(items)),
            serde_json::Value::Object(map) => Value::Map(MapRef::Json(map)),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Numbers as `f64` (ints are widened).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Double(d) => Some(*d),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Double(_) => "double",
            Value::Str(_) => "string",
            Value::Duration(_) => "duration",
            Value::Timestamp(_) => "timestamp",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }

    /// CEL equality: numbers compare across int and double; values of
    /// different types are unequal; `None` never happens for lists and
    /// maps, which compare element-wise.
    pub fn equals(&self, other: &Value<'_>) -> Option<bool> {
        Some(match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Duration(a), Value::Duration(b)) => a == b,
            (Value::Timestamp(a), Value::Timestamp(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (a, b) if a.as_f64().is_some() && b.as_f64().is_some() => a.as_f64() == b.as_f64(),
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len()
                    && (0..a.len()).all(|i| match (a.get(i), b.get(i)) {
                        (Some(x), Some(y)) => x.equals(&y) == Some(true),
                        _ => false,
                    })
            }
            (Value::Map(a), Value::Map(b)) => map_to_json(*a) == map_to_json(*b),
            _ => false,
        })
    }

    /// Ordering for `< <= > >=`; `None` when the two cannot be ordered.
    pub fn compare(&self, other: &Value<'_>) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Str(a), Value::Str(b)) => Some(a.as_ref().cmp(b.as_ref())),
            (Value::Duration(a), Value::Duration(b)) => Some(a.cmp(b)),
            (Value::Timestamp(a), Value::Timestamp(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (a, b) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        }
    }

    /// The value as JSON, for traces and explanations.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Double(d) => serde_json::Number::from_f64(*d)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::Duration(d) => serde_json::Value::String(d.to_string()),
            Value::Timestamp(t) => serde_json::Value::String(t.to_rfc3339()),
            Value::List(list) => serde_json::Value::Array(
                (0..list.len())
                    .filter_map(|i| list.get(i).map(|v| v.to_json()))
                    .collect(),
            ),
            Value::Map(map) => map_to_json(*map),
        }
    }
}

fn map_to_json(map: MapRef<'_>) -> serde_json::Value {
    match map {
        MapRef::Attrs(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<serde_json::Map<_, _>>(),
        ),
        MapRef::Json(map) => serde_json::Value::Object(map.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_across_int_and_double() {
        assert_eq!(Value::Int(3).equals(&Value::Double(3.0)), Some(true));
        assert_eq!(
            Value::Double(2.5).compare(&Value::Int(3)),
            Some(Ordering::Less)
        );
        assert_eq!(Value::Str("3".into()).equals(&Value::Int(3)), Some(false));
        assert_eq!(Value::Str("gold".into()).compare(&Value::Int(3)), None);
    }

    #[test]
    fn lists_find_members() {
        let items = vec!["refund".to_string(), "apology".to_string()];
        let list = List::Strings(&items);
        assert!(list.contains(&Value::Str("refund".into())));
        assert!(!list.contains(&Value::Int(1)));
    }
}
