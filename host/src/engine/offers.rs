//! Caps: the limits every matching `[[cap]]` puts on the offers, applied
//! after all offers are known. Rule offers come first, so when a cap
//! binds, plugin proposals are cut before the rules' own remedies.

use std::collections::BTreeMap;

use crate::decision::{Capped, Name, OfferDecision};
use crate::engine::money::{cents, from_cents};

/// The limits in force for one complaint: the lowest of every matching
/// cap, with the name of the cap that set it.
#[derive(Debug, Default)]
pub struct Limits {
    pub total: Option<(f64, Name)>,
    pub per_kind: BTreeMap<Name, (f64, Name)>,
}

impl Limits {
    /// Tightens the limits with one matching cap's values.
    pub fn tighten_total(&mut self, value: f64, rule: &Name) {
        if self
            .total
            .as_ref()
            .is_none_or(|(current, _)| value < *current)
        {
            self.total = Some((value, rule.clone()));
        }
    }

    pub fn tighten_kind(&mut self, kind: &Name, value: f64, rule: &Name) {
        let entry = self.per_kind.get(kind);
        if entry.is_none_or(|(current, _)| value < *current) {
            self.per_kind.insert(kind.clone(), (value, rule.clone()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total.is_none() && self.per_kind.is_empty()
    }
}

/// Applies `limits` to `offers` in order: each offer gets what is left of
/// its kind's limit and of the total. Offers worth nothing (an apology)
/// always stay. Returns the offers that were cut to zero, worth 0 and
/// `capped` from what they were worth.
pub fn apply_caps(offers: &mut Vec<OfferDecision>, limits: &Limits) -> Vec<OfferDecision> {
    let mut dropped = Vec::new();
    if limits.is_empty() {
        return dropped;
    }
    // In whole cents: what is left of a limit is then exact, and a cap is
    // reached when nothing is left, not when a float says 1e-15.
    let mut total_left = limits.total.as_ref().map(|(v, _)| cents(*v));
    let mut kind_left: BTreeMap<&str, i64> = limits
        .per_kind
        .iter()
        .map(|(kind, (value, _))| (&**kind, cents(*value)))
        .collect();
    offers.retain_mut(|offer| {
        if offer.value <= 0.0 {
            return true;
        }
        let mut allowed = cents(offer.value);
        let mut binding: Option<&Name> = None;
        if let Some(left) = kind_left.get(&*offer.kind)
            && *left < allowed
        {
            allowed = (*left).max(0);
            binding = limits.per_kind.get(&offer.kind).map(|(_, rule)| rule);
        }
        if let Some(left) = total_left
            && left < allowed
        {
            allowed = left.max(0);
            binding = limits.total.as_ref().map(|(_, rule)| rule);
        }
        if let Some(left) = kind_left.get_mut(&*offer.kind) {
            *left -= allowed;
        }
        if let Some(left) = total_left.as_mut() {
            *left -= allowed;
        }
        match binding {
            None => true,
            Some(rule) if allowed <= 0 => {
                dropped.push(OfferDecision {
                    value: 0.0,
                    capped: Some(Capped {
                        from: offer.value,
                        by: rule.clone(),
                    }),
                    ..offer.clone()
                });
                false
            }
            Some(rule) => {
                offer.capped = Some(Capped {
                    from: offer.value,
                    by: rule.clone(),
                });
                offer.value = from_cents(allowed);
                true
            }
        }
    });
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(kind: &str, value: f64, source: &str) -> OfferDecision {
        OfferDecision {
            kind: kind.into(),
            value,
            currency: "USD".into(),
            note: None,
            due: None,
            source: source.into(),
            capped: None,
        }
    }

    #[test]
    fn total_cap_cuts_later_offers_first() {
        let mut offers = vec![
            offer("apology", 0.0, "sorry"),
            offer("refund", 60.0, "refund"),
            offer("coupon", 80.0, "plugin:goodwill"),
        ];
        let mut limits = Limits::default();
        limits.tighten_total(100.0, &"ceiling".into());
        limits.tighten_total(150.0, &"looser".into());
        let dropped = apply_caps(&mut offers, &limits);
        assert!(dropped.is_empty());
        assert_eq!(offers[1].value, 60.0);
        assert_eq!(offers[2].value, 40.0);
        assert_eq!(
            offers[2].capped,
            Some(Capped {
                from: 80.0,
                by: "ceiling".into()
            })
        );
        assert_eq!(offers.iter().map(|o| o.value).sum::<f64>(), 100.0);
    }

    #[test]
    fn per_kind_cap_and_exhausted_total_drop_offers() {
        let mut offers = vec![
            offer("refund", 50.0, "a"),
            offer("refund", 50.0, "b"),
            offer("coupon", 10.0, "c"),
        ];
        let mut limits = Limits::default();
        limits.tighten_kind(&"refund".into(), 70.0, &"refund-limit".into());
        limits.tighten_total(70.0, &"total".into());
        let dropped = apply_caps(&mut offers, &limits);
        assert_eq!(offers.len(), 2);
        assert_eq!(offers[1].value, 20.0);
        assert_eq!(dropped.len(), 1);
        assert_eq!(&*dropped[0].kind, "coupon");
        assert_eq!(dropped[0].value, 0.0);
        assert_eq!(
            dropped[0].capped,
            Some(Capped {
                from: 10.0,
                by: "total".into()
            })
        );
    }
}
