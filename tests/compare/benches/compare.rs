//! Redress side by side with what a user would use instead, on the same
//! work, in one run:
//!
//! - `decision`: the rule set in `decision/` (9 routes, 5 compensation
//!   rules) decided by Redress and by GoRules ZEN, over 72 events;
//! - `condition`: one 4-clause condition compiled to closures by Redress
//!   and interpreted by the `cel` crate;
//! - `plugin_goodwill`: the goodwill plugin through Redress's
//!   component-model host, and its arithmetic as a plain core module taking
//!   JSON (the Extism style) and taking three numbers.
//!
//! Run with `cargo bench --manifest-path tests/compare/Cargo.toml`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use redress::decision::TraceLevel;
use redress::engine::{Enrichment, Stateless, decide};
use redress::event::ComplaintEvent;
use redress::expr::{Env, Expect, Expression, Facts};
use redress::plugin::{PluginRuntime, RuntimeOptions, load_one};
use redress_compare::{CoreGoodwill, event, events, redress_ruleset, root, zen_decision};

fn decision(c: &mut Criterion) {
    let values = events();
    let parsed: Vec<ComplaintEvent> = values.iter().map(event).collect();
    let bytes: Vec<Vec<u8>> = values
        .iter()
        .map(|v| serde_json::to_vec(v).unwrap())
        .collect();
    let ruleset = redress_ruleset();
    let zen = zen_decision();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("decision");
    group.throughput(Throughput::Elements(values.len() as u64));
    group.bench_function("redress", |b| {
        b.iter(|| {
            for event in &parsed {
                black_box(decide(
                    &ruleset,
                    event,
                    &Enrichment::none(),
                    &Stateless,
                    TraceLevel::None,
                ));
            }
        })
    });
    group.bench_function("zen", |b| {
        b.iter(|| {
            for value in &values {
                let input = zen_engine::Variable::from(value.clone());
                black_box(runtime.block_on(zen.evaluate(input)).unwrap());
            }
        })
    });
    group.bench_function("zen_input_only", |b| {
        b.iter(|| {
            for value in &values {
                black_box(zen_engine::Variable::from(value.clone()));
            }
        })
    });
    group.bench_function("redress_json_to_json", |b| {
        b.iter(|| {
            for bytes in &bytes {
                let event = ComplaintEvent::from_json(bytes).unwrap();
                let decision = decide(
                    &ruleset,
                    &event,
                    &Enrichment::none(),
                    &Stateless,
                    TraceLevel::None,
                );
                black_box(serde_json::to_vec(&decision).unwrap());
            }
        })
    });
    group.bench_function("zen_json_to_json", |b| {
        b.iter(|| {
            for bytes in &bytes {
                let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                let response = runtime
                    .block_on(zen.evaluate(zen_engine::Variable::from(value)))
                    .unwrap();
                black_box(serde_json::to_vec(&response.result.to_value()).unwrap());
            }
        })
    });
    group.finish();
}

const FOUR_CLAUSES: &str = r#"customer.tier == "key" || customer.deposits >= 1000000.0 || (category == "product_quality" && amount > 100.0)"#;

fn cel_context(event: &ComplaintEvent) -> cel::Context<'static, 'static> {
    let mut context = cel::Context::default();
    add_cel_variables(&mut context, event);
    context
}

/// The event's variables, as a cel program reads them.
fn add_cel_variables(context: &mut cel::Context<'_, '_>, event: &ComplaintEvent) {
    let mut customer: HashMap<String, cel::Value> = HashMap::new();
    customer.insert(
        "tier".to_string(),
        event.customer.tier.clone().unwrap_or_default().into(),
    );
    customer.insert("deposits".to_string(), event.customer.deposits.into());
    context.add_variable_from_value("customer", customer);
    context.add_variable_from_value("category", event.category.clone().unwrap_or_default());
    context.add_variable_from_value("amount", event.amount.unwrap_or_default());
}

fn condition(c: &mut Criterion) {
    let values = events();
    let parsed: Vec<ComplaintEvent> = values.iter().map(event).collect();
    let env = Env::standard();
    let ours = Expression::compile(FOUR_CLAUSES, &env, Expect::Bool).expect("compiles");
    let theirs = cel::Program::compile(FOUR_CLAUSES).expect("cel parses");
    // Both must agree before their speed means anything.
    for event in &parsed {
        let expected = ours.test(&Facts::of_event(event));
        let got = theirs.execute(&cel_context(event)).expect("cel evaluates");
        assert_eq!(Some(got), expected.map(cel::Value::Bool), "{event:?}");
    }
    let mut group = c.benchmark_group("condition");
    group.bench_function("redress_compile", |b| {
        b.iter(|| Expression::compile(FOUR_CLAUSES, &env, Expect::Bool))
    });
    group.bench_function("cel_parse", |b| {
        b.iter(|| cel::Program::compile(FOUR_CLAUSES))
    });
    group.throughput(Throughput::Elements(parsed.len() as u64));
    let facts: Vec<Facts> = parsed.iter().map(Facts::of_event).collect();
    group.bench_function("redress_evaluate", |b| {
        b.iter(|| {
            for facts in &facts {
                black_box(ours.test(facts));
            }
        })
    });
    let contexts: Vec<cel::Context> = parsed.iter().map(cel_context).collect();
    group.bench_function("cel_evaluate", |b| {
        b.iter(|| {
            for context in &contexts {
                black_box(theirs.execute(context).unwrap());
            }
        })
    });
    group.bench_function("redress_facts_and_evaluate", |b| {
        b.iter(|| {
            for event in &parsed {
                black_box(ours.test(&Facts::of_event(event)));
            }
        })
    });
    group.bench_function("cel_context_and_evaluate", |b| {
        b.iter(|| {
            for event in &parsed {
                black_box(theirs.execute(&cel_context(event)).unwrap());
            }
        })
    });
    // `Context::default()` registers cel's standard functions; a caller
    // that knows this shares one root and adds each event's variables in an
    // inner scope.
    let root = cel::Context::default();
    group.bench_function("cel_inner_scope_and_evaluate", |b| {
        b.iter(|| {
            for event in &parsed {
                let mut scope = root.new_inner_scope();
                add_cel_variables(&mut scope, event);
                black_box(theirs.execute(&scope).unwrap());
            }
        })
    });
    group.finish();
}

fn plugin_goodwill(c: &mut Criterion) {
    let bytes =
        std::fs::read(root().join("docs/examples/long-complaint-1kb.json")).expect("1 KB example");
    let event = ComplaintEvent::from_json(&bytes).expect("parses");
    let input = redress::plugin::complaint(&event);
    let runtime = PluginRuntime::new(&RuntimeOptions::default()).expect("runtime");
    let plugin = load_one(&root().join("plugins/goodwill.toml"), &runtime, None)
        .expect("the goodwill plugin loads (build the workspace first)");
    let mut core = CoreGoodwill::new();
    let mut group = c.benchmark_group("plugin_goodwill");
    group.bench_function("component_typed", |b| {
        b.iter(|| plugin.call(&input).0.expect("the call succeeds"))
    });
    group.bench_function("core_module_json", |b| {
        b.iter(|| black_box(core.call_json(&bytes)))
    });
    let customer = &event.customer;
    let (ltv, tenure, prior) = (
        customer.lifetime_value,
        customer.tenure_days,
        customer.prior_complaints,
    );
    group.bench_function("core_module_scalars", |b| {
        b.iter(|| black_box(core.call_scalars(ltv, tenure, prior)))
    });
    group.finish();
}

criterion_group!(benches, decision, condition, plugin_goodwill);
criterion_main!(benches);
