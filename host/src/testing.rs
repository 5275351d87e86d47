//! Rule tests as data: `DIR/tests/*.toml` files of cases, each an event
//! and the fragments of the decision it must produce. `redress test` runs
//! them and shows what differs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::decision::Decision;
use crate::event::ComplaintEvent;
use crate::expr::CustomerHistory;
use crate::time::Timestamp;

/// One test file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Redress rule tests")]
pub struct TestFile {
    /// The cases, as `[[case]]` tables.
    #[serde(default)]
    pub case: Vec<TestCase>,
}

/// One case: an event and what its decision must contain.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// Name of the case, unique in its file.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// What the case shows. Default: none.
    #[serde(default)]
    pub description: Option<String>,
    /// The complaint event, as TOML (same fields as the JSON event).
    /// `received_at` defaults to `2026-01-01T00:00:00Z`.
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub event: toml::Table,
    /// Plugin outputs to use instead of running the plugin:
    /// plugin name → output name → value. Default: run the plugins.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BTreeMap<String, serde_json::Value>>")]
    pub plugins: BTreeMap<String, toml::Table>,
    /// The customer's history, as the store would report it. Default: no
    /// history (as without the daemon's store).
    #[serde(default)]
    pub history: Option<HistoryStub>,
    /// Fragments the decision must contain. Tables match the keys they
    /// list; arrays must match element by element, with the same length.
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub expect: toml::Table,
    /// Decision fields that must be empty: null, `[]` or absent.
    /// Default: `[]`.
    #[serde(default)]
    pub expect_empty: Vec<String>,
}

/// The customer history a case pretends the store has.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryStub {
    #[serde(default)]
    pub open_cases: i64,
    #[serde(default)]
    pub complaints_30d: i64,
    #[serde(default)]
    pub goodwill_365d: f64,
}

impl From<&HistoryStub> for CustomerHistory {
    fn from(stub: &HistoryStub) -> Self {
        CustomerHistory {
            open_cases: stub.open_cases,
            complaints_30d: stub.complaints_30d,
            goodwill_365d: stub.goodwill_365d,
        }
    }
}

/// When a case's event has no `received_at`.
pub const DEFAULT_RECEIVED_AT: &str = "2026-01-01T00:00:00Z";

/// A case ready to run.
#[derive(Debug)]
pub struct LoadedCase {
    pub file: PathBuf,
    pub line: usize,
    pub name: String,
    pub event: ComplaintEvent,
    pub plugins: BTreeMap<String, toml::Table>,
    pub history: Option<CustomerHistory>,
    pub expect: serde_json::Value,
    pub expect_empty: Vec<String>,
}

/// A file or case that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseError {
    pub file: PathBuf,
    pub line: usize,
    pub name: Option<String>,
    pub message: String,
}

/// Reads every `*.toml` in `dir`, in name order.
pub fn load_cases(dir: &Path) -> (Vec<LoadedCase>, Vec<CaseError>) {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| crate::rules::is_rule_file(p))
            .collect(),
        Err(error) => {
            errors.push(CaseError {
                file: dir.to_path_buf(),
                line: 0,
                name: None,
                message: format!("cannot read the tests directory: {error}"),
            });
            return (cases, errors);
        }
    };
    paths.sort();
    for path in paths {
        let text = match crate::source_file::read_regular_text(&path, 16 << 20) {
            Ok(text) => text,
            Err(error) => {
                errors.push(CaseError {
                    file: path,
                    line: 0,
                    name: None,
                    message: format!("cannot read: {error}"),
                });
                continue;
            }
        };
        let (mut file_cases, mut file_errors) = parse_cases(&path, &text);
        cases.append(&mut file_cases);
        errors.append(&mut file_errors);
    }
    (cases, errors)
}

