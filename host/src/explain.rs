//! A decision told in words, for `redress eval --explain`: what was
//! decided, by which rule, and the values that made it so.

use std::fmt::Write as _;

use crate::decision::{Decision, TraceEntry};
use crate::rules::{RuleInfo, RuleKind, RuleSet};

/// Renders `decision` (made with `ruleset`) as text for a person.
pub fn explain(decision: &Decision, ruleset: &RuleSet) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Complaint {} (received {}), decided by ruleset_version {}",
        decision.event_id, decision.received_at, decision.ruleset_version
    );
    if let Some(category) = &decision.category {
        let _ = writeln!(out, "Category: {category}");
    }
    for run in decision.plugins.iter() {
        let _ = write!(
            out,
            "Plugin {} ({}): {}",
            run.name,
            short(&run.digest),
            run.outcome
        );
        if let Some(error) = &run.error {
            let _ = write!(out, ": {error}");
        }
        out.push('\n');
        if let Some(values) = decision.annotations.get(&*run.name) {
            for (key, value) in values {
                let _ = writeln!(
                    out,
                    "    {key} = {}",
                    serde_json::to_string(value).unwrap_or_default()
                );
            }
        }
    }

    out.push('\n');
    let route = &decision.route;
    let _ = write!(out, "Route: queue `{}`", route.queue);
    if let Some(handler) = &route.handler {
        let _ = write!(out, ", answered by a {handler}");
    }
    out.push('\n');
    because(&mut out, decision, ruleset, RuleKind::Route, &route.rule);

    match &decision.escalation_level {
        Some(level) => {
            let _ = writeln!(out, "\nEscalation: up to {level}");
            for escalation in &decision.escalations {
                let _ = write!(out, "  - to {}", escalation.to);
                if let Some(reason) = &escalation.reason {
                    let _ = write!(out, ": {reason}");
                }
                out.push('\n');
                because(
                    &mut out,
                    decision,
                    ruleset,
                    RuleKind::Escalate,
                    &escalation.rule,
                );
            }
        }
        None => out.push_str("\nEscalation: none\n"),
    }
    if !decision.notify.is_empty() {
        let _ = writeln!(out, "Notify: {}", decision.notify.join(", "));
    }

    match &decision.sla {
        Some(sla) => {
            let _ = writeln!(out, "\nCommitments (SLA `{}`):", sla.rule);
            if let Some(due) = sla.first_response_due {
                let _ = writeln!(out, "  - first response by {due}");
            }
            if let Some(due) = sla.resolve_due {
                let _ = writeln!(out, "  - resolved by {due}");
            }
            if let Some(after) = sla.follow_up_after {
                let _ = writeln!(out, "  - call the customer back {after} after resolution");
            }
            if let Some(breach) = &sla.on_breach {
                let mut parts = Vec::new();
                if let Some(level) = &breach.escalate {
                    parts.push(format!("escalate to {level}"));
                }
                if !breach.notify.is_empty() {
                    parts.push(format!("notify {}", breach.notify.join(", ")));
                }
                if !parts.is_empty() {
                    let _ = writeln!(out, "  - if missed: {}", parts.join(", "));
                }
            }
        }
        None => out.push_str("\nCommitments: none\n"),
    }

    if decision.offers.is_empty() {
        out.push_str("\nOffers: none\n");
    } else {
        out.push_str("\nOffers:\n");
        for offer in &decision.offers {
            let _ = write!(out, "  - {}", offer.kind);
            if offer.value > 0.0 {
                let _ = write!(out, " worth {} {}", offer.value, offer.currency);
            }
            if let Some(due) = offer.due {
                let _ = write!(out, ", by {due}");
            }
            if let Some(note) = &offer.note {
                let _ = write!(out, " ({note})");
            }
            let _ = write!(out, " from {}", offer.source);
            if let Some(capped) = &offer.capped {
                let _ = write!(out, "; cut from {} by cap `{}`", capped.from, capped.by);
            }
            out.push('\n');
        }
    }

    if !decision.removed_offers.is_empty() {
        out.push_str("\nOffers removed by caps:\n");
        for offer in &decision.removed_offers {
            let Some(capped) = &offer.capped else {
                continue;
            };
            let _ = write!(
                out,
                "  - {} worth {} {} from {}: nothing was left of cap `{}`",
                offer.kind, capped.from, offer.currency, offer.source, capped.by
            );
            if let Some(cap) = ruleset.find(RuleKind::Cap, &capped.by) {
                let _ = write!(out, " ({}:{})", cap.file.display(), cap.line);
            }
            out.push('\n');
        }
    }

    if decision.authority.is_empty() {
        out.push_str("\nAuthority to bend policy: none\n");
    } else {
        out.push_str("\nAuthority to bend policy:\n");
        for grant in &decision.authority {
            let _ = writeln!(
                out,
                "  - a {} may waive `{}` for this customer, up to {} {}",
                grant.grant, grant.policy, grant.max_cost, grant.currency
            );
            because(
                &mut out,
                decision,
                ruleset,
                RuleKind::Authority,
                &grant.rule,
            );
            if let Some(budget) = &grant.budget {
                let limits = [
                    budget.limit_count.map(|c| format!("{c} uses")),
                    budget
                        .limit_amount
                        .map(|a| format!("{a} {}", grant.currency)),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" and ");
                let state = if budget.status == crate::decision::BudgetState::Unchecked {
                    "not checked here: budgets are counted by the daemon's store".to_string()
                } else {
                    format!(
                        "{} used so far",
                        budget
                            .used_count
                            .map_or_else(String::new, |c| format!("{c} uses"))
                    )
                };
                let _ = writeln!(
                    out,
                    "      budget: {limits} per {} per {}; {state}",
                    budget.scope, budget.window
                );
            }
        }
    }

    if !decision.control_lines.is_empty() {
        out.push_str("\nControl lines:\n");
        for line in &decision.control_lines {
            let group = line
                .group
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let state = match line.status {
                crate::decision::ControlLineStatus::NotEvaluated => {
                    "not evaluated: counting needs the daemon's store".to_string()
                }
                status => format!(
                    "{status} ({} in window, line at {})",
                    line.count.unwrap_or_default(),
                    line.limit.unwrap_or_default()
                ),
            };
            let _ = writeln!(out, "  - `{}` for [{group}]: {state}", line.rule);
        }
    }

    if !decision.flags.is_empty() {
        let _ = writeln!(out, "\nFlags: {}", decision.flags.join(", "));
    }

    let others: Vec<&TraceEntry> = decision
        .trace
        .iter()
        .filter(|t| !t.matched && !t.rule.is_empty())
        .collect();
    if !others.is_empty() {
        out.push_str("\nRules that did not apply:\n");
        for entry in others {
            let _ = write!(out, "  - {} `{}`", entry.kind, entry.rule);
            if !entry.inputs.is_empty() {
                let _ = write!(out, ": {}", inputs(entry));
            }
            if let Some(note) = &entry.note {
                let _ = write!(out, " ({note})");
            }
            out.push('\n');
        }
    }
    let notes: Vec<&TraceEntry> = decision
        .trace
        .iter()
        .filter(|t| t.rule.is_empty())
        .collect();
    for entry in notes {
        if let Some(note) = &entry.note {
            let _ = writeln!(out, "Note: {note}");
        }
    }
    out
}

