//! The rules stage: from an event and its plugin enrichment to a decision.
//!
//! Order: route (first match) → escalate (all matches) → SLA (first match)
//! → control lines (all matches, counted by the store) → compensate (all
//! matches) and plugin proposals → caps → authority (all matches, within
//! budget). Every rule consulted leaves a trace entry with the values its
//! condition read.

mod currency;
mod enrichment;
mod money;
mod offers;
mod state;

use std::collections::BTreeMap;

pub use currency::{CurrencyError, as_plugins_see, check_currency, convert};
pub use enrichment::{Enrichment, Proposal};
pub use money::{budget_allows, round_cents, within};
pub use offers::{Limits, apply_caps};
pub use state::{BudgetUse, Group, StateView, Stateless, group_key};

use crate::decision::{
    BreachDecision, BudgetState, BudgetStatus, ControlLineOutcome, ControlLineStatus, Decision,
    EscalationDecision, GrantDecision, Name, OfferDecision, RouteDecision, SlaDecision, TraceEntry,
    TraceLevel,
};
use crate::event::ComplaintEvent;
use crate::expr::{Facts, Value};
use crate::rules::{BudgetScope, ControlLimit, Rule, RuleList, RuleSet};
use crate::time::Timestamp;

/// Decides one complaint. `event.received_at` must be set (intake fills it
/// in); if it is not, the Unix epoch is used so the call stays
/// deterministic.
pub fn decide(
    ruleset: &RuleSet,
    event: &ComplaintEvent,
    enrichment: &Enrichment,
    state: &dyn StateView,
    trace_level: TraceLevel,
) -> Decision {
    let converted = currency::convert(&ruleset.settings, event);
    let (event, conversion) = match &converted {
        Some((event, conversion)) => (event, Some(conversion.clone())),
        None => (event, None),
    };
    let history = state.history(event, &ruleset.settings.currency);
    let category = event.category.as_deref().or(enrichment.category.as_deref());
    let facts = Facts {
        event,
        category,
        annotations: &enrichment.slots,
        history: history.as_ref(),
    };
    let received_at = event.received_at.unwrap_or(Timestamp(0));
    let currency: Name = match &event.currency {
        Some(code) => Name::from(code.as_str()),
        None => ruleset.settings.currency.clone(),
    };
    let mut run = Run {
        facts: &facts,
        level: trace_level,
        trace: Vec::new(),
        candidates: Vec::new(),
        flags: Vec::new(),
    };

    let route = match run.first("route", &ruleset.routes) {
        Some(rule) => RouteDecision {
            queue: rule.body.queue.clone(),
            handler: rule.body.handler.clone(),
            rule: rule.name.clone(),
        },
        // A compiled rule set always has a fallback route; this only
        // happens if its condition could not be decided.
        None => RouteDecision {
            queue: ruleset
                .routes
                .rules
                .last()
                .map_or_else(|| Name::from(""), |r| r.body.queue.clone()),
            handler: None,
            rule: Name::from(""),
        },
    };

    let mut escalations: Vec<(usize, EscalationDecision)> = Vec::new();
    let mut notify: Vec<Name> = Vec::new();
    for rule in run.all("escalate", &ruleset.escalations) {
        escalations.push((
            rule.body.level,
            EscalationDecision {
                to: rule.body.to.clone(),
                rule: rule.name.clone(),
                reason: rule.body.reason.clone(),
            },
        ));
        notify.extend(rule.body.notify.iter().cloned());
    }

    let sla = run.first("sla", &ruleset.slas).map(|rule| SlaDecision {
        rule: rule.name.clone(),
        first_response_due: rule
            .body
            .first_response
            .and_then(|d| received_at.checked_add(d)),
        resolve_due: rule.body.resolve.and_then(|d| received_at.checked_add(d)),
        follow_up_after: rule.body.follow_up,
        on_breach: rule.body.on_breach.as_ref().map(|b| BreachDecision {
            escalate: b.escalate.clone(),
            notify: b.notify.clone(),
        }),
    });

    let mut control_lines = Vec::new();
    for rule in run.all("control_line", &ruleset.control_lines) {
        let outcome = control_line(&run, rule, state, received_at);
        if outcome.status == ControlLineStatus::Crossed {
            run.flags.push(rule.body.then.flag.clone());
            notify.extend(rule.body.then.notify.iter().cloned());
            if let Some(to) = &rule.body.then.escalate
                && let Some(level) = ruleset.settings.levels.iter().position(|l| **l == **to)
            {
                escalations.push((
                    level,
                    EscalationDecision {
                        to: to.clone(),
                        rule: rule.name.clone(),
                        reason: Some(Name::from(format!(
                            "control line crossed: {} complaints in {}",
                            outcome.count.unwrap_or_default(),
                            rule.body.window
                        ))),
                    },
                ));
            }
        }
        run.note_last(&rule.name, describe_control_line(&outcome));
        control_lines.push(outcome);
    }

    let mut offers = Vec::new();
    for rule in run.all("compensate", &ruleset.compensations) {
        for template in &rule.body.offers {
            match template.value.number_value(&facts).filter(|v| v.is_finite() && *v >= 0.0) {
                Some(value) => offers.push(OfferDecision {
                    kind: template.kind.clone(),
                    value: round_cents(value),
                    currency: currency.clone(),
                    note: template.note.clone(),
                    due: template.within.and_then(|d| received_at.checked_add(d)),
                    source: rule.name.clone(),
                    capped: None,
                }),
                None => run.note_last(
                    &rule.name,
                    format!(
                        "offer `{}` left out: its value `{}` could not be computed for this complaint",
                        template.kind,
                        template.value.source()
                    ),
                ),
            }
        }
    }

    let mut limits = Limits::default();
    for rule in run.all("cap", &ruleset.caps) {
        if let Some(max_total) = &rule.body.max_total {
            match max_total.number_value(&facts).filter(|v| v.is_finite()) {
                Some(value) => limits.tighten_total(value.max(0.0), &rule.name),
                // A cap that cannot be computed allows nothing: safe side.
                None => limits.tighten_total(0.0, &rule.name),
            }
        }
        for (kind, amount) in &rule.body.per_kind {
            let value = amount
                .number_value(&facts)
                .filter(|v| v.is_finite())
                .unwrap_or(0.0);
            limits.tighten_kind(kind, value.max(0.0), &rule.name);
        }
    }
    let mut plugin_notes = Vec::new();
    for proposal in &enrichment.proposals {
        if limits.is_empty() {
            plugin_notes.push(format!(
                "offer `{}` of {} proposed by plugin `{}` left out: no cap applies to this complaint, and plugins may only give what a cap allows",
                proposal.kind, proposal.value, proposal.plugin
            ));
            continue;
        }
        if !ruleset
            .settings
            .offer_kinds
            .iter()
            .any(|k| **k == *proposal.kind)
        {
            plugin_notes.push(format!(
                "offer `{}` proposed by plugin `{}` left out: not an offer kind of this rule set",
                proposal.kind, proposal.plugin
            ));
            continue;
        }
        offers.push(OfferDecision {
            kind: proposal.kind.clone(),
            value: round_cents(proposal.value.max(0.0)),
            currency: currency.clone(),
            note: proposal.note.clone(),
            due: None,
            source: proposal.source.clone(),
            capped: None,
        });
    }
    let removed_offers = apply_caps(&mut offers, &limits);
    for removed in &removed_offers {
        if let Some(capped) = &removed.capped {
            run.note_last(
                &capped.by,
                format!(
                    "removed offer `{}` of {} from `{}`: the cap was used up",
                    removed.kind, capped.from, removed.source
                ),
            );
        }
    }
    if run.level != TraceLevel::None {
        for note in plugin_notes {
            run.trace.push(TraceEntry {
                kind: Name::from("cap"),
                rule: Name::from(""),
                matched: false,
                inputs: BTreeMap::new(),
                note: Some(note),
            });
        }
    }

    let mut authority = Vec::new();
    for rule in run.all("authority", &ruleset.authorities) {
        let Some(max_cost) = rule
            .body
            .max_cost
            .number_value(&facts)
            .filter(|v| v.is_finite())
        else {
            run.note_last(
                &rule.name,
                "not granted: `max_cost` could not be computed for this complaint".to_string(),
            );
            continue;
        };
        let max_cost = round_cents(max_cost.max(0.0));
        let budget = match &rule.body.budget {
            None => None,
            Some(budget) => {
                let scope = budget_scope(budget.per, event, &route);
                let status = match state.budget_use(&rule.name, &scope, budget.window, received_at)
                {
                    None => BudgetStatus {
                        scope,
                        window: budget.window,
                        status: BudgetState::Unchecked,
                        used_count: None,
                        limit_count: budget.count,
                        used_amount: None,
                        limit_amount: budget.amount,
                    },
                    Some(used) => {
                        if !budget_allows(used, budget.count, budget.amount, max_cost) {
                            run.note_last(
                                &rule.name,
                                format!(
                                    "not granted: budget for {scope} used up ({} of {} uses, {} of {} spent in {})",
                                    used.count,
                                    budget.count.map_or("unlimited".to_string(), |c| c.to_string()),
                                    used.amount,
                                    budget.amount.map_or("unlimited".to_string(), |a| a.to_string()),
                                    budget.window
                                ),
                            );
                            continue;
                        }
                        BudgetStatus {
                            scope,
                            window: budget.window,
                            status: BudgetState::Within,
                            used_count: Some(used.count),
                            limit_count: budget.count,
                            used_amount: Some(used.amount),
                            limit_amount: budget.amount,
                        }
                    }
                };
                Some(status)
            }
        };
        authority.push(GrantDecision {
            policy: rule.body.policy.clone(),
            grant: rule.body.grant.clone(),
            max_cost,
            currency: currency.clone(),
            rule: rule.name.clone(),
            budget,
        });
    }

    // Highest level first; among equals, rule order.
    escalations.sort_by_key(|(level, _)| std::cmp::Reverse(*level));
    let escalation_level = escalations.first().map(|(_, e)| e.to.clone());
    let mut flags = std::mem::take(&mut run.flags);
    flags.sort();
    flags.dedup();
    notify.sort();
    notify.dedup();

    Decision {
        event_id: event.id.clone(),
        ruleset_version: ruleset.version.clone(),
        received_at,
        plugins: enrichment.runs.clone(),
        category: category.map(str::to_string),
        route,
        escalation_level,
        escalations: escalations.into_iter().map(|(_, e)| e).collect(),
        notify,
        sla,
        flags,
        offers,
        removed_offers,
        authority,
        control_lines,
        annotations: enrichment.by_plugin.clone(),
        conversion,
        trace: run.trace,
    }
}