/// Parses the cases of one test file.
pub fn parse_cases(path: &Path, text: &str) -> (Vec<LoadedCase>, Vec<CaseError>) {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let file: TestFile = match toml::from_str(text) {
        Ok(file) => file,
        Err(error) => {
            let line = error.span().map_or(0, |s| line_of(s.start));
            return (
                Vec::new(),
                vec![CaseError {
                    file: path.to_path_buf(),
                    line,
                    name: None,
                    message: error.message().to_string(),
                }],
            );
        }
    };
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for case in file.case {
        let line = line_of(case.name.span().start);
        let name = case.name.get_ref().clone();
        let mut event_json = toml_to_json(&toml::Value::Table(case.event));
        if let Some(object) = event_json.as_object_mut() {
            object
                .entry("received_at")
                .or_insert_with(|| serde_json::Value::String(DEFAULT_RECEIVED_AT.to_string()));
        }
        let event = match ComplaintEvent::from_value(event_json) {
            Ok(event) => event,
            Err(error) => {
                errors.push(CaseError {
                    file: path.to_path_buf(),
                    line,
                    name: Some(name),
                    message: error.to_string(),
                });
                continue;
            }
        };
        cases.push(LoadedCase {
            file: path.to_path_buf(),
            line,
            name,
            event,
            plugins: case.plugins,
            history: case.history.as_ref().map(CustomerHistory::from),
            expect: toml_to_json(&toml::Value::Table(case.expect)),
            expect_empty: case.expect_empty,
        });
    }
    (cases, errors)
}

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
    let actual = match serde_json::to_value(decision) {
        Ok(actual) => actual,
        Err(error) => {
            return vec![Mismatch {
                path: String::new(),
                expected: "a decision".to_string(),
                found: format!("a decision that cannot be shown as JSON: {error}"),
            }];
        }
    };
    let mut mismatches = Vec::new();
    compare(&case.expect, &actual, "", &mut mismatches);
    for path in &case.expect_empty {
        let found = lookup(&actual, path);
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

fn compare(
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

/// The result of one case.
#[derive(Debug)]
pub struct CaseResult {
    pub file: PathBuf,
    pub line: usize,
    pub name: String,
    pub outcome: Result<Vec<Mismatch>, String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        matches!(&self.outcome, Ok(m) if m.is_empty())
    }
}

/// Renders results: failures with their differences, then the count.
pub fn render_results(results: &[CaseResult], errors: &[CaseError], color: bool) -> String {
    let (red, green, bold, reset) = if color {
        ("\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let mut out = String::new();
    for error in errors {
        let _ = writeln!(
            out,
            "{red}error{reset}: {}:{}{}: {}",
            error.file.display(),
            error.line,
            error
                .name
                .as_ref()
                .map_or(String::new(), |n| format!(" (case `{n}`)")),
            error.message
        );
    }
    for result in results {
        match &result.outcome {
            Ok(mismatches) if mismatches.is_empty() => {
                let _ = writeln!(out, "{green}pass{reset} {}", result.name);
            }
            Ok(mismatches) => {
                let _ = writeln!(
                    out,
                    "{red}FAIL{reset} {bold}{}{reset} ({}:{})",
                    result.name,
                    result.file.display(),
                    result.line
                );
                for mismatch in mismatches {
                    let _ = writeln!(out, "     at {bold}{}{reset}", mismatch.path);
                    let _ = writeln!(out, "     {red}- expected: {}{reset}", mismatch.expected);
                    let _ = writeln!(out, "     {green}+ found:    {}{reset}", mismatch.found);
                }
            }
            Err(message) => {
                let _ = writeln!(
                    out,
                    "{red}FAIL{reset} {bold}{}{reset} ({}:{}): {message}",
                    result.name,
                    result.file.display(),
                    result.line
                );
            }
        }
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    let failed = results.len() - passed + errors.len();
    let _ = writeln!(out, "\n{passed} passed, {failed} failed");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_match_partially_and_report_paths() {
        let expected = serde_json::json!({"route": {"queue": "billing"}, "offers": [{"kind": "refund", "value": 10}]});
        let actual = serde_json::json!({"route": {"queue": "care", "rule": "x"}, "offers": [{"kind": "refund", "value": 10.0, "note": null}]});
        let mut out = Vec::new();
        compare(&expected, &actual, "", &mut out);
        assert_eq!(
            out,
            vec![Mismatch {
                path: "route.queue".into(),
                expected: "\"billing\"".into(),
                found: "\"care\"".into()
            }]
        );
    }

    #[test]
    fn cases_parse_with_defaults_and_line_numbers() {
        let text = "\n[[case]]\nname = \"a\"\nevent = { id = \"e-1\", received_at = 2026-11-20T10:00:00Z }\nexpect = { route = { queue = \"x\" } }\n\n[[case]]\nname = \"b\"\nevent = { id = \"e-2\", channel = 3 }\nexpect = {}\n";
        let (cases, errors) = parse_cases(Path::new("t.toml"), text);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].line, 3);
        assert_eq!(
            cases[0].event.received_at.unwrap().to_rfc3339(),
            "2026-11-20T10:00:00Z"
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("channel"), "{errors:?}");
    }
}
