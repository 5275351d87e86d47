//! Where two decisions differ: the first field, in document order, whose
//! values are not equal, as a path (`offers[1].value`).

use std::cell::RefCell;

use serde::Serialize;
use serde_json::Value;

/// Whether `value` written as JSON is exactly `expected`. Replay writes
/// every decision it makes again to compare it with its logged line, so
/// each thread writes into one buffer it keeps.
pub fn writes_as<T: Serialize>(value: &T, expected: &[u8]) -> bool {
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        serde_json::to_writer(&mut *buffer, value).is_ok() && buffer.as_slice() == expected
    })
}

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
    fn writing_is_checked_against_the_expected_bytes() {
        let value = serde_json::json!({"route": {"queue": "billing"}, "offers": [1, 2]});
        let text = serde_json::to_string(&value).unwrap();
        assert!(writes_as(&value, text.as_bytes()));
        assert!(
            !writes_as(&value, &text.as_bytes()[..text.len() - 1]),
            "shorter"
        );
        assert!(!writes_as(&value, format!("{text} ").as_bytes()), "longer");
        assert!(!writes_as(
            &value,
            text.replace("billing", "billinG").as_bytes()
        ));
    }

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
