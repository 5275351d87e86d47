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

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::decision::{
    ControlLineOutcome, Decision, EscalationDecision, GrantDecision, Name, OfferDecision,
    RouteDecision, SlaDecision, TraceLevel,
};
use crate::intake::RecordedStage;
use crate::intake::pipeline::decide_with;
use crate::intake::{PluginLayout, RecordedView, recorded_enrichment};
use crate::plugin::PluginSet;
use crate::replay::parallel::{fan_out, workers};
use crate::replay::run::{NotReplayable, Replayable, Unreplayable, read, snapshot_of};
use crate::replay::versions::Compiled;
use crate::replay::versions::{Versions, compile};
use crate::rules::{RuleFileText, RuleSet};
use crate::store::{AuditReader, LogQuery, LoggedComplaint, StoreError};

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

/// What the candidate would change.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffReport {
    /// The candidate's version (the hash of its files).
    pub candidate: Name,
    /// Logged complaints read.
    pub logged: u64,
    /// Of those, decided again.
    pub replayed: u64,
    /// Of those, with any change.
    pub changed: u64,
    /// Complaints that could not be decided again, and why (the first 100
    /// named; `not_replayable_count` counts them all).
    pub not_replayable: Vec<Unreplayable>,
    pub not_replayable_count: u64,
    /// `from` queue → `to` queue.
    pub routes: Vec<Transition>,
    pub handlers: Vec<Transition>,
    pub escalations: Gained,
    /// Commitments changed, by which (`first_response`, `resolve`,
    /// `follow_up`).
    pub sla: Vec<Counted>,
    pub compensation: Compensation,
    /// Grants gained and lost, by policy.
    pub authority: Gained,
    pub flags: Gained,
    /// Control-line outcomes changed, by rule.
    pub control_lines: Vec<Counted>,
}

/// Complaints whose `what` went from `from` to `to`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub count: u64,
    pub examples: Vec<String>,
    /// The log positions of the examples, to keep the first ones when
    /// workers' tallies merge.
    #[serde(skip)]
    seqs: Vec<i64>,
}

/// How many complaints gained or lost each thing.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Gained {
    pub gained: Vec<Counted>,
    pub lost: Vec<Counted>,
}

/// A count with examples.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counted {
    pub what: String,
    pub count: u64,
    pub examples: Vec<String>,
    #[serde(skip)]
    seqs: Vec<i64>,
}

/// Money offered before and after.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Compensation {
    /// Per currency.
    pub totals: Vec<Money>,
    pub by_kind: Vec<Money>,
    /// By customer tier (`(none)` for none).
    pub by_tier: Vec<Money>,
    /// The ten largest increases for one complaint.
    pub largest_increases: Vec<Increase>,
}

/// Offered before and after, for one group.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Money {
    /// The group (a kind, a tier; empty for a total).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub what: String,
    pub currency: String,
    pub before: f64,
    pub after: f64,
}

/// One complaint's offers, before and after.
#[derive(Debug, Clone, Serialize)]
pub struct Increase {
    #[serde(skip)]
    seq: i64,
    pub event_id: String,
    pub currency: String,
    pub before: f64,
    pub after: f64,
}

impl DiffReport {
    /// Share of the replayed complaints with any change.
    pub fn changed_share(&self) -> f64 {
        if self.replayed == 0 {
            0.0
        } else {
            self.changed as f64 / self.replayed as f64
        }
    }

    /// Complaints routed to another queue.
    pub fn route_changes(&self) -> u64 {
        self.routes.iter().map(|t| t.count).sum()
    }
}

/// The parts of a logged decision a diff reads: what the plugin stage gave
/// it, and what it compares.
#[derive(Debug, Clone, Deserialize)]
struct Logged {
    #[serde(default)]
    category: Option<String>,
    plugins: Arc<Vec<crate::decision::PluginRun>>,
    annotations: Arc<crate::decision::Annotations>,
    // The fields of `Compared`, spelled out: `#[serde(flatten)]` buffers
    // every value, which a diff of a long log pays for each decision.
    route: RouteDecision,
    #[serde(default)]
    escalation_level: Option<Name>,
    #[serde(default)]
    escalations: Vec<EscalationDecision>,
    #[serde(default)]
    sla: Option<SlaDecision>,
    #[serde(default)]
    offers: Vec<OfferDecision>,
    #[serde(default)]
    authority: Vec<GrantDecision>,
    #[serde(default)]
    flags: Vec<Name>,
    #[serde(default)]
    control_lines: Vec<ControlLineOutcome>,
}

