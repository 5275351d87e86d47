//! Where two decisions differ: the first field, in document order, whose
//! values are not equal, as a path (`offers[1].value`).

use serde_json::Value;

/// The first difference between `recorded` and `replayed`: its path and
/// both values there; `None` if they are equal.
pub fn first_difference(recorded: &Value, replayed: &Value) -> Option<(String, Value, Value)> {
    let mut path = String::new();
    walk(recorded, replayed, &mut path)
}

fn walk(a: &Value, b: &Value, path: &mut String) -> Option<(String, Value, Value)> {
    match (a, b) {
        (Value::Object(a_map), Value::Object(b_map)) => {
            // Keys in the recorded order, then keys only the replay has.
            let keys = a_map
                .keys()
                .chain(b_map.keys().filter(|k| !a_map.contains_key(*k)));
            for key in keys {
                let (left, right) = (
                    a_map.get(key).unwrap_or(&Value::Null),
                    b_map.get(key).unwrap_or(&Value::Null),
                );
                let length = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                if let Some(found) = walk(left, right, path) {
                    return Some(found);
                }
                path.truncate(length);
            }
            None
        }
        (Value::Array(a_items), Value::Array(b_items)) => {
            for index in 0..a_items.len().max(b_items.len()) {
                let (left, right) = (
                    a_items.get(index).unwrap_or(&Value::Null),
                    b_items.get(index).unwrap_or(&Value::Null),
                );
                let length = path.len();
                path.push_str(&format!("[{index}]"));
                if let Some(found) = walk(left, right, path) {
                    return Some(found);
                }
                path.truncate(length);
            }
            None
        }
        _ if a == b => None,
        _ => Some((path.clone(), a.clone(), b.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_differing_field_is_named() {
        let a = serde_json::json!({"route": {"queue": "billing", "rule": "x"}, "offers": [{"value": 1}, {"value": 2}]});
        let b = serde_json::json!({"route": {"queue": "billing", "rule": "x"}, "offers": [{"value": 1}, {"value": 3}]});
        let (path, left, right) = first_difference(&a, &b).unwrap();
        assert_eq!(path, "offers[1].value");
        assert_eq!((left, right), (serde_json::json!(2), serde_json::json!(3)));
        assert!(first_difference(&a, &a).is_none());
        let c = serde_json::json!({"route": {"queue": "care", "rule": "x"}, "offers": [{"value": 1}, {"value": 2}]});
        assert_eq!(first_difference(&a, &c).unwrap().0, "route.queue");
        let d = serde_json::json!({"route": {"queue": "billing", "rule": "x"}});
        assert_eq!(
            first_difference(&a, &d).unwrap().0,
            "offers",
            "a missing field differs too"
        );
    }
}
