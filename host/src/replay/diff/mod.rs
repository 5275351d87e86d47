//! `redress diff`, `POST /v1/diff` and the reload gate: the logged
//! complaints decided again under a candidate rule set, with their
//! recorded plugin outputs and state reads (or the candidate's plugins run
//! again), and what would change against what was decided: routes,
//! handlers, escalations, SLA commitments, compensation (by kind, tier and
//! currency, with the largest increases), authority grants, flags and
//! control lines, each with example events. A complaint the candidate
//! cannot decide from what was recorded (it reads a plugin output, a
//! control-line count or a budget that was not recorded) is counted and
//! named, never silently skipped.

//!
//! `report` is what a diff says (serialized for `--json` and the API),
//! `tally` counts one complaint's changes into it, and this module reads
//! the log, decides each complaint again with the candidate, and compares.

mod report;
mod tally;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::decision::{Decision, Name, TraceLevel};
use crate::intake::RecordedStage;
use crate::intake::pipeline::decide_with;
use crate::intake::{PluginLayout, RecordedView, recorded_enrichment};
use crate::plugin::PluginSet;
use crate::replay::parallel::{fan_out, workers};
use crate::replay::run::{NotReplayable, Replayable, read, snapshot_of};
use crate::replay::versions::Compiled;
use crate::replay::versions::{Versions, compile};
use crate::rules::{RuleFileText, RuleSet};
use crate::store::{AuditReader, LogQuery, LoggedComplaint, StoreError};

pub use report::{Compensation, Counted, DiffReport, Gained, Increase, Money, Transition};
use tally::{At, Compared, Logged, Tally};

/// Examples kept per kind of change.
const EXAMPLES: usize = 5;
/// Complaints named one by one among those that could not be replayed.
const NAMED: usize = 100;
/// What to diff.
pub struct DiffOptions {
    /// The candidate rule set's files.
    pub candidate: Vec<RuleFileText>,
    pub query: LogQuery,
    /// Run these plugins on the logged events instead of using the
    /// recorded outputs.
    pub plugins: Option<Arc<PluginSet>>,
}
/// The candidate, compiled against each recorded snapshot's plugin layout.
struct Candidates {
    files: Vec<RuleFileText>,
    by_layout: HashMap<Name, Result<Arc<RuleSet>, String>>,
}

impl Candidates {
    fn for_snapshot(
        &mut self,
        snapshot: &Name,
        layout: &PluginLayout,
    ) -> Result<Arc<RuleSet>, String> {
        self.by_layout
            .entry(snapshot.clone())
            .or_insert_with(|| {
                compile(self.files.clone(), layout).map(Arc::new).map_err(|errors| {
                    format!("the candidate does not compile against the plugins that decided it (snapshot {snapshot}): {}", errors.lines().next().unwrap_or_default())
                })
            })
            .clone()
    }
}

/// A logged complaint with its snapshot and the candidate compiled
/// against it (looked up by the reading thread).
struct Item {
    logged: LoggedComplaint,
    compiled: Option<Result<Resolved, String>>,
}

/// A recorded snapshot, compiled, and the candidate compiled against its
/// plugins.
type Resolved = (Arc<Compiled>, Arc<RuleSet>);

/// Diffs the log of `reader` against a candidate, as `options` say, on
/// every core.
pub fn diff(reader: &dyn AuditReader, options: &DiffOptions) -> Result<DiffReport, StoreError> {
    let mut versions = Versions::new(reader);
    let mut candidates = Candidates {
        files: options.candidate.clone(),
        by_layout: HashMap::new(),
    };
    // With plugins run again, the candidate is compiled once, against them.
    let with_plugins = options.plugins.as_ref().map(|plugins| {
        (
            plugins.clone(),
            compile(options.candidate.clone(), &plugins.layout()).map(Arc::new),
        )
    });
    let tallies = fan_out(
        workers(),
        |feed| {
            reader.complaints(&options.query, &mut |logged| {
                let compiled = match &with_plugins {
                    Some(_) => None,
                    None => logged.line.as_deref().and_then(snapshot_of).map(|version| {
                        let compiled = versions.get(&version)?;
                        let candidate =
                            candidates.for_snapshot(&compiled.version, &compiled.layout)?;
                        Ok((compiled, candidate))
                    }),
                };
                feed(Item { logged, compiled });
                ControlFlow::Continue(())
            })
        },
        Tally::default,
        |tally, item| diff_one(tally, &item, with_plugins.as_ref()),
    )?;
    let mut tallies = tallies.into_iter();
    let mut tally = tallies.next().unwrap_or_default();
    for other in tallies {
        tally.merge(other);
    }
    tally.report.candidate = Name::from(crate::rules::version_of(&options.candidate));
    Ok(tally.finish())
}

type WithPlugins = (Arc<PluginSet>, Result<Arc<RuleSet>, String>);

