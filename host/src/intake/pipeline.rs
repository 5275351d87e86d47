//! Prepare and decide one complaint, as the daemon does.

use std::collections::BTreeMap;

use crate::decision::{Decision, Name, TraceLevel};
use crate::engine::{Enrichment, StateView};
use crate::event::ComplaintEvent;
use crate::intake::reads::RecordingView;
use crate::intake::recording::{RecordedProposal, Recording};
use crate::plugin::PluginError;
use crate::snapshot::Snapshot;
use crate::time::Timestamp;

/// A complaint after validation and plugins, ready to be decided.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// With `received_at` set.
    pub event: ComplaintEvent,
    pub enrichment: Enrichment,
}

/// A decision with what it read, for the audit log.
#[derive(Debug, Clone)]
pub struct Decided {
    pub decision: Decision,
    pub recording: Recording,
}

/// Sets `received_at` (to `now` when the sender gave none) and runs the
/// snapshot's plugins. An error means a plugin with `on_error = "reject"`
/// failed.
pub fn prepare(
    snapshot: &Snapshot,
    mut event: ComplaintEvent,
    now: Timestamp,
) -> Result<Prepared, PluginError> {
    if event.received_at.is_none() {
        event.received_at = Some(now);
    }
    let enrichment = snapshot.plugins.enrich(
        &crate::engine::as_plugins_see(&snapshot.ruleset.settings, &event),
        &BTreeMap::new(),
    )?;
    Ok(Prepared { event, enrichment })
}

/// Runs the rules stage of `snapshot` against `view`, recording every read.
pub fn decide(
    snapshot: &Snapshot,
    event: &ComplaintEvent,
    enrichment: &Enrichment,
    view: &dyn StateView,
    trace: TraceLevel,
) -> Decided {
    decide_with(
        &snapshot.ruleset,
        &snapshot.version,
        event,
        enrichment,
        view,
        trace,
    )
}

/// [`decide`] with the rule set and snapshot version given apart (replay
/// compiles recorded rule sets without loading plugins).
pub fn decide_with(
    ruleset: &crate::rules::RuleSet,
    snapshot: &Name,
    event: &ComplaintEvent,
    enrichment: &Enrichment,
    view: &dyn StateView,
    trace: TraceLevel,
) -> Decided {
    let recording_view = RecordingView::new(view);
    let decision = crate::engine::decide(ruleset, event, enrichment, &recording_view, trace);
    Decided {
        recording: Recording {
            snapshot: snapshot.clone(),
            trace,
            reads: recording_view.into_reads(),
            proposals: enrichment
                .proposals
                .iter()
                .map(RecordedProposal::of)
                .collect(),
        },
        decision,
    }
}
