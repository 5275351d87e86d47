//! Running a sequence: its steps against a fresh store in a temporary
//! directory, with a clock only the steps move. The store is the daemon's
//! own (SQLite), so control lines, budgets, customer history and timers
//! behave as they do in production.

use std::sync::Arc;

use super::compare::{Mismatch, check_fragment, compare};
use super::load::{Action, ClockMove, LoadedSequence, LoadedStep};
use crate::decision::{PluginRun, TraceLevel};
use crate::intake;
use crate::snapshot::Snapshot;
use crate::store::{
    Durability, Fired, LifecycleError, SqliteStore, Store, StoreOptions, StoreReader,
};
use crate::time::{Clock, ManualClock};

/// Hears how the plugins went on one complaint (runs, complaint id); an
/// error stops the sequence.
pub type PluginRunsFn<'a> = dyn FnMut(&[PluginRun], &str) -> Result<(), String> + 'a;

/// Runs `sequence` under `snapshot`. Expectations that do not hold are
/// returned (prefixed with their step) and the steps go on; an error stops
/// the sequence (the store failed, a plugin refused the complaint, the
/// clock was set backwards). `plugin_runs` hears how the plugins went on
/// each complaint (to warn of failures); its error stops the sequence.
pub fn run_sequence(
    snapshot: &Arc<Snapshot>,
    sequence: &LoadedSequence,
    plugin_runs: &mut PluginRunsFn<'_>,
) -> Result<Vec<Mismatch>, String> {
    let directory = tempfile::tempdir()
        .map_err(|error| format!("cannot make a temporary directory for the store: {error}"))?;
    let clock = Arc::new(ManualClock::new(sequence.start));
    let options = StoreOptions {
        // A test's store is thrown away: syncing it buys nothing.
        durability: Durability::Normal,
        ..StoreOptions::default()
    };
    let store = SqliteStore::open(directory.path(), options, clock.clone())
        .map_err(|error| format!("cannot open a store for the sequence: {error}"))?;
    let mut runner = Runner {
        snapshot,
        store: &store,
        clock: &clock,
        plugin_runs,
        mismatches: Vec::new(),
    };
    for step in &sequence.steps {
        runner
            .step(step)
            .map_err(|message| format!("{} (line {}): {message}", step.label, step.line))?;
    }
    Ok(runner.mismatches)
}

struct Runner<'a> {
    snapshot: &'a Arc<Snapshot>,
    store: &'a SqliteStore,
    clock: &'a ManualClock,
    plugin_runs: &'a mut PluginRunsFn<'a>,
    mismatches: Vec<Mismatch>,
}

