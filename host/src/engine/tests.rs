//! The rules stage end to end on small rule sets.

use std::cell::Cell;
use std::path::PathBuf;

use super::*;
use crate::decision::Name;
use crate::expr::{CustomerHistory, Env};
use crate::rules::{RuleFileText, load_files};
use crate::time::Duration;

fn ruleset(text: &str) -> RuleSet {
    let outcome = load_files(
        vec![RuleFileText {
            path: PathBuf::from("rules/test.toml"),
            text: text.to_string(),
        }],
        &Env::standard(),
    );
    assert!(!outcome.has_errors(), "{:#?}", outcome.diagnostics);
    outcome.ruleset.unwrap()
}

fn event(json: &str) -> ComplaintEvent {
    ComplaintEvent::from_json(json.as_bytes()).unwrap()
}

const RULES: &str = r#"
[[route]]
name = "key-accounts"
when = 'customer.tier == "key" || customer.deposits >= 1000000.0'
queue = "key-accounts"
handler = "manager"
flags = ["vip"]

[[route]]
name = "fallback"
queue = "customer-care"

[[escalate]]
name = "big-money"
when = 'amount >= 500.0'
to = "supervisor"

[[escalate]]
name = "key-customer"
when = 'customer.tier == "key"'
to = "manager"
notify = ["account-team"]

[[sla]]
name = "standard"
first_response = "24h"
resolve = "3d"
follow_up = "7d"
on_breach = { escalate = "supervisor" }

[[compensate]]
name = "refund-defects"
when = 'category == "product_quality"'
offers = [
  { kind = "apology" },
  { kind = "replacement", note = "a new unit, never the returned one", within = "8h" },
  { kind = "refund", value = "amount" },
]

[[cap]]
name = "ordinary-ceiling"
when = 'customer.tier != "key"'
max_total = 100

[[authority]]
name = "parking-stamp"
policy = "parking-validation"
grant = "teller"
when = 'customer.deposits >= 100000.0'
max_cost = 5
budget = { per = "location", window = "1d", count = 2 }

[[control_line]]
name = "quality"
when = 'category == "product_quality"'
group_by = ["product_line"]
window = "30d"
limit = 5
then = { notify = ["product-department"], escalate = "manager" }
"#;

#[test]
fn a_decision_collects_every_kind() {
    let rules = ruleset(RULES);
    let event = event(
        r#"{"id": "c-1", "received_at": "2026-11-20T10:00:00Z", "category": "product_quality",
        "amount": 600, "product_line": "tv", "location": "branch-1",
        "customer": {"tier": "ordinary", "deposits": 4200000}}"#,
    );
    let decision = decide(
        &rules,
        &event,
        &Enrichment::none(),
        &Stateless,
        TraceLevel::Compact,
    );
    assert_eq!(&*decision.route.queue, "key-accounts");
    assert_eq!(decision.route.handler.as_deref(), Some("manager"));
    assert_eq!(decision.flags, vec![Name::from("vip")]);
    assert_eq!(decision.escalation_level.as_deref(), Some("supervisor"));
    let sla = decision.sla.as_ref().unwrap();
    assert_eq!(
        sla.first_response_due.unwrap().to_rfc3339(),
        "2026-11-21T10:00:00Z"
    );
    assert_eq!(sla.follow_up_after, Some("7d".parse().unwrap()));
    // Refund of 600 capped to the ceiling of 100.
    let kinds: Vec<(&str, f64)> = decision
        .offers
        .iter()
        .map(|o| (&*o.kind, o.value))
        .collect();
    assert_eq!(
        kinds,
        vec![("apology", 0.0), ("replacement", 0.0), ("refund", 100.0)]
    );
    assert_eq!(decision.offers[2].capped.as_ref().unwrap().from, 600.0);
    assert_eq!(
        decision.offers[1].due.unwrap().to_rfc3339(),
        "2026-11-20T18:00:00Z"
    );
    assert_eq!(&*decision.authority[0].policy, "parking-validation");
    assert_eq!(
        decision.authority[0]
            .budget
            .as_ref()
            .unwrap()
            .status
            .as_str(),
        "unchecked"
    );
    assert_eq!(decision.control_lines[0].status.as_str(), "not_evaluated");
    let route_trace = decision
        .trace
        .iter()
        .find(|t| &*t.rule == "key-accounts")
        .unwrap();
    assert!(route_trace.matched);
    assert_eq!(
        route_trace.inputs["customer.deposits"],
        serde_json::json!(4200000.0)
    );
}