impl Logged {
    fn compared(&self) -> Compared {
        Compared {
            route: self.route.clone(),
            escalation_level: self.escalation_level.clone(),
            escalations: self.escalations.clone(),
            sla: self.sla.clone(),
            offers: self.offers.clone(),
            authority: self.authority.clone(),
            flags: self.flags.clone(),
            control_lines: self.control_lines.clone(),
        }
    }

    fn stage(&self) -> RecordedStage {
        RecordedStage {
            category: self.category.clone(),
            plugins: self.plugins.clone(),
            annotations: self.annotations.clone(),
        }
    }
}

/// The parts of a decision a diff compares.
#[derive(Debug, Clone, Deserialize)]
struct Compared {
    route: RouteDecision,
    #[serde(default)]
    escalation_level: Option<Name>,
    #[serde(default)]
    escalations: Vec<EscalationDecision>,
    #[serde(default)]
    sla: Option<SlaDecision>,
    #[serde(default)]
    offers: Vec<OfferDecision>,
    #[serde(default)]
    authority: Vec<GrantDecision>,
    #[serde(default)]
    flags: Vec<Name>,
    #[serde(default)]
    control_lines: Vec<ControlLineOutcome>,
}

impl Compared {
    fn of(decision: Decision) -> Self {
        Compared {
            route: decision.route,
            escalation_level: decision.escalation_level,
            escalations: decision.escalations,
            sla: decision.sla,
            offers: decision.offers,
            authority: decision.authority,
            flags: decision.flags,
            control_lines: decision.control_lines,
        }
    }
}

/// Accumulates a report.
#[derive(Default)]
struct Tally {
    report: DiffReport,
    routes: BTreeMap<(String, String), Transition>,
    handlers: BTreeMap<(String, String), Transition>,
    escalations_gained: BTreeMap<String, Counted>,
    escalations_lost: BTreeMap<String, Counted>,
    sla: BTreeMap<String, Counted>,
    totals: BTreeMap<String, Money>,
    by_kind: BTreeMap<(String, String), Money>,
    by_tier: BTreeMap<(String, String), Money>,
    increases: Vec<Increase>,
    authority_gained: BTreeMap<String, Counted>,
    authority_lost: BTreeMap<String, Counted>,
    flags_gained: BTreeMap<String, Counted>,
    flags_lost: BTreeMap<String, Counted>,
    control_lines: BTreeMap<String, Counted>,
}

/// The complaint a change is counted for.
#[derive(Clone, Copy)]
struct At<'e> {
    seq: i64,
    event: &'e str,
}

fn count(map: &mut BTreeMap<String, Counted>, what: &str, at: At<'_>) {
    let entry = map.entry(what.to_string()).or_insert_with(|| Counted {
        what: what.to_string(),
        ..Counted::default()
    });
    entry.count += 1;
    if entry.examples.len() < EXAMPLES {
        entry.examples.push(at.event.to_string());
        entry.seqs.push(at.seq);
    }
}

fn transition(map: &mut BTreeMap<(String, String), Transition>, from: &str, to: &str, at: At<'_>) {
    let entry = map
        .entry((from.to_string(), to.to_string()))
        .or_insert_with(|| Transition {
            from: from.to_string(),
            to: to.to_string(),
            ..Transition::default()
        });
    entry.count += 1;
    if entry.examples.len() < EXAMPLES {
        entry.examples.push(at.event.to_string());
        entry.seqs.push(at.seq);
    }
}

/// The first `EXAMPLES` of two lists of (position, example).
fn first_examples(
    (mut examples, mut seqs): (Vec<String>, Vec<i64>),
    (more, more_seqs): (Vec<String>, Vec<i64>),
) -> (Vec<String>, Vec<i64>) {
    examples.extend(more);
    seqs.extend(more_seqs);
    let mut both: Vec<(i64, String)> = seqs.into_iter().zip(examples).collect();
    both.sort();
    both.truncate(EXAMPLES);
    both.into_iter().map(|(seq, e)| (e, seq)).unzip()
}

/// Adds `from` into `into`, combining the values both hold with `combine`.
fn merge<K: Ord, V>(into: &mut BTreeMap<K, V>, from: BTreeMap<K, V>, combine: impl Fn(&mut V, V)) {
    for (key, other) in from {
        match into.get_mut(&key) {
            None => {
                into.insert(key, other);
            }
            Some(mine) => combine(mine, other),
        }
    }
}

/// A count and its examples, one worker's added into another's.
type Examples = (u64, Vec<String>, Vec<i64>);

fn add_examples(
    (count, examples, seqs): (&mut u64, &mut Vec<String>, &mut Vec<i64>),
    other: Examples,
) {
    *count += other.0;
    (*examples, *seqs) = first_examples(
        (std::mem::take(examples), std::mem::take(seqs)),
        (other.1, other.2),
    );
}