impl Runner<'_> {
    fn step(&mut self, step: &LoadedStep) -> Result<(), String> {
        match step.clock {
            ClockMove::Stay => {}
            ClockMove::After(by) => self.clock.advance(by),
            ClockMove::At(at) => {
                if at < self.clock.now() {
                    return Err(format!(
                        "`at = {at}` is before the clock ({}): a sequence only moves forward",
                        self.clock.now()
                    ));
                }
                self.clock.set(at);
            }
        }
        let mut fired = self.fire_due()?;
        let result = match &step.action {
            Action::Wait => None,
            Action::Complaint {
                event,
                repeat,
                every,
                plugins,
            } => {
                let mut last = None;
                for n in 1..=*repeat {
                    if n > 1 {
                        self.clock.advance(*every);
                        fired.extend(self.fire_due()?);
                    }
                    let mut event = event.as_ref().clone();
                    if *repeat > 1 {
                        event.id = format!("{}-{n}", event.id);
                    }
                    last = Some(self.decide(event, plugins)?);
                }
                last
            }
            Action::Lifecycle {
                case,
                event,
                expect_error,
            } => {
                let outcome = self
                    .store
                    .apply(case.clone(), event.clone())
                    .blocking_recv()
                    .map_err(|_| "the store stopped".to_string())?;
                match (outcome, expect_error) {
                    (Ok(view), None) => Some(to_json(&view)?),
                    (Ok(_), Some(text)) => {
                        self.mismatch(
                            step,
                            "lifecycle",
                            format!("refused with \"{text}\""),
                            "accepted".to_string(),
                        );
                        None
                    }
                    (Err(LifecycleError::Store(error)), _) => {
                        return Err(format!("the store failed: {error}"));
                    }
                    (Err(error), Some(text)) if error.to_string().contains(text.as_str()) => None,
                    (Err(error), expected) => {
                        let expected = match expected {
                            Some(text) => format!("refused with \"{text}\""),
                            None => "accepted".to_string(),
                        };
                        self.mismatch(step, "lifecycle", expected, format!("refused: {error}"));
                        None
                    }
                }
            }
            Action::ViewCase { case } => match self
                .store
                .case(case)
                .map_err(|error| format!("the store failed: {error}"))?
            {
                Some(view) => Some(to_json(&view)?),
                None => {
                    self.mismatch(
                        step,
                        "case",
                        format!("case `{case}`"),
                        "no such case (a case is opened by the complaint with that id)".to_string(),
                    );
                    None
                }
            },
        };
        if let Some(actual) = result {
            let expect = step
                .expect
                .clone()
                .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
            for mismatch in check_fragment(&expect, &step.expect_empty, &actual) {
                self.push(step, mismatch);
            }
        }
        if let Some(expected) = &step.expect_fired {
            let fired =
                serde_json::Value::Array(fired.iter().map(to_json).collect::<Result<Vec<_>, _>>()?);
            let mut found = Vec::new();
            compare(expected, &fired, "fired", &mut found);
            for mismatch in found {
                self.push(step, mismatch);
            }
        }
        Ok(())
    }

    /// Decides and records one complaint received now; its decision as
    /// JSON.
    fn decide(
        &mut self,
        mut event: crate::event::ComplaintEvent,
        plugins: &std::collections::BTreeMap<String, toml::Table>,
    ) -> Result<serde_json::Value, String> {
        event.received_at = Some(self.clock.now());
        let id = event.id.clone();
        let prepared = intake::prepare(self.snapshot, event, self.clock.now(), None, plugins)
            .map_err(|error| match error {
                intake::IntakeError::Plugin(error) => {
                    format!("complaint `{id}` refused: {error}")
                }
                other => other.to_string(),
            })?;
        (self.plugin_runs)(&prepared.enrichment.runs, &prepared.event.id)?;
        let entry = intake::record(
            self.store,
            self.snapshot,
            vec![prepared],
            TraceLevel::Full,
            None,
        )
        .blocking_answers()
        .and_then(|answers| {
            answers
                .into_iter()
                .next()
                .unwrap_or(Err(intake::RecordError::MissingAnswer))
        })
        .map_err(|error| format!("the store failed: {error}"))?;
        if entry.replayed() {
            return Err(format!(
                "complaint `{id}` was decided before in this sequence: give each complaint its own id"
            ));
        }
        serde_json::from_str(&entry.json).map_err(|e| e.to_string())
    }

    fn fire_due(&self) -> Result<Vec<Fired>, String> {
        self.store
            .fire_due_timers(self.clock.now())
            .blocking_recv()
            .map_err(|_| "the store stopped".to_string())?
            .map_err(|error| format!("firing timers failed: {error}"))
    }

    fn mismatch(&mut self, step: &LoadedStep, path: &str, expected: String, found: String) {
        self.push(
            step,
            Mismatch {
                path: path.to_string(),
                expected,
                found,
            },
        );
    }

    fn push(&mut self, step: &LoadedStep, mismatch: Mismatch) {
        let path = if mismatch.path.is_empty() {
            format!("{} (line {})", step.label, step.line)
        } else {
            format!("{} (line {}): {}", step.label, step.line, mismatch.path)
        };
        self.mismatches.push(Mismatch { path, ..mismatch });
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}
