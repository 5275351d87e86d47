//! Expected fragments against what a decision (or a case) contains.

use super::load::LoadedCase;
use crate::decision::Decision;

/// One difference between the expected fragment and the decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Dotted path into the decision: `offers[1].value`.
    pub path: String,
    pub expected: String,
    pub found: String,
}

/// Compares a decision with a case's expectations.
pub fn check_decision(case: &LoadedCase, decision: &Decision) -> Vec<Mismatch> {
    match serde_json::to_value(decision) {
        Ok(actual) => check_fragment(&case.expect, &case.expect_empty, &actual),
        Err(error) => vec![Mismatch {
            path: String::new(),
            expected: "a decision".to_string(),
            found: format!("a decision that cannot be shown as JSON: {error}"),
        }],
    }
}

/// Compares `actual` with an expected fragment and the fields that must be
/// empty.
pub fn check_fragment(
    expect: &serde_json::Value,
    expect_empty: &[String],
    actual: &serde_json::Value,
) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    compare(expect, actual, "", &mut mismatches);
    for path in expect_empty {
        let found = lookup(actual, path);
        let empty = match found {
            None | Some(serde_json::Value::Null) => true,
            Some(serde_json::Value::Array(items)) => items.is_empty(),
            Some(serde_json::Value::Object(map)) => map.is_empty(),
            Some(serde_json::Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if !empty {
            mismatches.push(Mismatch {
                path: path.clone(),
                expected: "empty".to_string(),
                found: found.map_or_else(String::new, |v| v.to_string()),
            });
        }
    }
    mismatches
}

fn lookup<'v>(value: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(value, |current, key| current.get(key))
}

pub(super) fn compare(
    expected: &serde_json::Value,
    actual: &serde_json::Value,
    path: &str,
    out: &mut Vec<Mismatch>,
) {
    use serde_json::Value;
    let here = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, value) in expected {
                match actual.get(key) {
                    Some(found) => compare(value, found, &here(key), out),
                    None => out.push(Mismatch {
                        path: here(key),
                        expected: value.to_string(),
                        found: "nothing (no such field in the decision)".to_string(),
                    }),
                }
            }
        }
        (Value::Array(expected), Value::Array(actual)) => {
            if expected.len() != actual.len() {
                let shown = project(actual, expected);
                out.push(Mismatch {
                    path: path.to_string(),
                    expected: format!(
                        "{} item(s): {}",
                        expected.len(),
                        Value::Array(expected.clone())
                    ),
                    found: format!("{} item(s): {}", actual.len(), Value::Array(shown)),
                });
                return;
            }
            for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
                compare(e, a, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (
                e.as_f64().unwrap_or(f64::NAN),
                a.as_f64().unwrap_or(f64::NAN),
            );
            if (e - a).abs() > 1e-9 * e.abs().max(1.0) {
                out.push(Mismatch {
                    path: path.to_string(),
                    expected: e.to_string(),
                    found: a.to_string(),
                });
            }
        }
        (e, a) if e == a => {}
        (e, a) => out.push(Mismatch {
            path: path.to_string(),
            expected: e.to_string(),
            found: a.to_string(),
        }),
    }
}

/// The found items, keeping only the keys the expected items mention, so a
/// length mismatch reads side by side.
fn project(actual: &[serde_json::Value], expected: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let keys: std::collections::BTreeSet<&String> = expected
        .iter()
        .filter_map(|e| e.as_object())
        .flat_map(|o| o.keys())
        .collect();
    if keys.is_empty() {
        return actual.to_vec();
    }
    actual
        .iter()
        .map(|item| match item.as_object() {
            Some(object) => serde_json::Value::Object(
                object
                    .iter()
                    .filter(|(k, _)| keys.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            None => item.clone(),
        })
        .collect()
}