/// The rules of one kind that matched; most complaints match a handful,
/// which stay off the heap.
type Matched<'k, K> = smallvec::SmallVec<[&'k Rule<K>; 8]>;

/// Evaluation state for one decision.
struct Run<'r, 'a> {
    facts: &'r Facts<'a>,
    level: TraceLevel,
    trace: Vec<TraceEntry>,
    candidates: Vec<u32>,
    flags: Vec<Name>,
}

impl<'a> Run<'_, 'a> {
    /// The first matching rule of a first-match kind.
    fn first<'k, K>(&mut self, kind: &str, list: &'k RuleList<K>) -> Option<&'k Rule<K>> {
        self.evaluate(kind, list, true).into_iter().next()
    }

    /// Every matching rule of a kind, in order.
    fn all<'k, K>(&mut self, kind: &str, list: &'k RuleList<K>) -> Matched<'k, K> {
        self.evaluate(kind, list, false)
    }

    fn evaluate<'k, K>(
        &mut self,
        kind: &str,
        list: &'k RuleList<K>,
        first_only: bool,
    ) -> Matched<'k, K> {
        let mut candidates = std::mem::take(&mut self.candidates);
        list.index.candidates(self.facts, &mut candidates);
        let mut matched = Matched::new();
        let mut evaluated = 0;
        for &position in &candidates {
            let rule = &list.rules[position as usize];
            let outcome = rule.when.test(self.facts);
            evaluated += 1;
            let is_match = outcome == Some(true);
            if self.level != TraceLevel::None {
                self.trace.push(TraceEntry {
                    kind: Name::from(kind),
                    rule: rule.name.clone(),
                    matched: is_match,
                    inputs: rule.when.inputs(self.facts),
                    note: outcome.is_none().then(|| {
                        "undecided: a value the condition needs is not set, so the rule does not apply".to_string()
                    }),
                });
            }
            if is_match {
                self.flags.extend(rule.flags.iter().cloned());
                matched.push(rule);
                if first_only {
                    break;
                }
            }
        }
        if self.level == TraceLevel::Full {
            self.trace_unevaluated(
                kind,
                list,
                &candidates[..evaluated],
                &candidates[evaluated..],
            );
        }
        self.candidates = candidates;
        matched
    }

    /// Full traces also list the rules that were not evaluated, and why.
    fn trace_unevaluated<K>(
        &mut self,
        kind: &str,
        list: &RuleList<K>,
        evaluated: &[u32],
        not_reached: &[u32],
    ) {
        let indexed = list.index.describe(self.facts).join(", ");
        for (position, rule) in list.rules.iter().enumerate() {
            let position = position as u32;
            if evaluated.contains(&position) {
                continue;
            }
            let note = if not_reached.contains(&position) {
                format!("not evaluated: an earlier {kind} rule matched first")
            } else {
                format!("ruled out by the index without evaluating: {indexed}")
            };
            self.trace.push(TraceEntry {
                kind: Name::from(kind),
                rule: rule.name.clone(),
                matched: false,
                inputs: BTreeMap::new(),
                note: Some(note),
            });
        }
    }

    /// Adds a note to the newest trace entry of `rule`.
    fn note_last(&mut self, rule: &str, note: String) {
        if self.level == TraceLevel::None {
            return;
        }
        if let Some(entry) = self.trace.iter_mut().rev().find(|e| &*e.rule == rule) {
            entry.note = Some(match entry.note.take() {
                Some(existing) => format!("{existing}; {note}"),
                None => note,
            });
        }
    }
}

