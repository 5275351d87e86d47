//! Counting what changed between two decisions of one complaint, and
//! merging the counts of the threads that decided them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::decision::{
    ControlLineOutcome, Decision, EscalationDecision, GrantDecision, Name, OfferDecision,
    RouteDecision, SlaDecision,
};
use crate::intake::RecordedStage;
use crate::replay::run::Unreplayable;
use crate::store::LoggedComplaint;

use super::report::{Compensation, Counted, DiffReport, Gained, Increase, Money, Transition};
use super::{EXAMPLES, NAMED};

/// The parts of a logged decision a diff reads: what the plugin stage gave
/// it, and what it compares.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Logged {
    #[serde(default)]
    pub(super) category: Option<String>,
    pub(super) plugins: Arc<Vec<crate::decision::PluginRun>>,
    pub(super) annotations: Arc<crate::decision::Annotations>,
    // The fields of `Compared`, spelled out: `#[serde(flatten)]` buffers
    // every value, which a diff of a long log pays for each decision.
    pub(super) route: RouteDecision,
    #[serde(default)]
    pub(super) escalation_level: Option<Name>,
    #[serde(default)]
    pub(super) escalations: Vec<EscalationDecision>,
    #[serde(default)]
    pub(super) sla: Option<SlaDecision>,
    #[serde(default)]
    pub(super) offers: Vec<OfferDecision>,
    #[serde(default)]
    pub(super) authority: Vec<GrantDecision>,
    #[serde(default)]
    pub(super) flags: Vec<Name>,
    #[serde(default)]
    pub(super) control_lines: Vec<ControlLineOutcome>,
}

impl Logged {
    pub(super) fn compared(&self) -> Compared {
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

    pub(super) fn stage(&self) -> RecordedStage {
        RecordedStage {
            category: self.category.clone(),
            plugins: self.plugins.clone(),
            annotations: self.annotations.clone(),
        }
    }
}

/// The parts of a decision a diff compares.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Compared {
    pub(super) route: RouteDecision,
    #[serde(default)]
    pub(super) escalation_level: Option<Name>,
    #[serde(default)]
    pub(super) escalations: Vec<EscalationDecision>,
    #[serde(default)]
    pub(super) sla: Option<SlaDecision>,
    #[serde(default)]
    pub(super) offers: Vec<OfferDecision>,
    #[serde(default)]
    pub(super) authority: Vec<GrantDecision>,
    #[serde(default)]
    pub(super) flags: Vec<Name>,
    #[serde(default)]
    pub(super) control_lines: Vec<ControlLineOutcome>,
}

impl Compared {
    pub(super) fn of(decision: Decision) -> Self {
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
pub(super) struct Tally {
    pub(super) report: DiffReport,
    pub(super) routes: BTreeMap<(String, String), Transition>,
    pub(super) handlers: BTreeMap<(String, String), Transition>,
    pub(super) escalations_gained: BTreeMap<String, Counted>,
    pub(super) escalations_lost: BTreeMap<String, Counted>,
    pub(super) sla: BTreeMap<String, Counted>,
    pub(super) totals: BTreeMap<String, Money>,
    pub(super) by_kind: BTreeMap<(String, String), Money>,
    pub(super) by_tier: BTreeMap<(String, String), Money>,
    pub(super) increases: Vec<Increase>,
    pub(super) authority_gained: BTreeMap<String, Counted>,
    pub(super) authority_lost: BTreeMap<String, Counted>,
    pub(super) flags_gained: BTreeMap<String, Counted>,
    pub(super) flags_lost: BTreeMap<String, Counted>,
    pub(super) control_lines: BTreeMap<String, Counted>,
}

/// The complaint a change is counted for.
#[derive(Clone, Copy)]
pub(super) struct At<'e> {
    pub(super) seq: i64,
    pub(super) event: &'e str,
}

pub(super) fn count(map: &mut BTreeMap<String, Counted>, what: &str, at: At<'_>) {
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

pub(super) fn transition(
    map: &mut BTreeMap<(String, String), Transition>,
    from: &str,
    to: &str,
    at: At<'_>,
) {
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
pub(super) fn first_examples(
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
pub(super) fn merge<K: Ord, V>(
    into: &mut BTreeMap<K, V>,
    from: BTreeMap<K, V>,
    combine: impl Fn(&mut V, V),
) {
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
pub(super) type Examples = (u64, Vec<String>, Vec<i64>);

pub(super) fn add_examples(
    (count, examples, seqs): (&mut u64, &mut Vec<String>, &mut Vec<i64>),
    other: Examples,
) {
    *count += other.0;
    (*examples, *seqs) = first_examples(
        (std::mem::take(examples), std::mem::take(seqs)),
        (other.1, other.2),
    );
}

pub(super) fn merge_counted<K: Ord>(into: &mut BTreeMap<K, Counted>, from: BTreeMap<K, Counted>) {
    merge(into, from, |mine, other| {
        add_examples(
            (&mut mine.count, &mut mine.examples, &mut mine.seqs),
            (other.count, other.examples, other.seqs),
        )
    });
}

pub(super) fn merge_transitions<K: Ord>(
    into: &mut BTreeMap<K, Transition>,
    from: BTreeMap<K, Transition>,
) {
    merge(into, from, |mine, other| {
        add_examples(
            (&mut mine.count, &mut mine.examples, &mut mine.seqs),
            (other.count, other.examples, other.seqs),
        )
    });
}

pub(super) fn merge_money<K: Ord>(into: &mut BTreeMap<K, Money>, from: BTreeMap<K, Money>) {
    merge(into, from, |mine, other| {
        mine.before += other.before;
        mine.after += other.after;
    });
}

pub(super) fn money<'m>(
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
pub(super) fn per_currency(offers: &[OfferDecision]) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    for offer in offers {
        *sums.entry(offer.currency.to_string()).or_insert(0.0) += offer.value;
    }
    sums
}

impl Tally {
    /// Counts what changed between `before` and `after` for `event`.
    pub(super) fn add(&mut self, at: At<'_>, tier: &str, before: &Compared, after: &Compared) {
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

    pub(super) fn not_replayable(&mut self, logged: &LoggedComplaint, reason: String) {
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
    pub(super) fn merge(&mut self, other: Tally) {
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
    pub(super) fn keep_largest_increases(&mut self) {
        self.increases.sort_by(|a, b| {
            (b.after - b.before)
                .total_cmp(&(a.after - a.before))
                .then(a.seq.cmp(&b.seq))
        });
        self.increases.truncate(10);
    }

    pub(super) fn finish(mut self) -> DiffReport {
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