fn merge_counted<K: Ord>(into: &mut BTreeMap<K, Counted>, from: BTreeMap<K, Counted>) {
    merge(into, from, |mine, other| {
        add_examples(
            (&mut mine.count, &mut mine.examples, &mut mine.seqs),
            (other.count, other.examples, other.seqs),
        )
    });
}

fn merge_transitions<K: Ord>(into: &mut BTreeMap<K, Transition>, from: BTreeMap<K, Transition>) {
    merge(into, from, |mine, other| {
        add_examples(
            (&mut mine.count, &mut mine.examples, &mut mine.seqs),
            (other.count, other.examples, other.seqs),
        )
    });
}

fn merge_money<K: Ord>(into: &mut BTreeMap<K, Money>, from: BTreeMap<K, Money>) {
    merge(into, from, |mine, other| {
        mine.before += other.before;
        mine.after += other.after;
    });
}

fn money<'m>(
    map: &'m mut BTreeMap<(String, String), Money>,
    what: &str,
    currency: &str,
) -> &'m mut Money {
    map.entry((what.to_string(), currency.to_string()))
        .or_insert_with(|| Money {
            what: what.to_string(),
            currency: currency.to_string(),
            ..Money::default()
        })
}

/// Offer value per currency.
fn per_currency(offers: &[OfferDecision]) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    for offer in offers {
        *sums.entry(offer.currency.to_string()).or_insert(0.0) += offer.value;
    }
    sums
}