fn control_line(
    run: &Run<'_, '_>,
    rule: &Rule<crate::rules::ControlLine>,
    state: &dyn StateView,
    at: Timestamp,
) -> ControlLineOutcome {
    let group: BTreeMap<Name, String> = rule
        .body
        .group_by
        .iter()
        .map(|(path, reader)| {
            let value = match reader.evaluate(run.facts) {
                Some(Value::Str(s)) => s.into_owned(),
                Some(other) => other.to_json().to_string(),
                None => "(not set)".to_string(),
            };
            (path.clone(), value)
        })
        .collect();
    let limit = match &rule.body.limit {
        ControlLimit::Count(count) => Some(*count as f64),
        ControlLimit::Rate { max_rate, volume } => {
            volume.number_value(run.facts).map(|v| max_rate * v)
        }
    };
    let Some(before) = state.control_line_count(&rule.name, &group, rule.body.window, at) else {
        return ControlLineOutcome {
            rule: rule.name.clone(),
            group,
            status: ControlLineStatus::NotEvaluated,
            count: None,
            limit,
        };
    };
    let count = before + 1;
    let status = match limit {
        Some(limit) if count as f64 > limit => ControlLineStatus::Crossed,
        Some(_) => ControlLineStatus::Within,
        None => ControlLineStatus::NotEvaluated,
    };
    ControlLineOutcome {
        rule: rule.name.clone(),
        group,
        status,
        count: Some(count),
        limit,
    }
}

