//! Reading test files: every case and sequence on its own, so that one
//! invalid entry is reported with its place and the others still run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::file::{HistoryStub, Sequence, Step, TestCase};
use super::toml_json::toml_to_json;
use crate::event::ComplaintEvent;
use crate::expr::CustomerHistory;
use crate::store::LifecycleEvent;
use crate::time::{Duration, Timestamp};

impl From<&HistoryStub> for CustomerHistory {
    fn from(stub: &HistoryStub) -> Self {
        CustomerHistory {
            open_cases: stub.open_cases,
            complaints_30d: stub.complaints_30d,
            goodwill_365d: stub.goodwill_365d,
        }
    }
}

/// When a case's event has no `received_at`, and when a sequence's clock
/// starts.
pub const DEFAULT_RECEIVED_AT: &str = "2026-01-01T00:00:00Z";

/// Most complaints one step may repeat: a sequence is a test, not a load
/// generator.
pub const MAX_REPEAT: u32 = 10_000;

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

/// A sequence ready to run.
#[derive(Debug)]
pub struct LoadedSequence {
    pub file: PathBuf,
    pub line: usize,
    pub name: String,
    pub start: Timestamp,
    pub steps: Vec<LoadedStep>,
}

/// One step of a sequence, checked.
#[derive(Debug)]
pub struct LoadedStep {
    pub line: usize,
    /// `step N`, or `step N (name)`.
    pub label: String,
    pub clock: ClockMove,
    pub action: Action,
    pub expect: Option<serde_json::Value>,
    pub expect_empty: Vec<String>,
    pub expect_fired: Option<serde_json::Value>,
}

/// How a step moves the clock before it acts.
#[derive(Debug, Clone, Copy)]
pub enum ClockMove {
    Stay,
    After(Duration),
    At(Timestamp),
}

/// What a step does once the clock has moved.
#[derive(Debug)]
pub enum Action {
    /// Only the clock moves (timers fire).
    Wait,
    Complaint {
        /// `received_at` is set from the clock. Boxed: events are large.
        event: Box<ComplaintEvent>,
        repeat: u32,
        every: Duration,
        plugins: BTreeMap<String, toml::Table>,
    },
    Lifecycle {
        case: String,
        event: LifecycleEvent,
        expect_error: Option<String>,
    },
    ViewCase {
        case: String,
    },
}

/// Everything runnable in the tests directory.
#[derive(Debug, Default)]
pub struct Loaded {
    pub cases: Vec<LoadedCase>,
    pub sequences: Vec<LoadedSequence>,
    pub errors: Vec<CaseError>,
}

impl Loaded {
    fn append(&mut self, mut other: Loaded) {
        self.cases.append(&mut other.cases);
        self.sequences.append(&mut other.sequences);
        self.errors.append(&mut other.errors);
    }
}

/// A file, case or sequence that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseError {
    pub file: PathBuf,
    pub line: usize,
    pub name: Option<String>,
    pub message: String,
}

/// Reads every `*.toml` in `dir`, in name order.
pub fn load_tests(dir: &Path) -> Loaded {
    let mut loaded = Loaded::default();
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| crate::rules::is_rule_file(p))
            .collect(),
        Err(error) => {
            loaded.errors.push(CaseError {
                file: dir.to_path_buf(),
                line: 0,
                name: None,
                message: format!("cannot read the tests directory: {error}"),
            });
            return loaded;
        }
    };
    paths.sort();
    for path in paths {
        match crate::source_file::read_regular_text(&path, 16 << 20) {
            Ok(text) => loaded.append(parse_tests(&path, &text)),
            Err(error) => loaded.errors.push(CaseError {
                file: path,
                line: 0,
                name: None,
                message: format!("cannot read: {error}"),
            }),
        }
    }
    loaded
}

/// The file's entries with their places; each is checked on its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entries {
    #[serde(default)]
    case: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    sequence: Vec<Spanned<SequenceEntry>>,
}