impl Tally {
    /// Counts what changed between `before` and `after` for `event`.
    fn add(&mut self, at: At<'_>, tier: &str, before: &Compared, after: &Compared) {
        let event = at.event;
        let mut changed = false;
        if before.route.queue != after.route.queue {
            transition(
                &mut self.routes,
                &before.route.queue,
                &after.route.queue,
                at,
            );
            changed = true;
        }
        if before.route.handler != after.route.handler {
            let name = |h: &Option<Name>| h.as_deref().unwrap_or("(none)").to_string();
            transition(
                &mut self.handlers,
                &name(&before.route.handler),
                &name(&after.route.handler),
                at,
            );
            changed = true;
        }
        let levels = |c: &Compared| -> Vec<String> {
            c.escalations.iter().map(|e| e.to.to_string()).collect()
        };
        let (old_levels, new_levels) = (levels(before), levels(after));
        for level in new_levels.iter().filter(|l| !old_levels.contains(l)) {
            count(&mut self.escalations_gained, level, at);
            changed = true;
        }
        for level in old_levels.iter().filter(|l| !new_levels.contains(l)) {
            count(&mut self.escalations_lost, level, at);
            changed = true;
        }
        if before.escalation_level != after.escalation_level {
            changed = true;
        }
        let sla = |c: &Compared| {
            (
                c.sla.as_ref().and_then(|s| s.first_response_due),
                c.sla.as_ref().and_then(|s| s.resolve_due),
                c.sla.as_ref().and_then(|s| s.follow_up_after),
            )
        };
        let (old_sla, new_sla) = (sla(before), sla(after));
        for (which, differs) in [
            ("first_response", old_sla.0 != new_sla.0),
            ("resolve", old_sla.1 != new_sla.1),
            ("follow_up", old_sla.2 != new_sla.2),
        ] {
            if differs {
                count(&mut self.sla, which, at);
                changed = true;
            }
        }
        let (old_sums, new_sums) = (per_currency(&before.offers), per_currency(&after.offers));
        let currencies: std::collections::BTreeSet<&String> =
            old_sums.keys().chain(new_sums.keys()).collect();
        for currency in currencies {
            let (old, new) = (
                old_sums.get(currency).copied().unwrap_or(0.0),
                new_sums.get(currency).copied().unwrap_or(0.0),
            );
            let total = self
                .totals
                .entry(currency.clone())
                .or_insert_with(|| Money {
                    currency: currency.clone(),
                    ..Money::default()
                });
            total.before += old;
            total.after += new;
            let by_tier = money(&mut self.by_tier, tier, currency);
            by_tier.before += old;
            by_tier.after += new;
            if new > old + 0.005 {
                self.increases.push(Increase {
                    seq: at.seq,
                    event_id: event.to_string(),
                    currency: currency.clone(),
                    before: old,
                    after: new,
                });
            }
        }
        for offer in &before.offers {
            money(&mut self.by_kind, &offer.kind, &offer.currency).before += offer.value;
        }
        for offer in &after.offers {
            money(&mut self.by_kind, &offer.kind, &offer.currency).after += offer.value;
        }
        let offers = |c: &Compared| -> Vec<(String, String, i64)> {
            c.offers
                .iter()
                .map(|o| {
                    (
                        o.kind.to_string(),
                        o.currency.to_string(),
                        (o.value * 100.0).round() as i64,
                    )
                })
                .collect()
        };
        if offers(before) != offers(after) {
            changed = true;
        }
        let policies = |c: &Compared| -> Vec<String> {
            c.authority.iter().map(|g| g.policy.to_string()).collect()
        };
        let (old_grants, new_grants) = (policies(before), policies(after));
        for policy in new_grants.iter().filter(|p| !old_grants.contains(p)) {
            count(&mut self.authority_gained, policy, at);
            changed = true;
        }
        for policy in old_grants.iter().filter(|p| !new_grants.contains(p)) {
            count(&mut self.authority_lost, policy, at);
            changed = true;
        }
        for flag in after.flags.iter().filter(|f| !before.flags.contains(f)) {
            count(&mut self.flags_gained, flag, at);
            changed = true;
        }
        for flag in before.flags.iter().filter(|f| !after.flags.contains(f)) {
            count(&mut self.flags_lost, flag, at);
            changed = true;
        }
        let lines = |c: &Compared| -> BTreeMap<String, &'static str> {
            c.control_lines
                .iter()
                .map(|l| (l.rule.to_string(), l.status.as_str()))
                .collect()
        };
        let (old_lines, new_lines) = (lines(before), lines(after));
        let rules: std::collections::BTreeSet<&String> =
            old_lines.keys().chain(new_lines.keys()).collect();
        for rule in rules {
            if old_lines.get(rule) != new_lines.get(rule) {
                count(&mut self.control_lines, rule, at);
                changed = true;
            }
        }
        if changed {
            self.report.changed += 1;
        }
    }

    fn not_replayable(&mut self, logged: &LoggedComplaint, reason: String) {
        self.report.not_replayable_count += 1;
        if self.report.not_replayable.len() < NAMED {
            self.report.not_replayable.push(Unreplayable {
                seq: logged.seq,
                event_id: logged.event_id.clone(),
                reason,
            });
        }
    }

    /// Adds another worker's tally into this one.
    fn merge(&mut self, other: Tally) {
        let report = other.report;
        self.report.logged += report.logged;
        self.report.replayed += report.replayed;
        self.report.changed += report.changed;
        self.report.not_replayable_count += report.not_replayable_count;
        self.report.not_replayable.extend(report.not_replayable);
        self.report.not_replayable.sort_by_key(|u| u.seq);
        self.report.not_replayable.truncate(NAMED);
        merge_transitions(&mut self.routes, other.routes);
        merge_transitions(&mut self.handlers, other.handlers);
        merge_counted(&mut self.escalations_gained, other.escalations_gained);
        merge_counted(&mut self.escalations_lost, other.escalations_lost);
        merge_counted(&mut self.sla, other.sla);
        merge_money(&mut self.totals, other.totals);
        merge_money(&mut self.by_kind, other.by_kind);
        merge_money(&mut self.by_tier, other.by_tier);
        self.increases.extend(other.increases);
        self.keep_largest_increases();
        merge_counted(&mut self.authority_gained, other.authority_gained);
        merge_counted(&mut self.authority_lost, other.authority_lost);
        merge_counted(&mut self.flags_gained, other.flags_gained);
        merge_counted(&mut self.flags_lost, other.flags_lost);
        merge_counted(&mut self.control_lines, other.control_lines);
    }

    /// The ten largest increases, the earliest first among equals.
    fn keep_largest_increases(&mut self) {
        self.increases.sort_by(|a, b| {
            (b.after - b.before)
                .total_cmp(&(a.after - a.before))
                .then(a.seq.cmp(&b.seq))
        });
        self.increases.truncate(10);
    }

    fn finish(mut self) -> DiffReport {
        self.keep_largest_increases();
        let values = |map: BTreeMap<String, Counted>| map.into_values().collect::<Vec<_>>();
        let mut report = self.report;
        report.routes = self.routes.into_values().collect();
        report.routes.sort_by_key(|t| std::cmp::Reverse(t.count));
        report.handlers = self.handlers.into_values().collect();
        report.escalations = Gained {
            gained: values(self.escalations_gained),
            lost: values(self.escalations_lost),
        };
        report.sla = values(self.sla);
        report.compensation = Compensation {
            totals: self.totals.into_values().collect(),
            by_kind: self.by_kind.into_values().collect(),
            by_tier: self.by_tier.into_values().collect(),
            largest_increases: self.increases,
        };
        report.authority = Gained {
            gained: values(self.authority_gained),
            lost: values(self.authority_lost),
        };
        report.flags = Gained {
            gained: values(self.flags_gained),
            lost: values(self.flags_lost),
        };
        report.control_lines = values(self.control_lines);
        report
    }
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
