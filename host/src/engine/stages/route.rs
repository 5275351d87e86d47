//! Route: the first matching `[[route]]` owns the case.

use crate::decision::{Name, RouteDecision};
use crate::engine::run::Run;
use crate::rule_kind::RuleKind;
use crate::rules::{Route, RuleList};

#[inline]
pub(in crate::engine) fn route(run: &mut Run<'_, '_>, routes: &RuleList<Route>) -> RouteDecision {
    match run.matching(RuleKind::Route, routes).first() {
        Some(rule) => RouteDecision {
            queue: rule.body.queue.clone(),
            handler: rule.body.handler.clone(),
            rule: rule.name.clone(),
        },
        // A compiled rule set always has a fallback route; this only
        // happens if its condition could not be decided.
        None => RouteDecision {
            queue: routes
                .rules
                .last()
                .map_or_else(|| Name::from(""), |r| r.body.queue.clone()),
            handler: None,
            rule: Name::from(""),
        },
    }
}
