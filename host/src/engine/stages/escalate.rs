//! Escalate: every matching `[[escalate]]` raises the case; the highest
//! level wins when the decision is assembled.

use crate::decision::EscalationDecision;
use crate::engine::run::Run;
use crate::rule_kind::RuleKind;
use crate::rules::{Escalate, RuleList};

#[inline]
pub(in crate::engine) fn escalate(run: &mut Run<'_, '_>, escalations: &RuleList<Escalate>) {
    for rule in run.matching(RuleKind::Escalate, escalations) {
        run.escalations.push((
            rule.body.level,
            EscalationDecision {
                to: rule.body.to.clone(),
                rule: rule.name.clone(),
                reason: rule.body.reason.clone(),
            },
        ));
        run.notify.extend(rule.body.notify.iter().cloned());
    }
}