fn diff_one(tally: &mut Tally, item: &Item, with_plugins: Option<&WithPlugins>) {
    let logged = &item.logged;
    tally.report.logged += 1;
    let entry = match read::<Logged>(logged) {
        Ok(entry) => entry,
        Err(NotReplayable::Damaged(reason) | NotReplayable::Unrecorded(reason)) => {
            tally.not_replayable(logged, reason);
            return;
        }
    };
    let after = match (with_plugins, &item.compiled) {
        (Some((plugins, candidate)), _) => decide_with_plugins(plugins, candidate, &entry),
        (None, Some(Ok((compiled, candidate)))) if compiled.version == entry.recording.snapshot => {
            decide_recorded(compiled, candidate, &entry)
        }
        (None, Some(Err(reason))) => Err(reason.clone()),
        (None, _) => Err(format!(
            "its line names snapshot {} in a way that cannot be read",
            entry.recording.snapshot
        )),
    };
    match after {
        Ok(after) => {
            tally.report.replayed += 1;
            let tier = entry.event.customer.tier.as_deref().unwrap_or("(none)");
            let at = At {
                seq: logged.seq,
                event: &logged.event_id,
            };
            tally.add(at, tier, &entry.decision.compared(), &after);
        }
        Err(reason) => tally.not_replayable(logged, reason),
    }
}

/// The candidate's decision with the recorded plugin outputs and reads.
fn decide_recorded(
    compiled: &Compiled,
    candidate: &RuleSet,
    entry: &Replayable<'_, Logged>,
) -> Result<Compared, String> {
    let enrichment = recorded_enrichment(
        &compiled.layout,
        &entry.event,
        &entry.decision.stage(),
        &entry.recording,
    );
    let view = RecordedView::new(&entry.recording.reads);
    let decided = decide_with(
        candidate,
        &compiled.version,
        &entry.event,
        &enrichment,
        &view,
        TraceLevel::None,
    );
    let missing = view.missing();
    if !missing.is_empty() {
        return Err(format!(
            "the candidate reads what was not recorded: {}",
            missing.join("; ")
        ));
    }
    Ok(Compared::of(decided.decision))
}

/// The candidate's decision with its plugins run on the logged event, and
/// the recorded reads.
fn decide_with_plugins(
    plugins: &PluginSet,
    candidate: &Result<Arc<RuleSet>, String>,
    entry: &Replayable<'_, Logged>,
) -> Result<Compared, String> {
    let candidate = candidate.as_ref().map_err(|errors| {
        format!(
            "the candidate does not compile against the plugins given: {}",
            errors.lines().next().unwrap_or_default()
        )
    })?;
    let enrichment = plugins
        .enrich(
            &crate::engine::as_plugins_see(&candidate.settings, &entry.event),
            &Default::default(),
        )
        .map_err(|error| error.to_string())?;
    let view = RecordedView::new(&entry.recording.reads);
    let decided = decide_with(
        candidate,
        &entry.recording.snapshot,
        &entry.event,
        &enrichment,
        &view,
        TraceLevel::None,
    );
    let missing = view.missing();
    if !missing.is_empty() {
        return Err(format!(
            "the candidate reads what was not recorded: {}",
            missing.join("; ")
        ));
    }
    Ok(Compared::of(decided.decision))
}

/// One logged complaint decided as recorded and by the candidate, both
/// with full traces (`redress diff --event`).
pub struct SideBySide {
    pub recorded: Decision,
    pub recorded_rules: Arc<crate::replay::versions::Compiled>,
    pub candidate: Decision,
    pub candidate_rules: Arc<RuleSet>,
}

/// [`SideBySide`] for the complaint `event_id`, if it is in the log.
pub fn side_by_side(
    reader: &dyn AuditReader,
    candidate: Vec<RuleFileText>,
    event_id: &str,
) -> Result<Result<SideBySide, String>, StoreError> {
    let mut found = None;
    reader.complaints(
        &LogQuery {
            case_id: Some(event_id.to_string()),
            ..LogQuery::default()
        },
        &mut |logged| {
            found = Some(logged);
            ControlFlow::Break(())
        },
    )?;
    let Some(logged) = found else {
        return Ok(Err(format!("no complaint `{event_id}` in the log")));
    };
    let entry = match read::<RecordedStage>(&logged) {
        Ok(entry) => entry,
        Err(NotReplayable::Damaged(reason) | NotReplayable::Unrecorded(reason)) => {
            return Ok(Err(reason));
        }
    };
    let mut versions = Versions::new(reader);
    let compiled = match versions.get(&entry.recording.snapshot) {
        Ok(compiled) => compiled,
        Err(reason) => return Ok(Err(reason)),
    };
    let mut candidates = Candidates {
        files: candidate,
        by_layout: HashMap::new(),
    };
    let candidate_rules = match candidates.for_snapshot(&compiled.version, &compiled.layout) {
        Ok(rules) => rules,
        Err(reason) => return Ok(Err(reason)),
    };
    let enrichment = recorded_enrichment(
        &compiled.layout,
        &entry.event,
        &entry.decision,
        &entry.recording,
    );
    let decide = |rules: &RuleSet| {
        let view = RecordedView::new(&entry.recording.reads);
        decide_with(
            rules,
            &compiled.version,
            &entry.event,
            &enrichment,
            &view,
            TraceLevel::Full,
        )
        .decision
    };
    Ok(Ok(SideBySide {
        recorded: decide(&compiled.ruleset),
        candidate: decide(&candidate_rules),
        recorded_rules: compiled.clone(),
        candidate_rules,
    }))
}
