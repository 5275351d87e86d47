use std::path::PathBuf;

use crate::bounds::analyze;
use crate::expr::Env;
use crate::rules::{RuleFileText, RuleSet, load_files};

fn ruleset(text: &str) -> RuleSet {
    let outcome = load_files(
        vec![RuleFileText {
            path: PathBuf::from("rules.toml"),
            text: format!("[[route]]\nname = \"all\"\nqueue = \"general\"\n{text}"),
        }],
        &Env::standard(),
    );
    assert!(outcome.ruleset.is_some(), "{:?}", outcome.diagnostics);
    outcome.ruleset.unwrap()
}

#[test]
fn a_cap_bounds_a_refund_of_the_amount() {
    let rules = ruleset(
        r#"
[[compensate]]
name = "refund"
when = 'has(amount)'
offers = [{ kind = "refund", value = "amount" }]

[[cap]]
name = "ceiling"
max_total = 200
"#,
    );
    let worst = analyze(&rules, &Env::standard());
    assert_eq!(worst.payout_overall.value, Some(200.0));
    assert!(worst.payout_overall.reached, "{worst:#?}");
}

#[test]
fn an_amount_without_a_range_is_unbounded() {
    let rules = ruleset(
        r#"
[[compensate]]
name = "refund"
when = 'has(amount)'
offers = [{ kind = "refund", value = "amount" }]
"#,
    );
    let worst = analyze(&rules, &Env::standard());
    assert_eq!(worst.payout_overall.value, None);
    assert_eq!(worst.payout_overall.grows_with, vec!["amount".to_string()]);
}

#[test]
fn a_declared_limit_refuses_a_larger_offer_naming_the_rules() {
    let rules = ruleset(
        r#"
[ruleset]
max_payout = 100

[[compensate]]
name = "big-coupon"
offers = [{ kind = "coupon", value = 150 }]

[[cap]]
name = "loose-ceiling"
max_total = 500
"#,
    );
    let worst = analyze(&rules, &Env::standard());
    assert_eq!(worst.payout_overall.value, Some(150.0));
    let errors = crate::bounds::check_limits(&worst, &rules);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let text = errors[0].one_line();
    assert!(
        text.starts_with("rules.toml:9:8: error: worst case per complaint"),
        "{text}"
    );
    assert!(
        text.contains("`big-coupon`") && text.contains("`loose-ceiling`"),
        "{text}"
    );
    assert!(text.contains("over `max_payout` = 100.00"), "{text}");
}

#[test]
fn an_unbounded_payout_under_a_limit_is_refused() {
    let rules = ruleset(
        r#"
[ruleset]
max_payout = 100

[[compensate]]
name = "refund"
offers = [{ kind = "refund", value = "amount" }]
"#,
    );
    let worst = analyze(&rules, &Env::standard());
    let errors = crate::bounds::check_limits(&worst, &rules);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("is unbounded"), "{errors:?}");
    assert!(
        errors[0]
            .help
            .as_deref()
            .unwrap_or("")
            .contains("grows with amount")
    );
}

#[test]
fn authority_bounds_per_complaint_and_per_window() {
    let rules = ruleset(
        r#"
[ruleset]
max_authority_per_window = { stamp = 100 }

[[authority]]
name = "stamp"
policy = "parking"
grant = "teller"
when = 'customer.deposits >= 100000.0'
max_cost = 5
budget = { per = "location", window = "1d", count = 50 }
"#,
    );
    let worst = analyze(&rules, &Env::standard());
    assert_eq!(worst.authority_overall.value, Some(5.0));
    assert!(worst.authority_overall.reached);
    assert_eq!(worst.grants[0].per_window, Some(250.0));
    let errors = crate::bounds::check_limits(&worst, &rules);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .message
            .contains("can spend 250.00 USD per location per"),
        "{errors:?}"
    );
}

#[test]
fn segments_follow_the_tiers_the_rules_name() {
    let rules = ruleset(
        r#"
[ruleset.ranges]
"customer.lifetime_value" = [0, 1000000]

[[compensate]]
name = "goodwill"
offers = [{ kind = "coupon", value = "customer.lifetime_value" }]

[[cap]]
name = "ordinary"
when = 'customer.tier != "key"'
max_total = 50

[[cap]]
name = "key"
when = 'customer.tier == "key"'
max_total = "min(1000.0, customer.lifetime_value * 0.02)"
"#,
    );
    let worst = analyze(&rules, &Env::standard());
    let by_segment: Vec<(&str, Option<f64>, bool)> = worst
        .payout
        .iter()
        .map(|s| (s.segment.as_str(), s.bound.value, s.bound.reached))
        .collect();
    assert_eq!(
        by_segment,
        vec![
            ("key", Some(1000.0), true),
            ("other tiers", Some(50.0), true)
        ]
    );
}

mod generated {
    use proptest::prelude::*;

    use super::*;
    use crate::decision::TraceLevel;
    use crate::engine::{Enrichment, Stateless, decide};
    use crate::event::{ComplaintEvent, Customer};
    use crate::time::Timestamp;

    const KINDS: [&str; 3] = ["refund", "coupon", "gift"];
    const CATEGORIES: [&str; 3] = ["billing", "quality", "staff"];

