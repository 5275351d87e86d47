//! Prepare and decide one complaint, as the daemon does.

use std::collections::BTreeMap;

use crate::decision::{Decision, Name, TraceLevel};
use crate::engine::{CurrencyError, Enrichment, StateView, as_plugins_see, check_currency};
use crate::event::ComplaintEvent;
use crate::intake::event_digest::event_digest;
use crate::intake::reads::RecordingView;
use crate::intake::recording::{RecordedProposal, Recording};
use crate::intake::window::{OutOfWindow, TimeWindow};
use crate::plugin::PluginError;
use crate::snapshot::Snapshot;
use crate::time::Timestamp;

/// A complaint after validation and plugins, ready to be decided.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// With `received_at` set.
    pub event: ComplaintEvent,
    pub enrichment: Enrichment,
    /// The event as its sender sent it ([`event_digest`]).
    pub digest: String,
}

impl Prepared {
    /// The rules stage on this complaint, against `state`, recording
    /// nothing (`eval`, `test`, `/v1/simulate`, a daemon without a store).
    pub fn decide(
        &self,
        snapshot: &Snapshot,
        state: &dyn StateView,
        trace: TraceLevel,
    ) -> Decision {
        crate::engine::decide(
            &snapshot.ruleset,
            &self.event,
            &self.enrichment,
            state,
            trace,
        )
    }
}

/// A decision with what it read, for the audit log.
#[derive(Debug, Clone)]
pub struct Decided {
    pub decision: Decision,
    pub recording: Recording,
}

/// Why a complaint is not decided.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntakeError {
    /// `received_at` or `occurred_at` outside the accepted window.
    #[error(transparent)]
    OutOfWindow(#[from] OutOfWindow),
    /// An amount in a currency the rule set has no rate for.
    #[error(transparent)]
    UnknownCurrency(#[from] CurrencyError),
    /// A plugin with `on_error = "reject"` failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

/// Sets `received_at` (to `now` when the sender gave none), refuses what
/// the rule set cannot decide (a timestamp outside `window`, when one is
/// given; a currency without a rate), and runs the snapshot's plugins on
/// the event in the rule set's currency. `stubs` replaces named plugins'
/// outputs (rule tests).
pub fn prepare(
    snapshot: &Snapshot,
    mut event: ComplaintEvent,
    now: Timestamp,
    window: Option<&TimeWindow>,
    stubs: &BTreeMap<String, toml::Table>,
) -> Result<Prepared, IntakeError> {
    let digest = event_digest(&event);
    if event.received_at.is_none() {
        event.received_at = Some(now);
    }
    if let Some(window) = window {
        window.check(&event, now)?;
    }
    let settings = &snapshot.ruleset.settings;
    check_currency(settings, &event)?;
    let enrichment = snapshot
        .plugins
        .enrich(&as_plugins_see(settings, &event), stubs)?;
    Ok(Prepared {
        event,
        enrichment,
        digest,
    })
}

/// Prepares and decides one complaint without recording it, against
/// `state` (`eval`, `test`, `/v1/simulate`).
pub fn evaluate(
    snapshot: &Snapshot,
    event: &ComplaintEvent,
    stubs: &BTreeMap<String, toml::Table>,
    state: &dyn StateView,
    trace: TraceLevel,
) -> Result<Decision, IntakeError> {
    let now = event.received_at.unwrap_or_else(Timestamp::now);
    Ok(prepare(snapshot, event.clone(), now, None, stubs)?.decide(snapshot, state, trace))
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
