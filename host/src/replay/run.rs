//! `redress replay`: every logged complaint decided again under its own
//! snapshot, with its recorded plugin outputs and state reads, and checked
//! against what was decided, byte for byte (and field by field where they
//! differ).

use std::ops::ControlFlow;
use std::sync::Arc;

use serde::Serialize;

use crate::decision::Name;
use crate::decision::{Annotations, PluginRun};
use crate::event::ComplaintEvent;
use crate::intake::pipeline::decide_with;
use crate::intake::{RecordedStage, RecordedView, Recording, recorded_enrichment};
use crate::plugin::PluginRuntime;
use crate::replay::compare::{first_difference, writes_as};
use crate::replay::parallel::{fan_out, workers};
use crate::replay::versions::{Compiled, Versions};
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
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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

/// A logged complaint, read back: its event, its recorded decision (JSON,
/// and `S`: what of it the caller reads) and what it read.
pub(crate) struct Replayable<'l, S> {
    pub event: ComplaintEvent,
    pub decision_json: &'l str,
    pub decision: S,
    pub recording: Recording,
}

/// Why a logged complaint cannot be decided again.
pub(crate) enum NotReplayable {
    /// The line is missing, unreadable or does not say what it must.
    Damaged(String),
    /// Nothing wrong with it; it was recorded without what replay needs.
    Unrecorded(String),
}

/// Reads `logged` for a replay; `S` is read from its decision without the
/// trace where the trace can be cut off (it is most of a decision's bytes).
pub(crate) fn read<S: serde::de::DeserializeOwned>(
    logged: &LoggedComplaint,
) -> Result<Replayable<'_, S>, NotReplayable> {
    let mut parts = logged.parts().map_err(NotReplayable::Damaged)?;
    let event = match ComplaintEvent::from_json(parts.event.as_bytes()) {
        Ok(event) => event,
        // The parts found by their markers may have cut the event short.
        Err(_) => {
            parts = logged.parts_parsed().map_err(NotReplayable::Damaged)?;
            ComplaintEvent::from_json(parts.event.as_bytes()).map_err(|error| {
                NotReplayable::Damaged(format!("its event does not parse: {error}"))
            })?
        }
    };
    let Some(recording) = parts.replay else {
        return Err(NotReplayable::Unrecorded(
            "decided before Redress kept what decisions read (no `replay` in its line)".to_string(),
        ));
    };
    if event.id != logged.event_id {
        return Err(NotReplayable::Damaged(format!(
            "its line is about event `{}`, not `{}`",
            event.id, logged.event_id
        )));
    }
    let decision_json = parts.decision;
    let head = without_trace(decision_json);
    let decision: S = head
        .as_deref()
        .and_then(|head| serde_json::from_str(head).ok())
        .map_or_else(|| serde_json::from_str(decision_json), Ok)
        .map_err(|error| NotReplayable::Damaged(format!("its decision does not parse: {error}")))?;
    Ok(Replayable {
        decision,
        decision_json,
        event,
        recording,
    })
}

/// `decision` (JSON, as the engine writes it: `trace` is its last member)
/// without the trace; `None` when it does not end as expected. Whatever
/// this gives is only read if it parses as an object, and a wrong cut (at a
/// `"trace"` key nested deeper, in a plugin's annotation) leaves it
/// unclosed, so the caller then reads the whole decision. The trace is
/// found from the front: the decision before it is the shorter part.
pub(crate) fn without_trace(decision: &str) -> Option<String> {
    if !decision.ends_with("]}") {
        return None;
    }
    let at = memchr::memmem::find(decision.as_bytes(), b",\"trace\":[")?;
    let mut head = String::with_capacity(at + 1);
    head.push_str(&decision[..at]);
    head.push('}');
    Some(head)
}

/// Where a line says its snapshot is: `,"replay":{"snapshot":"..."` near
/// its end. The reading thread compiles that snapshot before handing the
/// line to a worker.
pub(crate) fn snapshot_of(line: &[u8]) -> Option<Name> {
    const MARK: &[u8] = b",\"replay\":{\"snapshot\":\"";
    let at = memchr::memmem::rfind(line, MARK)? + MARK.len();
    let end = line[at..].iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&line[at..at + end])
        .ok()
        .map(Name::from)
}

/// A logged complaint with its snapshot looked up.
pub(crate) struct Item {
    pub logged: LoggedComplaint,
    pub compiled: Option<Result<Arc<Compiled>, String>>,
}