#[test]
fn same_input_same_bytes() {
    let rules = ruleset(RULES);
    let event = event(
        r#"{"id": "c-2", "received_at": "2026-11-20T10:00:00Z", "category": "product_quality", "amount": 50}"#,
    );
    let a = serde_json::to_vec(&decide(
        &rules,
        &event,
        &Enrichment::none(),
        &Stateless,
        TraceLevel::Full,
    ))
    .unwrap();
    let b = serde_json::to_vec(&decide(
        &rules,
        &event,
        &Enrichment::none(),
        &Stateless,
        TraceLevel::Full,
    ))
    .unwrap();
    assert_eq!(a, b);
}

#[test]
fn plugin_proposals_pass_through_caps_only() {
    let rules = ruleset(RULES);
    let mut enrichment = Enrichment::none();
    enrichment.proposals.push(Proposal {
        plugin: "goodwill".into(),
        source: "plugin:goodwill".into(),
        kind: "coupon".into(),
        value: 250.0,
        note: None,
    });
    // Ordinary customer: the 100 ceiling applies, the coupon is cut.
    let ordinary = event(r#"{"id": "c-3", "received_at": "2026-11-20T10:00:00Z"}"#);
    let decision = decide(
        &rules,
        &ordinary,
        &enrichment,
        &Stateless,
        TraceLevel::Compact,
    );
    assert_eq!(decision.offers.len(), 1);
    assert_eq!(decision.offers[0].value, 100.0);
    assert_eq!(&*decision.offers[0].source, "plugin:goodwill");
    // Key customer: no cap matches, so the plugin may not give anything.
    let key = event(
        r#"{"id": "c-4", "received_at": "2026-11-20T10:00:00Z", "customer": {"tier": "key"}}"#,
    );
    let decision = decide(&rules, &key, &enrichment, &Stateless, TraceLevel::Compact);
    assert!(decision.offers.is_empty());
    assert!(decision.trace.iter().any(|t| {
        t.note
            .as_deref()
            .is_some_and(|n| n.contains("no cap applies"))
    }));
}

/// A store double: fixed counts.
struct Counts {
    control: i64,
    budget: BudgetUse,
    asked: Cell<u32>,
}

impl StateView for Counts {
    fn history(&self, _: &ComplaintEvent, _: &str) -> Option<CustomerHistory> {
        Some(CustomerHistory {
            open_cases: 2,
            complaints_30d: 3,
            goodwill_365d: 0.0,
        })
    }

    fn control_line_count(
        &self,
        _: &str,
        group: &crate::engine::Group,
        window: Duration,
        _: Timestamp,
    ) -> Option<i64> {
        assert_eq!(group.values().collect::<Vec<_>>(), ["tv"]);
        assert_eq!(window, "30d".parse().unwrap());
        self.asked.set(self.asked.get() + 1);
        Some(self.control)
    }

    fn budget_use(&self, _: &str, scope: &str, _: Duration, _: Timestamp) -> Option<BudgetUse> {
        assert_eq!(scope, "location:branch-1");
        Some(self.budget)
    }
}

#[test]
fn control_line_flags_the_sixth_not_the_fifth() {
    let rules = ruleset(RULES);
    let event = event(
        r#"{"id": "c-5", "received_at": "2026-11-20T10:00:00Z", "category": "product_quality", "product_line": "tv", "location": "branch-1"}"#,
    );
    let fifth = Counts {
        control: 4,
        budget: BudgetUse::default(),
        asked: Cell::new(0),
    };
    let decision = decide(
        &rules,
        &event,
        &Enrichment::none(),
        &fifth,
        TraceLevel::Compact,
    );
    assert_eq!(decision.control_lines[0].status.as_str(), "within");
    assert!(
        !decision
            .flags
            .contains(&Name::from("control_line_exceeded"))
    );
    let sixth = Counts {
        control: 5,
        ..fifth
    };
    let decision = decide(
        &rules,
        &event,
        &Enrichment::none(),
        &sixth,
        TraceLevel::Compact,
    );
    assert_eq!(decision.control_lines[0].status.as_str(), "crossed");
    assert_eq!(decision.control_lines[0].count, Some(6));
    assert!(
        decision
            .flags
            .contains(&Name::from("control_line_exceeded"))
    );
    assert_eq!(decision.notify, vec![Name::from("product-department")]);
    assert_eq!(decision.escalation_level.as_deref(), Some("manager"));
}

#[test]
fn exhausted_budget_withholds_the_grant_and_says_why() {
    let rules = ruleset(RULES);
    let event = event(
        r#"{"id": "c-6", "received_at": "2026-11-20T10:00:00Z", "location": "branch-1", "customer": {"deposits": 200000}}"#,
    );
    let spent = Counts {
        control: 0,
        budget: BudgetUse {
            count: 2,
            amount: 10.0,
        },
        asked: Cell::new(0),
    };
    let decision = decide(
        &rules,
        &event,
        &Enrichment::none(),
        &spent,
        TraceLevel::Compact,
    );
    assert!(decision.authority.is_empty());
    let entry = decision
        .trace
        .iter()
        .find(|t| &*t.rule == "parking-stamp")
        .unwrap();
    assert!(
        entry
            .note
            .as_deref()
            .unwrap()
            .contains("budget for location:branch-1 used up"),
        "{entry:?}"
    );
    let room = Counts {
        control: 0,
        budget: BudgetUse {
            count: 1,
            amount: 5.0,
        },
        asked: Cell::new(0),
    };
    let decision = decide(
        &rules,
        &event,
        &Enrichment::none(),
        &room,
        TraceLevel::Compact,
    );
    assert_eq!(
        decision.authority[0]
            .budget
            .as_ref()
            .unwrap()
            .status
            .as_str(),
        "within"
    );
}

#[test]
fn full_trace_lists_rules_not_reached() {
    let rules = ruleset(RULES);
    let event = event(r#"{"id": "c-7", "customer": {"tier": "key"}}"#);
    let decision = decide(
        &rules,
        &event,
        &Enrichment::none(),
        &Stateless,
        TraceLevel::Full,
    );
    let fallback = decision
        .trace
        .iter()
        .find(|t| &*t.rule == "fallback")
        .unwrap();
    assert!(
        fallback
            .note
            .as_deref()
            .unwrap()
            .contains("an earlier route rule matched")
    );
}

#[test]
fn a_named_condition_decides_like_its_text_and_shows_in_the_trace_by_name() {
    let named = ruleset(
        r#"
[conditions]
key_account = 'customer.tier == "key" || customer.deposits >= 1000000.0'

[[route]]
name = "key"
when = 'key_account && channel == "store"'
queue = "key-accounts"

[[route]]
name = "fallback"
queue = "care"
"#,
    );
    let written_out = ruleset(
        r#"
[[route]]
name = "key"
when = '(customer.tier == "key" || customer.deposits >= 1000000.0) && channel == "store"'
queue = "key-accounts"

[[route]]
name = "fallback"
queue = "care"
"#,
    );
    for json in [
        r#"{"id": "1", "channel": "store", "customer": {"tier": "key"}}"#,
        r#"{"id": "2", "channel": "store", "customer": {"deposits": 2000000}}"#,
        r#"{"id": "3", "channel": "web", "customer": {"tier": "key"}}"#,
        r#"{"id": "4", "channel": "store"}"#,
    ] {
        let event = event(json);
        let decide_with = |rules: &RuleSet| {
            decide(
                rules,
                &event,
                &Enrichment::none(),
                &Stateless,
                TraceLevel::Full,
            )
        };
        let (a, b) = (decide_with(&named), decide_with(&written_out));
        assert_eq!(a.route, b.route, "{json}");
    }
    let event = event(r#"{"id": "5", "channel": "store", "customer": {"deposits": 2000000}}"#);
    let decision = decide(
        &named,
        &event,
        &Enrichment::none(),
        &Stateless,
        TraceLevel::Full,
    );
    let entry = decision.trace.iter().find(|t| &*t.rule == "key").unwrap();
    assert!(entry.matched);
    assert_eq!(entry.inputs["key_account"], serde_json::json!(true));
    assert_eq!(
        entry.inputs["customer.deposits"],
        serde_json::json!(2000000.0)
    );
    assert_eq!(entry.inputs["channel"], serde_json::json!("store"));
}

#[test]
fn an_offer_a_cap_removes_is_kept_in_view_with_the_cap() {
    let rules = ruleset(
        r#"
[[route]]
name = "everything"
queue = "care"

[[compensate]]
name = "three-offers"
offers = [
  { kind = "coupon", value = 30 },
  { kind = "refund", value = 50 },
  { kind = "gift", value = 20 },
]

[[cap]]
name = "ceiling"
max_total = 40
"#,
    );
    let complaint = event(r#"{"id": "c-9", "received_at": "2026-11-20T10:00:00Z"}"#);
    let decision = decide(
        &rules,
        &complaint,
        &Enrichment::none(),
        &Stateless,
        TraceLevel::Compact,
    );
    let kept: Vec<(&str, f64)> = decision
        .offers
        .iter()
        .map(|o| (&*o.kind, o.value))
        .collect();
    assert_eq!(kept, [("coupon", 30.0), ("refund", 10.0)]);
    assert_eq!(decision.removed_offers.len(), 1);
    let removed = &decision.removed_offers[0];
    assert_eq!((&*removed.kind, removed.value), ("gift", 0.0));
    assert_eq!(
        removed.capped,
        Some(crate::decision::Capped {
            from: 20.0,
            by: "ceiling".into()
        })
    );
    let text = crate::explain::explain(&decision, &rules);
    assert!(
        text.contains(
            "Offers removed by caps:\n  - gift worth 20 USD from three-offers: nothing was left of cap `ceiling` (rules/test.toml:15)\n"
        ),
        "{text}"
    );
    // Nothing removed, nothing written: decisions without it keep their bytes.
    let json = serde_json::to_string(&decide(
        &ruleset(RULES),
        &complaint,
        &Enrichment::none(),
        &Stateless,
        TraceLevel::Compact,
    ))
    .unwrap();
    assert!(!json.contains("removed_offers"), "{json}");
}

#[test]
fn plugins_see_the_amount_in_the_rule_sets_currency() {
    let rules = ruleset(
        r#"
[ruleset]
currency = "USD"
rates = { CNY = 0.14 }

[[route]]
name = "everything"
queue = "care"
"#,
    );
    let yuan = event(r#"{"id": "c-1", "amount": 299.0, "currency": "CNY"}"#);
    let seen = as_plugins_see(&rules.settings, &yuan);
    assert_eq!(
        (seen.amount, seen.currency.as_deref()),
        (Some(41.86), Some("USD"))
    );
    let dollars = event(r#"{"id": "c-2", "amount": 10.0, "currency": "USD"}"#);
    assert!(matches!(
        as_plugins_see(&rules.settings, &dollars),
        std::borrow::Cow::Borrowed(_)
    ));
}
