//! `redress replay`: every logged complaint decided again under its own
//! snapshot, with its recorded plugin outputs and state reads, and checked
//! against what was decided, byte for byte (and field by field where they
//! differ).

use std::ops::ControlFlow;
use std::sync::Arc;

use serde::Serialize;

use crate::decision::{Annotations, PluginRun};
use crate::event::ComplaintEvent;
use crate::intake::pipeline::decide_with;
use crate::intake::{RecordedStage, RecordedView, Recording, recorded_enrichment};
use crate::plugin::PluginRuntime;
use crate::replay::compare::first_difference;
use crate::replay::versions::Versions;
use crate::store::{AuditReader, LogQuery, LoggedComplaint, StoreError};

/// What to replay.
#[derive(Default)]
pub struct ReplayOptions {
    pub query: LogQuery,
    /// Run the recorded plugin components on the recorded events too, and
    /// compare their outputs with the recorded ones.
    pub rerun_plugins: Option<Arc<PluginRuntime>>,
}

/// How a replay went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplayReport {
    pub replayed: u64,
    pub identical: u64,
    /// Decided differently, or a line that was damaged: both fail the replay.
    pub different: Vec<Difference>,
    /// Could not be decided again (no recording: decided before Redress
    /// kept what decisions read; or its snapshot was not kept).
    pub not_replayable: Vec<Unreplayable>,
    /// With plugins run again: complaints whose plugin outputs differ from
    /// the recorded ones.
    pub plugin_differences: Vec<Difference>,
}

/// One complaint decided differently.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub seq: i64,
    pub event_id: String,
    /// The first differing field (`route.queue`), or what is wrong.
    pub field: String,
    pub recorded: serde_json::Value,
    pub replayed: serde_json::Value,
}

/// One complaint that could not be decided again, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Unreplayable {
    pub seq: i64,
    pub event_id: String,
    pub reason: String,
}

impl ReplayReport {
    /// Whether every replayed decision came out the same.
    pub fn all_identical(&self) -> bool {
        self.different.is_empty() && self.plugin_differences.is_empty()
    }
}

/// A logged complaint, read back: its event, its recorded decision (JSON)
/// and what it read; or why it cannot be replayed.
pub(crate) struct Replayable {
    pub event: ComplaintEvent,
    pub decision_json: String,
    pub stage: RecordedStage,
    pub recording: Recording,
}

/// Why a logged complaint cannot be decided again.
pub(crate) enum NotReplayable {
    /// The line is missing, unreadable or does not say what it must.
    Damaged(String),
    /// Nothing wrong with it; it was recorded without what replay needs.
    Unrecorded(String),
}

/// Reads `logged` for a replay.
pub(crate) fn read(logged: &LoggedComplaint) -> Result<Replayable, NotReplayable> {
    let parts = logged.parts().map_err(NotReplayable::Damaged)?;
    let Some(recording) = parts.replay else {
        return Err(NotReplayable::Unrecorded(
            "decided before Redress kept what decisions read (no `replay` in its line)".to_string(),
        ));
    };
    let event = ComplaintEvent::from_json(parts.event.get().as_bytes())
        .map_err(|error| NotReplayable::Damaged(format!("its event does not parse: {error}")))?;
    if event.id != logged.event_id {
        return Err(NotReplayable::Damaged(format!(
            "its line is about event `{}`, not `{}`",
            event.id, logged.event_id
        )));
    }
    let stage: RecordedStage = serde_json::from_str(parts.decision.get())
        .map_err(|error| NotReplayable::Damaged(format!("its decision does not parse: {error}")))?;
    Ok(Replayable {
        stage,
        decision_json: parts.decision.get().to_string(),
        event,
        recording,
    })
}

/// Replays the log of `reader` as `options` say.
pub fn replay(
    reader: &dyn AuditReader,
    options: &ReplayOptions,
) -> Result<ReplayReport, StoreError> {
    let mut versions = Versions::new(reader);
    let mut report = ReplayReport::default();
    reader.complaints(&options.query, &mut |logged| {
        report.replayed += 1;
        replay_one(&logged, &mut versions, options, &mut report);
        ControlFlow::Continue(())
    })?;
    Ok(report)
}

