//! Goodwill: what this customer is worth, what resolving the complaint well
//! is worth, and a goodwill offer scaled to it.
//!
//! The arithmetic follows the source documents. Seed 004: a daily coffee
//! customer lost to a careless remark cost one store $5,400 to $7,300 a
//! year. Seed 002: customers whose complaint is logged but not resolved
//! stay about 20% of the time; acknowledged and resolved, about 54%. So
//! resolving well keeps about 34% more of a year's value, and more when the
//! customer is angry (the `sentiment` plugin's `anger`, if it ran first) or
//! has complained before.
//!
//! Outputs (see `plugins/goodwill.toml`):
//! - `annual_value`: lifetime value per year of tenure (at least one year)
//! - `value_at_risk`: what resolving well is worth this year
//! - `segment`: `key`, `valuable`, `regular` or `new`
//!
//! It proposes one offer (config `kind`, default `coupon`) worth
//! `value_at_risk * rate`, at most `max_offer` (config, defaults 0.05 and
//! 100), unless the customer recently received more goodwill than a fifth of
//! their annual value. The rule set's caps decide what is actually given.

#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;

use redress_sdk::prelude::*;

/// Seed 002: share of customers kept when a complaint is logged but not
/// resolved, and when it is acknowledged and resolved.
const RETAINED_UNRESOLVED: f64 = 0.20;
const RETAINED_RESOLVED: f64 = 0.54;

/// Values one complaint's customer.
#[redress_sdk::plugin]
pub fn analyze(complaint: &Complaint) -> Result<Analysis, String> {
    let rate = redress_sdk::config_f64("rate", 0.05);
    let max_offer = redress_sdk::config_f64("max_offer", 100.0);
    let kind = redress_sdk::config("kind").unwrap_or_else(|| String::from("coupon"));
    let customer = &complaint.customer;
    if !(customer.lifetime_value.is_finite() && customer.prior_goodwill.is_finite()) {
        return Err(String::from("customer values must be finite numbers"));
    }
    let anger = complaint
        .earlier_number("sentiment", "anger")
        .unwrap_or(0.0)
        .clamp(0.0, 1.0);
    let valuation = value(customer, anger);
    let mut analysis = Analysis::new()
        .number("annual_value", cents(valuation.annual_value))
        .number("value_at_risk", cents(valuation.value_at_risk))
        .text("segment", valuation.segment);
    let recently_compensated = customer.prior_goodwill > valuation.annual_value * 0.2;
    let offer = cents((valuation.value_at_risk * rate).min(max_offer));
    if offer >= 1.0 && !recently_compensated {
        analysis = analysis.offer(
            &kind,
            offer,
            Some("goodwill, scaled to the customer's value"),
        );
    }
    Ok(analysis)
}

/// A customer's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Valuation {
    pub annual_value: f64,
    pub value_at_risk: f64,
    pub segment: &'static str,
}

/// Values a customer, given how angry the complaint is (0..1).
pub fn value(customer: &Customer, anger: f64) -> Valuation {
    let years = (customer.tenure_days.max(0) as f64 / 365.0).max(1.0);
    let annual_value = customer.lifetime_value.max(0.0) / years;
    // Anger and repeated complaints make leaving likelier, so resolving well
    // matters more: up to twice the base difference.
    let repeat = (customer.prior_complaints.clamp(0, 4) as f64) / 4.0;
    let pressure = 1.0 + 0.5 * anger + 0.5 * repeat;
    let value_at_risk = annual_value * (RETAINED_RESOLVED - RETAINED_UNRESOLVED) * pressure;
    let segment = if customer.tier.as_deref() == Some("key") || annual_value >= 10_000.0 {
        "key"
    } else if customer.tenure_days < 90 {
        "new"
    } else if annual_value >= 1_000.0 {
        "valuable"
    } else {
        "regular"
    };
    Valuation {
        annual_value,
        value_at_risk,
        segment,
    }
}

fn cents(x: f64) -> f64 {
    ((x * 100.0) + 0.5) as i64 as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complaint(lifetime_value: f64, tenure_days: i64, prior_complaints: i64) -> Complaint {
        let mut complaint = Complaint::from_text("");
        complaint.customer.lifetime_value = lifetime_value;
        complaint.customer.tenure_days = tenure_days;
        complaint.customer.prior_complaints = prior_complaints;
        complaint
    }

    #[test]
    fn outputs_and_offer_match_the_manifest() {
        let analysis = analyze(&complaint(14_600.0, 730, 0)).unwrap();
        redress_sdk::testing::check_manifest(include_str!("../../goodwill.toml"), &analysis)
            .unwrap();
    }

    #[test]
    fn seed_004_coffee_customer() {
        // Two cappuccinos a day at ~$10 for two years: $7,300 a year.
        let analysis = analyze(&complaint(14_600.0, 730, 0)).unwrap();
        assert_eq!(analysis.number_value("annual_value"), Some(7_300.0));
        // Resolving well keeps 34% more of it: $2,482.
        assert_eq!(analysis.number_value("value_at_risk"), Some(2_482.0));
        assert_eq!(analysis.text_value("segment"), Some("valuable"));
        // 5% of that, capped at 100.
        assert_eq!(analysis.offers.len(), 1);
        assert_eq!(analysis.offers[0].kind, "coupon");
        assert_eq!(analysis.offers[0].value, 100.0);
    }

    #[test]
    fn anger_from_the_sentiment_plugin_raises_the_stakes() {
        let calm = analyze(&complaint(2_000.0, 365, 0)).unwrap();
        let mut angry_complaint = complaint(2_000.0, 365, 0);
        angry_complaint.earlier.push(EarlierPlugin {
            plugin: "sentiment".into(),
            annotations: vec![Annotation {
                key: "anger".into(),
                value: Value::Number(1.0),
            }],
        });
        let angry = analyze(&angry_complaint).unwrap();
        assert_eq!(calm.number_value("value_at_risk"), Some(680.0));
        assert_eq!(angry.number_value("value_at_risk"), Some(1_020.0));
        assert!(angry.offers[0].value > calm.offers[0].value);
    }

    #[test]
    fn recent_goodwill_means_no_new_offer() {
        let mut generous = complaint(2_000.0, 365, 0);
        generous.customer.prior_goodwill = 500.0;
        let analysis = analyze(&generous).unwrap();
        assert!(analysis.offers.is_empty());
    }

    #[test]
    fn segments() {
        let mut key = complaint(100.0, 365, 0);
        key.customer.tier = Some("key".into());
        assert_eq!(analyze(&key).unwrap().text_value("segment"), Some("key"));
        assert_eq!(
            analyze(&complaint(50.0, 30, 0))
                .unwrap()
                .text_value("segment"),
            Some("new")
        );
        assert_eq!(
            analyze(&complaint(500.0, 400, 0))
                .unwrap()
                .text_value("segment"),
            Some("regular")
        );
        // A tiny customer gets no offer below one unit of currency.
        assert!(analyze(&complaint(10.0, 400, 0)).unwrap().offers.is_empty());
    }

    #[test]
    fn config_changes_the_offer() {
        redress_sdk::testing::set_config("kind", "points");
        redress_sdk::testing::set_config("max_offer", "20");
        let analysis = analyze(&complaint(14_600.0, 730, 0)).unwrap();
        assert_eq!(analysis.offers[0].kind, "points");
        assert_eq!(analysis.offers[0].value, 20.0);
    }

    #[test]
    fn non_finite_input_is_an_error() {
        assert!(analyze(&complaint(f64::NAN, 10, 0)).is_err());
    }
}