fn describe_control_line(outcome: &ControlLineOutcome) -> String {
    match outcome.status {
        ControlLineStatus::NotEvaluated if outcome.count.is_none() => {
            "not evaluated: counting complaints needs the daemon's store".to_string()
        }
        ControlLineStatus::NotEvaluated => {
            "not evaluated: the volume could not be computed".to_string()
        }
        status => format!(
            "{status}: {} complaints in the window, line at {}",
            outcome.count.unwrap_or_default(),
            outcome.limit.unwrap_or_default()
        ),
    }
}

/// The budget scope key of a complaint: `location:branch-12`.
fn budget_scope(per: BudgetScope, event: &ComplaintEvent, route: &RouteDecision) -> String {
    let value = match per {
        BudgetScope::Location => event.location.clone(),
        BudgetScope::Handler => route.handler.as_deref().map(str::to_string),
        BudgetScope::Customer => event.customer.id.clone(),
        BudgetScope::Global => return "global".to_string(),
    };
    let name = match per {
        BudgetScope::Location => "location",
        BudgetScope::Handler => "handler",
        BudgetScope::Customer => "customer",
        BudgetScope::Global => "global",
    };
    format!(
        "{name}:{}",
        value.unwrap_or_else(|| "(not set)".to_string())
    )
}

#[cfg(test)]
mod tests;
