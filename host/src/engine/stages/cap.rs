//! Caps: every matching `[[cap]]` tightens the limits on the offers; they
//! apply once every offer, the plugins' included, is known.

use crate::decision::OfferDecision;
use crate::engine::offers::{Limits, apply_caps};
use crate::engine::run::Run;
use crate::rule_kind::RuleKind;
use crate::rules::{Cap, RuleList};

/// The limits of every matching cap, the lowest of each.
#[inline]
pub(in crate::engine) fn caps(run: &mut Run<'_, '_>, caps: &RuleList<Cap>) -> Limits {
    let mut limits = Limits::default();
    for rule in run.matching(RuleKind::Cap, caps) {
        if let Some(max_total) = &rule.body.max_total {
            match max_total.number_value(run.facts).filter(|v| v.is_finite()) {
                Some(value) => limits.tighten_total(value.max(0.0), &rule.name),
                // A cap that cannot be computed allows nothing: safe side.
                None => limits.tighten_total(0.0, &rule.name),
            }
        }
        for (kind, amount) in &rule.body.per_kind {
            let value = amount
                .number_value(run.facts)
                .filter(|v| v.is_finite())
                .unwrap_or(0.0);
            limits.tighten_kind(kind, value.max(0.0), &rule.name);
        }
    }
    limits
}

/// Applies `limits` to `offers`; returns the offers cut to nothing, each
/// noted on the cap that used up its room.
#[inline]
pub(in crate::engine) fn cut_by_caps(
    run: &mut Run<'_, '_>,
    offers: &mut Vec<OfferDecision>,
    limits: &Limits,
) -> Vec<OfferDecision> {
    let removed = apply_caps(offers, limits);
    for offer in &removed {
        if let Some(capped) = &offer.capped {
            run.note_last(
                &capped.by,
                format!(
                    "removed offer `{}` of {} from `{}`: the cap was used up",
                    offer.kind, capped.from, offer.source
                ),
            );
        }
    }
    removed
}