/// A sequence's steps with their places (the rest is read as a
/// [`Sequence`]).
#[derive(Deserialize)]
struct SequenceEntry {
    #[serde(default)]
    step: Vec<Spanned<toml::Table>>,
    #[serde(flatten)]
    rest: toml::Table,
}

/// Parses the cases and sequences of one test file.
pub fn parse_tests(path: &Path, text: &str) -> Loaded {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let mut loaded = Loaded::default();
    let error_at = |line: usize, name: Option<String>, message: String| CaseError {
        file: path.to_path_buf(),
        line,
        name,
        message,
    };
    let entries: Entries = match toml::from_str(text) {
        Ok(entries) => entries,
        Err(error) => {
            let line = error.span().map_or(0, |s| line_of(s.start));
            loaded
                .errors
                .push(error_at(line, None, error.message().to_string()));
            return loaded;
        }
    };
    for entry in entries.case {
        let line = line_of(entry.span().start);
        let table = entry.into_inner();
        let name = entry_name(&table);
        match load_case(path, line, table) {
            Ok(case) => loaded.cases.push(case),
            Err(message) => loaded.errors.push(error_at(line, name, message)),
        }
    }
    for entry in entries.sequence {
        let line = line_of(entry.span().start);
        let entry = entry.into_inner();
        let name = entry_name(&entry.rest);
        let steps: Vec<(usize, toml::Table)> = entry
            .step
            .into_iter()
            .map(|s| (line_of(s.span().start), s.into_inner()))
            .collect();
        match load_sequence(path, line, entry.rest, steps) {
            Ok(sequence) => loaded.sequences.push(sequence),
            Err((line, message)) => loaded.errors.push(error_at(line, name, message)),
        }
    }
    loaded
}

fn entry_name(table: &toml::Table) -> Option<String> {
    table
        .get("name")
        .and_then(|n| n.as_str())
        .map(str::to_string)
}

fn load_case(path: &Path, line: usize, table: toml::Table) -> Result<LoadedCase, String> {
    let case: TestCase = toml::Value::Table(table)
        .try_into()
        .map_err(|error: toml::de::Error| error.message().to_string())?;
    let mut event_json = toml_to_json(&toml::Value::Table(case.event));
    if let Some(object) = event_json.as_object_mut() {
        object
            .entry("received_at")
            .or_insert_with(|| serde_json::Value::String(DEFAULT_RECEIVED_AT.to_string()));
    }
    let event = ComplaintEvent::from_value(event_json).map_err(|e| e.to_string())?;
    Ok(LoadedCase {
        file: path.to_path_buf(),
        line,
        name: case.name,
        event,
        plugins: case.plugins,
        history: case.history.as_ref().map(CustomerHistory::from),
        expect: toml_to_json(&toml::Value::Table(case.expect)),
        expect_empty: case.expect_empty,
    })
}

fn load_sequence(
    path: &Path,
    line: usize,
    rest: toml::Table,
    steps: Vec<(usize, toml::Table)>,
) -> Result<LoadedSequence, (usize, String)> {
    let mut table = rest;
    table.insert("step".to_string(), toml::Value::Array(Vec::new()));
    let sequence: Sequence = toml::Value::Table(table)
        .try_into()
        .map_err(|error: toml::de::Error| (line, error.message().to_string()))?;
    if steps.is_empty() {
        return Err((
            line,
            "a sequence needs at least one `[[sequence.step]]`".to_string(),
        ));
    }
    let start = match &sequence.start {
        Some(value) => moment(value).map_err(|m| (line, format!("`start`: {m}")))?,
        None => DEFAULT_RECEIVED_AT
            .parse()
            .map_err(|_| (line, "the default start does not parse".to_string()))?,
    };
    let mut loaded = Vec::with_capacity(steps.len());
    for (index, (step_line, table)) in steps.into_iter().enumerate() {
        let step = load_step(index + 1, step_line, table, &sequence.plugins)
            .map_err(|m| (step_line, format!("step {}: {m}", index + 1)))?;
        loaded.push(step);
    }
    Ok(LoadedSequence {
        file: path.to_path_buf(),
        line,
        name: sequence.name,
        start,
        steps: loaded,
    })
}

