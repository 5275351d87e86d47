//! The compared implementations do the same work: the same decisions from
//! Redress and ZEN, the same valuations from the component and the core
//! module.

use redress::decision::TraceLevel;
use redress::engine::{Enrichment, Stateless, decide};
use redress_compare::{
    CoreGoodwill, event, events, redress_outcome, redress_ruleset, zen_decision, zen_evaluate,
    zen_outcome,
};

#[test]
fn redress_and_zen_decide_the_same() {
    let ruleset = redress_ruleset();
    let zen = zen_decision();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut queues = std::collections::BTreeSet::new();
    let mut kinds = std::collections::BTreeSet::new();
    for value in events() {
        let ours = redress_outcome(&decide(
            &ruleset,
            &event(&value),
            &Enrichment::none(),
            &Stateless,
            TraceLevel::None,
        ));
        let theirs = zen_evaluate(&zen, &runtime, value.clone().into());
        let theirs = zen_outcome(&theirs.to_value());
        assert_eq!(ours, theirs, "event {value}");
        queues.insert(ours.queue);
        kinds.extend(ours.offers.into_iter().map(|(kind, _)| kind));
    }
    // Every route and every kind of offer was exercised.
    assert_eq!(queues.len(), 9, "{queues:?}");
    assert_eq!(kinds.len(), 5, "{kinds:?}");
}

#[test]
fn the_core_module_values_customers_like_the_goodwill_plugin() {
    let mut core = CoreGoodwill::new();
    for (lifetime_value, tenure_days, prior) in [
        (800.0, 400, 0),
        (250_000.0, 3000, 1),
        (12_000.0, 1200, 4),
        (90.0, 20, 3),
    ] {
        let mut complaint = redress_sdk::Complaint::from_text("");
        complaint.customer.lifetime_value = lifetime_value;
        complaint.customer.tenure_days = tenure_days;
        complaint.customer.prior_complaints = prior;
        let native = goodwill::value(&complaint.customer, 0.0);
        let json = serde_json::json!({
            "id": "x", "text": "broken",
            "customer": {"lifetime_value": lifetime_value, "tenure_days": tenure_days, "prior_complaints": prior}
        });
        let answer: serde_json::Value =
            serde_json::from_slice(&core.call_json(&serde_json::to_vec(&json).unwrap())).unwrap();
        let cents = |x: f64| ((x * 100.0) + 0.5) as i64 as f64 / 100.0;
        assert_eq!(
            answer["value_at_risk"].as_f64(),
            Some(cents(native.value_at_risk))
        );
        assert_eq!(answer["segment"].as_str(), Some(native.segment));
        assert_eq!(
            core.call_scalars(lifetime_value, tenure_days, prior),
            cents(native.value_at_risk)
        );
    }
}