fn replay_one(
    logged: &LoggedComplaint,
    versions: &mut Versions<'_>,
    options: &ReplayOptions,
    report: &mut ReplayReport,
) {
    let damaged = |reason: String| Difference {
        seq: logged.seq,
        event_id: logged.event_id.clone(),
        field: reason,
        recorded: serde_json::Value::Null,
        replayed: serde_json::Value::Null,
    };
    let entry = match read(logged) {
        Ok(entry) => entry,
        Err(NotReplayable::Damaged(reason)) => {
            report.different.push(damaged(reason));
            return;
        }
        Err(NotReplayable::Unrecorded(reason)) => {
            report.not_replayable.push(Unreplayable {
                seq: logged.seq,
                event_id: logged.event_id.clone(),
                reason,
            });
            return;
        }
    };
    let compiled = match versions.get(&entry.recording.snapshot) {
        Ok(compiled) => compiled,
        Err(reason) => {
            report.not_replayable.push(Unreplayable {
                seq: logged.seq,
                event_id: logged.event_id.clone(),
                reason,
            });
            return;
        }
    };
    let enrichment = recorded_enrichment(
        &compiled.layout,
        &entry.event,
        &entry.stage,
        &entry.recording,
    );
    let view = RecordedView::new(&entry.recording.reads);
    let decided = decide_with(
        &compiled.ruleset,
        &compiled.version,
        &entry.event,
        &enrichment,
        &view,
        entry.recording.trace,
    );
    let missing = view.missing();
    let json = match decided.decision.to_json() {
        Ok(json) => json,
        Err(error) => {
            report.different.push(damaged(format!(
                "the replayed decision cannot be written: {error}"
            )));
            return;
        }
    };
    if json == entry.decision_json && missing.is_empty() {
        report.identical += 1;
    } else {
        let recorded: serde_json::Value =
            serde_json::from_str(&entry.decision_json).unwrap_or_default();
        let replayed: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        let difference = match first_difference(&recorded, &replayed) {
            Some((field, recorded, replayed)) => Difference {
                seq: logged.seq,
                event_id: logged.event_id.clone(),
                field,
                recorded,
                replayed,
            },
            None => damaged(format!(
                "it read what was not recorded: {}",
                missing.join("; ")
            )),
        };
        report.different.push(difference);
    }
    if let Some(runtime) = &options.rerun_plugins {
        rerun_plugins(logged, &entry, versions, runtime, report);
    }
}

/// Runs the recorded snapshot's plugins on the recorded event and compares
/// their outputs and outcomes with the recorded ones.
fn rerun_plugins(
    logged: &LoggedComplaint,
    entry: &Replayable,
    versions: &mut Versions<'_>,
    runtime: &Arc<PluginRuntime>,
    report: &mut ReplayReport,
) {
    let difference =
        |field: String, recorded: serde_json::Value, replayed: serde_json::Value| Difference {
            seq: logged.seq,
            event_id: logged.event_id.clone(),
            field,
            recorded,
            replayed,
        };
    let plugins = match versions.plugins(&entry.recording.snapshot, runtime) {
        Ok(plugins) => plugins,
        Err(reason) => {
            report.plugin_differences.push(difference(
                format!("plugins not run again: {reason}"),
                serde_json::Value::Null,
                serde_json::Value::Null,
            ));
            return;
        }
    };
    let enrichment = match plugins.enrich(&entry.event, &Default::default()) {
        Ok(enrichment) => enrichment,
        Err(error) => {
            report.plugin_differences.push(difference(
                format!("plugins: {error}"),
                serde_json::Value::Null,
                serde_json::Value::Null,
            ));
            return;
        }
    };
    let as_json = |annotations: &Annotations, runs: &[PluginRun]| {
        let runs: Vec<serde_json::Value> = runs
            .iter()
            .map(|run| serde_json::json!({"name": &*run.name, "digest": &*run.digest, "outcome": run.outcome.as_str()}))
            .collect();
        serde_json::json!({
            "annotations": serde_json::to_value(annotations).unwrap_or_default(),
            "plugins": runs,
        })
    };
    let recorded = as_json(&entry.stage.annotations, &entry.stage.plugins);
    let replayed = as_json(&enrichment.by_plugin, &enrichment.runs);
    if let Some((field, recorded, replayed)) = first_difference(&recorded, &replayed) {
        report
            .plugin_differences
            .push(difference(field, recorded, replayed));
    }
}