fn load_step(
    number: usize,
    line: usize,
    table: toml::Table,
    sequence_plugins: &BTreeMap<String, toml::Table>,
) -> Result<LoadedStep, String> {
    let step: Step = toml::Value::Table(table)
        .try_into()
        .map_err(|error: toml::de::Error| error.message().to_string())?;
    let label = match &step.name {
        Some(name) => format!("step {number} ({name})"),
        None => format!("step {number}"),
    };
    let clock = match (step.after, &step.at) {
        (Some(_), Some(_)) => return Err("give `after` or `at`, not both".to_string()),
        (Some(after), None) => ClockMove::After(after),
        (None, Some(at)) => ClockMove::At(moment(at).map_err(|m| format!("`at`: {m}"))?),
        (None, None) => ClockMove::Stay,
    };
    let complaint_only = |key: &str, given: bool| {
        if given && step.event.is_none() {
            Err(format!("`{key}` is for a step with an `event`"))
        } else {
            Ok(())
        }
    };
    complaint_only("repeat", step.repeat.is_some())?;
    complaint_only("every", step.every.is_some())?;
    complaint_only("plugins", !step.plugins.is_empty())?;
    if step.expect_error.is_some() && step.lifecycle.is_none() {
        return Err("`expect_error` is for a step with a `lifecycle` event".to_string());
    }
    let action = match (step.event, step.case, step.lifecycle) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(
                "a step decides a complaint (`event`) or acts on a case (`case`, `lifecycle`), not both"
                    .to_string(),
            );
        }
        (Some(event), None, None) => {
            let json = toml_to_json(&toml::Value::Table(event));
            if json.get("received_at").is_some() {
                return Err(
                    "a sequence's complaints are received at the clock's time: move it with `after` or `at` instead of `received_at`"
                        .to_string(),
                );
            }
            let event = ComplaintEvent::from_value(json).map_err(|e| format!("`event`: {e}"))?;
            let repeat = step.repeat.unwrap_or(1);
            if !(1..=MAX_REPEAT).contains(&repeat) {
                return Err(format!("`repeat` must be 1 to {MAX_REPEAT}, not {repeat}"));
            }
            let mut plugins = sequence_plugins.clone();
            plugins.extend(step.plugins);
            Action::Complaint {
                event: Box::new(event),
                repeat,
                every: step.every.unwrap_or_default(),
                plugins,
            }
        }
        (None, Some(case), Some(lifecycle)) => {
            let event: LifecycleEvent =
                serde_json::from_value(toml_to_json(&toml::Value::Table(lifecycle)))
                    .map_err(|e| format!("`lifecycle`: {e}"))?;
            Action::Lifecycle {
                case,
                event,
                expect_error: step.expect_error,
            }
        }
        (None, None, Some(_)) => {
            return Err("a `lifecycle` event needs the `case` it applies to".to_string());
        }
        (None, Some(case), None) => Action::ViewCase { case },
        (None, None, None) => {
            if step.expect.is_some() || !step.expect_empty.is_empty() {
                return Err(
                    "`expect` needs something to check: an `event` or a `case` (use `expect_fired` for the timers)"
                        .to_string(),
                );
            }
            Action::Wait
        }
    };
    Ok(LoadedStep {
        line,
        label,
        clock,
        action,
        expect: step.expect.map(|t| toml_to_json(&toml::Value::Table(t))),
        expect_empty: step.expect_empty,
        expect_fired: step.expect_fired.map(|list| {
            serde_json::Value::Array(
                list.into_iter()
                    .map(|t| toml_to_json(&toml::Value::Table(t)))
                    .collect(),
            )
        }),
    })
}

/// A TOML datetime or RFC 3339 string as a moment.
fn moment(value: &toml::Value) -> Result<Timestamp, String> {
    match toml_to_json(value) {
        serde_json::Value::String(text) => text.parse().map_err(|e| format!("{e}")),
        other => Err(format!(
            "expected a datetime such as 2026-03-02T09:00:00Z, found {other}"
        )),
    }
}
