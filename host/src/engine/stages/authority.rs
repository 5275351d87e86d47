//! Authority: every matching `[[authority]]` grants its policy, for what
//! one use may cost, while its budget (counted by the store per scope and
//! window) has room.

use crate::decision::{BudgetState, BudgetStatus, GrantDecision, RouteDecision};
use crate::engine::money::{budget_allows, round_cents};
use crate::engine::run::Run;
use crate::engine::state::StateView;
use crate::event::ComplaintEvent;
use crate::rule_kind::RuleKind;
use crate::rules::{Authority, BudgetScope, RuleList};

#[inline]
pub(in crate::engine) fn authority(
    run: &mut Run<'_, '_>,
    authorities: &RuleList<Authority>,
    event: &ComplaintEvent,
    route: &RouteDecision,
    state: &dyn StateView,
) -> Vec<GrantDecision> {
    let received_at = run.received_at;
    let mut grants = Vec::new();
    for rule in run.matching(RuleKind::Authority, authorities) {
        let Some(max_cost) = rule
            .body
            .max_cost
            .number_value(run.facts)
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
                let scope = budget_scope(budget.per, event, route);
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
        grants.push(GrantDecision {
            policy: rule.body.policy.clone(),
            grant: rule.body.grant.clone(),
            max_cost,
            currency: run.currency.clone(),
            rule: rule.name.clone(),
            budget,
        });
    }
    grants
}

/// The budget scope key of a complaint: `location:branch-12`.
fn budget_scope(per: BudgetScope, event: &ComplaintEvent, route: &RouteDecision) -> String {
    let value = match per {
        BudgetScope::Location => event.location.clone(),
        BudgetScope::Handler => route.handler.as_deref().map(str::to_string),
        BudgetScope::Customer => event.customer.id.clone(),
        BudgetScope::Global => return "global".to_string(),
    };
    let name = per.name();
    format!(
        "{name}:{}",
        value.unwrap_or_else(|| "(not set)".to_string())
    )
}