/// Replays the log of `reader` as `options` say, on every core (one, with
/// plugins run again).
pub fn replay(
    reader: &dyn AuditReader,
    options: &ReplayOptions,
) -> Result<ReplayReport, StoreError> {
    let mut versions = Versions::new(reader);
    let mut plugin_differences = Vec::new();
    let workers = if options.rerun_plugins.is_some() {
        1
    } else {
        workers()
    };
    let states = fan_out(
        workers,
        |feed| {
            reader.complaints(&options.query, &mut |logged| {
                let compiled = logged
                    .line
                    .as_deref()
                    .and_then(snapshot_of)
                    .map(|version| versions.get(&version));
                if let Some(runtime) = &options.rerun_plugins
                    && let Ok(entry) = read::<RecordedStage>(&logged)
                {
                    rerun_plugins(
                        &logged,
                        &entry,
                        &mut versions,
                        runtime,
                        &mut plugin_differences,
                    );
                }
                feed(Item { logged, compiled });
                ControlFlow::Continue(())
            })
        },
        ReplayReport::default,
        |report, item| {
            report.replayed += 1;
            replay_one(&item, report);
        },
    )?;
    let mut report = ReplayReport::default();
    for state in states {
        report.replayed += state.replayed;
        report.identical += state.identical;
        report.different.extend(state.different);
        report.not_replayable.extend(state.not_replayable);
    }
    report.different.sort_by_key(|d| d.seq);
    report.not_replayable.sort_by_key(|d| d.seq);
    report.plugin_differences = plugin_differences;
    Ok(report)
}

fn replay_one(item: &Item, report: &mut ReplayReport) {
    let logged = &item.logged;
    let damaged = |reason: String| Difference {
        seq: logged.seq,
        event_id: logged.event_id.clone(),
        field: reason,
        recorded: serde_json::Value::Null,
        replayed: serde_json::Value::Null,
    };
    let entry = match read::<RecordedStage>(logged) {
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
    let compiled = match &item.compiled {
        Some(Ok(compiled)) if compiled.version == entry.recording.snapshot => compiled.clone(),
        Some(Err(reason)) => {
            report.not_replayable.push(Unreplayable {
                seq: logged.seq,
                event_id: logged.event_id.clone(),
                reason: reason.clone(),
            });
            return;
        }
        _ => {
            report.different.push(damaged(format!(
                "its line names snapshot {} in a way that cannot be read",
                entry.recording.snapshot
            )));
            return;
        }
    };
    let enrichment = recorded_enrichment(
        &compiled.layout,
        &entry.event,
        &entry.decision,
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
    if missing.is_empty() && writes_as(&decided.decision, entry.decision_json.as_bytes()) {
        report.identical += 1;
        return;
    }
    let json = match decided.decision.to_json() {
        Ok(json) => json,
        Err(error) => {
            report.different.push(damaged(format!(
                "the replayed decision cannot be written: {error}"
            )));
            return;
        }
    };
    let recorded: serde_json::Value = serde_json::from_str(entry.decision_json).unwrap_or_default();
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

/// Runs the recorded snapshot's plugins on the recorded event and compares
/// their outputs and outcomes with the recorded ones.
fn rerun_plugins(
    logged: &LoggedComplaint,
    entry: &Replayable<'_, RecordedStage>,
    versions: &mut Versions<'_>,
    runtime: &Arc<PluginRuntime>,
    differences: &mut Vec<Difference>,
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
            differences.push(difference(
                format!("plugins not run again: {reason}"),
                serde_json::Value::Null,
                serde_json::Value::Null,
            ));
            return;
        }
    };
    // As the daemon ran them: on the event in the recorded rule set's
    // currency.
    let event = match versions.get(&entry.recording.snapshot) {
        Ok(compiled) => {
            crate::engine::as_plugins_see(&compiled.ruleset.settings, &entry.event).into_owned()
        }
        Err(_) => entry.event.clone(),
    };
    let enrichment = match plugins.enrich(&event, &Default::default()) {
        Ok(enrichment) => enrichment,
        Err(error) => {
            differences.push(difference(
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
    let recorded = as_json(&entry.decision.annotations, &entry.decision.plugins);
    let replayed = as_json(&enrichment.by_plugin, &enrichment.runs);
    if let Some((field, recorded, replayed)) = first_difference(&recorded, &replayed) {
        differences.push(difference(field, recorded, replayed));
    }
}