    fn condition() -> impl Strategy<Value = String> {
        let atom = prop_oneof![
            (0..3usize).prop_map(|c| format!("category == \"{}\"", CATEGORIES[c])),
            (0..1000u32).prop_map(|t| format!("has(amount) && amount >= {t}.0")),
            Just("customer.tier == \"key\"".to_string()),
            Just("customer.tier != \"key\"".to_string()),
            (0..20u32).prop_map(|l| format!("customer.lifetime_value < {}.0", l * 500)),
            Just("has(amount)".to_string()),
        ];
        prop_oneof![
            Just("true".to_string()),
            atom.clone(),
            (atom.clone(), atom.clone()).prop_map(|(a, b)| format!("{a} && {b}")),
            (atom.clone(), atom).prop_map(|(a, b)| format!("({a}) || ({b})")),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            (0..300u32).prop_map(|c| format!("{c}.0")),
            Just("amount".to_string()),
            (1..10u32, 1..200u32).prop_map(|(f, c)| format!("min(amount * 0.{f}, {c}.0)")),
            (1..9u32).prop_map(|f| format!("customer.lifetime_value * 0.0{f}")),
            (0..100u32).prop_map(|c| format!("has(amount) ? amount : {c}.0")),
        ]
    }

    fn cap_value() -> impl Strategy<Value = String> {
        prop_oneof![
            (0..400u32).prop_map(|c| format!("{c}.0")),
            Just("amount".to_string()),
            (1..400u32, 1..9u32).prop_map(|(c, f)| format!(
                "max(20.0, min({c}.0, customer.lifetime_value * 0.0{f}))"
            )),
        ]
    }

    fn rule_text() -> impl Strategy<Value = String> {
        let offer = (0..3usize, value())
            .prop_map(|(k, v)| format!("{{ kind = \"{}\", value = \"{v}\" }}", KINDS[k]));
        let compensation = (condition(), proptest::collection::vec(offer, 1..3));
        let cap = (
            condition(),
            proptest::option::of(cap_value()),
            proptest::option::of((0..3usize, cap_value())),
        );
        (
            proptest::collection::vec(compensation, 1..6),
            proptest::collection::vec(cap, 0..3),
        )
            .prop_map(|(compensations, caps)| {
                let mut text = String::from(
                    "[ruleset.ranges]\namount = [0, 2000]\n\"customer.lifetime_value\" = [0, 10000]\n",
                );
                for (i, (when, offers)) in compensations.iter().enumerate() {
                    text.push_str(&format!(
                        "[[compensate]]\nname = \"c{i}\"\nwhen = '{when}'\noffers = [{}]\n",
                        offers.join(", ")
                    ));
                }
                for (i, (when, total, per_kind)) in caps.iter().enumerate() {
                    text.push_str(&format!("[[cap]]\nname = \"k{i}\"\nwhen = '{when}'\n"));
                    match (total, per_kind) {
                        (None, None) => text.push_str("max_total = 100\n"),
                        (total, per_kind) => {
                            if let Some(total) = total {
                                text.push_str(&format!("max_total = \"{total}\"\n"));
                            }
                            if let Some((kind, value)) = per_kind {
                                text.push_str(&format!(
                                    "per_kind = {{ {} = \"{value}\" }}\n",
                                    KINDS[*kind]
                                ));
                            }
                        }
                    }
                }
                text
            })
    }

    fn event() -> impl Strategy<Value = ComplaintEvent> {
        (
            proptest::option::of(0..4usize),
            proptest::option::of(0.0..=2000.0f64),
            proptest::option::of(prop_oneof![Just("key"), Just("ordinary")]),
            0.0..=10000.0f64,
        )
            .prop_map(|(category, amount, tier, lifetime_value)| {
                let mut event = ComplaintEvent::received("generated", Timestamp(0));
                event.category =
                    category.map(|c| CATEGORIES.get(c).copied().unwrap_or("other").to_string());
                event.amount = amount.map(|a| (a * 100.0).round() / 100.0);
                event.customer = Customer {
                    tier: tier.map(str::to_string),
                    lifetime_value,
                    ..Customer::default()
                };
                event
            })
    }

    proptest! {
        /// No decided total exceeds its bound; every finite bound has a
        /// witness that is a valid event and decides to the bound.
        #[test]
        fn decisions_never_exceed_the_bound(
            rules in rule_text(),
            events in proptest::collection::vec(event(), 24),
        ) {
            let rules = ruleset(&rules);
            let worst = analyze(&rules, &Env::standard());
            // Each cap's limit may be a fraction of a cent: rounding each
            // offer to the cent can pass it by under a cent per cap.
            let slack = 0.01 * (rules.caps.len() as f64 + 1.0);
            let bound = worst.payout_overall.value.unwrap_or(f64::INFINITY);
            for event in &events {
                let decision = decide(&rules, event, &Enrichment::none(), &Stateless, TraceLevel::None);
                let total: f64 = decision.offers.iter().map(|o| o.value).sum();
                prop_assert!(total <= bound + slack, "decided {total} > bound {bound} for {event:?}");
                for (kind, kind_bound) in &worst.payout_per_kind {
                    let value: f64 = decision.offers.iter().filter(|o| o.kind == *kind).map(|o| o.value).sum();
                    let kind_bound = kind_bound.value.unwrap_or(f64::INFINITY);
                    prop_assert!(value <= kind_bound + slack, "{kind}: decided {value} > bound {kind_bound}");
                }
            }
            for segment in &worst.payout {
                let witness = segment.bound.witness.as_ref().expect("a witness");
                prop_assert!(witness.event.validate().is_ok());
                if let Some(value) = segment.bound.value {
                    prop_assert!(witness.decides_to <= value + slack);
                    prop_assert!(segment.bound.reached, "{}: bound {value}, witness {}", segment.segment, witness.decides_to);
                }
            }
        }
    }
}
