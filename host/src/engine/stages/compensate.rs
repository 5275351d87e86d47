//! Compensate: every matching `[[compensate]]` adds its offers, valued for
//! this complaint; then plugins' proposals, which only a cap lets in.

use crate::decision::OfferDecision;
use crate::engine::enrichment::Proposal;
use crate::engine::money::round_cents;
use crate::engine::offers::Limits;
use crate::engine::run::Run;
use crate::rule_kind::RuleKind;
use crate::rules::{Compensate, RuleList, Settings};

#[inline]
pub(in crate::engine) fn compensate(
    run: &mut Run<'_, '_>,
    compensations: &RuleList<Compensate>,
) -> Vec<OfferDecision> {
    let mut offers = Vec::new();
    for rule in run.matching(RuleKind::Compensate, compensations) {
        for template in &rule.body.offers {
            match template
                .value
                .number_value(run.facts)
                .filter(|v| v.is_finite() && *v >= 0.0)
            {
                Some(value) => offers.push(OfferDecision {
                    kind: template.kind.clone(),
                    value: round_cents(value),
                    currency: run.currency.clone(),
                    note: template.note.clone(),
                    due: template.within.and_then(|d| run.received_at.checked_add(d)),
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
    offers
}

/// Adds the plugins' proposals to `offers`, after the rules' own (so caps
/// cut them first). Returns why each proposal left out was left out.
#[inline]
pub(in crate::engine) fn proposals(
    run: &Run<'_, '_>,
    proposals: &[Proposal],
    settings: &Settings,
    limits: &Limits,
    offers: &mut Vec<OfferDecision>,
) -> Vec<String> {
    let mut notes = Vec::new();
    for proposal in proposals {
        if limits.is_empty() {
            notes.push(format!(
                "offer `{}` of {} proposed by plugin `{}` left out: no cap applies to this complaint, and plugins may only give what a cap allows",
                proposal.kind, proposal.value, proposal.plugin
            ));
            continue;
        }
        if !settings.offer_kinds.iter().any(|k| **k == *proposal.kind) {
            notes.push(format!(
                "offer `{}` proposed by plugin `{}` left out: not an offer kind of this rule set",
                proposal.kind, proposal.plugin
            ));
            continue;
        }
        offers.push(OfferDecision {
            kind: proposal.kind.clone(),
            value: round_cents(proposal.value.max(0.0)),
            currency: run.currency.clone(),
            note: proposal.note.clone(),
            due: None,
            source: proposal.source.clone(),
            capped: None,
        });
    }
    notes
}
