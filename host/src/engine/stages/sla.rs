//! SLA: the first matching `[[sla]]` sets the case's due times, counted
//! from receipt.

use crate::decision::{BreachDecision, SlaDecision};
use crate::engine::run::Run;
use crate::rule_kind::RuleKind;
use crate::rules::{RuleList, Sla};

#[inline]
pub(in crate::engine) fn sla(run: &mut Run<'_, '_>, slas: &RuleList<Sla>) -> Option<SlaDecision> {
    let received_at = run.received_at;
    let rule = *run.matching(RuleKind::Sla, slas).first()?;
    Some(SlaDecision {
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
    })
}
