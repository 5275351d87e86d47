//! `[[compensate]]`: at least one offer, each of a known kind with a value
//! that is a non-negative number or a number expression.

use super::Checker;
use crate::decision::Name;
use crate::expr::Expression;
use crate::rules::raw::RawCompensate;
use crate::rules::ruleset::{Compensate, OfferTemplate, Settings};

impl Checker<'_> {
    pub(super) fn compensate(
        &mut self,
        file: usize,
        r: &RawCompensate,
        settings: &Settings,
    ) -> Option<Compensate> {
        if r.offers.is_empty() {
            self.error_at(
                file,
                r.name.span(),
                "`offers` is empty",
                Some("add at least one offer, e.g. `{ kind = \"apology\" }`".into()),
            );
        }
        let mut offers = Vec::new();
        for offer in &r.offers {
            self.offer_kind(file, &offer.kind, settings);
            offers.push(OfferTemplate {
                kind: Name::from(offer.kind.get().as_str()),
                value: match &offer.value {
                    Some(value) => self.amount(file, value)?,
                    None => Expression::number(0.0),
                },
                note: offer.note.as_deref().map(Name::from),
                within: self.positive(file, offer.within.as_ref()),
            });
        }
        Some(Compensate { offers })
    }
}