/// "by rule `x` (file:line): description; because a = 1, b = 2"
fn because(out: &mut String, decision: &Decision, ruleset: &RuleSet, kind: RuleKind, rule: &str) {
    let Some(found) = locate(ruleset, kind, rule) else {
        return;
    };
    let _ = write!(
        out,
        "      by {} `{rule}` ({}:{})",
        found.kind,
        found.file.display(),
        found.line
    );
    if let Some(description) = found.description {
        let _ = write!(out, ": {description}");
    }
    out.push('\n');
    if let Some(entry) = decision
        .trace
        .iter()
        .find(|t| t.kind == found.kind && &*t.rule == rule)
    {
        if !entry.inputs.is_empty() {
            let _ = writeln!(out, "      because {}", inputs(entry));
        }
        if let Some(note) = &entry.note {
            let _ = writeln!(out, "      note: {note}");
        }
    }
}

fn inputs(entry: &TraceEntry) -> String {
    entry
        .inputs
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rule named `name` behind a part of the decision of `kind`; an
/// escalation may also come from a control line that was crossed.
fn locate<'r>(ruleset: &'r RuleSet, kind: RuleKind, name: &str) -> Option<RuleInfo<'r>> {
    ruleset.find(kind, name).or_else(|| match kind {
        RuleKind::Escalate => ruleset.find(RuleKind::ControlLine, name),
        _ => None,
    })
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}
