//! The rules stage: one complaint through a compiled rule set, JSON parsing
//! excluded. Run with `cargo bench -p redress --bench rules`.

// Benchmark setup: a failed expect is a broken benchmark.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use redress::bounds::analyze;
use redress::decision::TraceLevel;
use redress::engine::{Enrichment, Stateless, decide};
use redress::event::ComplaintEvent;
use redress::expr::{Env, Expect, Expression, Facts};
use redress::plugin::{PluginRuntime, RuntimeOptions, load_plugins};
use redress::rules::{RuleFileText, RuleSet, load_dir, load_files};

/// The default rules, checked against the example plugins, and the
/// plugins' outputs for `event` (computed once: this bench times the
/// rules stage only).
fn default_ruleset(event: &ComplaintEvent) -> (RuleSet, Enrichment) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let runtime = PluginRuntime::new(&RuntimeOptions::default()).expect("plugin runtime");
    let plugins = load_plugins(&root.join("plugins"), &runtime, None)
        .set
        .expect("the example plugins load");
    let outcome = load_dir(&root.join("rules"), &plugins.env());
    let enrichment = plugins
        .enrich(event, &Default::default())
        .expect("the plugins run");
    (outcome.ruleset.expect("the default rules load"), enrichment)
}

/// A rule set of `n` rules shaped like a large operator's: most rules key on
/// a category and a product line (indexable); one in twenty is a free-form
/// condition evaluated for every event.
pub fn generated_ruleset(n: usize) -> RuleSet {
    let mut text = String::new();
    let kinds = ["route", "escalate", "compensate"];
    for i in 0..n {
        let kind = kinds[i % kinds.len()];
        let condition = if i % 20 == 19 {
            format!(
                "amount > {}.0 && (customer.tier == \"key\" || customer.lifetime_value > {}.0)",
                1000 + i,
                50000 + i
            )
        } else {
            format!(
                "category == \"c{}\" && product_line == \"p{}\" && amount > {}.0",
                i % 5,
                i,
                i % 100
            )
        };
        text.push_str(&format!(
            "[[{kind}]]\nname = \"r{i}\"\nwhen = '{condition}'\n"
        ));
        match kind {
            "route" => text.push_str(&format!("queue = \"q{i}\"\n\n")),
            "escalate" => text.push_str("to = \"supervisor\"\n\n"),
            _ => text.push_str("offers = [{ kind = \"coupon\", value = 5 }]\n\n"),
        }
    }
    text.push_str("[[route]]\nname = \"fallback\"\nqueue = \"care\"\n\n[[cap]]\nname = \"cap\"\nmax_total = 100\n");
    let outcome = load_files(
        vec![RuleFileText {
            path: PathBuf::from("generated.toml"),
            text,
        }],
        &Env::standard(),
    );
    outcome.ruleset.expect("the generated rules load")
}

fn event() -> ComplaintEvent {
    ComplaintEvent::from_json(
        br#"{"id": "bench-1", "received_at": "2026-11-20T09:15:00Z", "channel": "phone", "location": "branch-9",
            "text": "The left earbud stopped working after two days and nobody answered my e-mail.",
            "category": "product_quality", "product_line": "p42", "amount": 120,
            "customer": {"id": "k-1", "tier": "ordinary", "lifetime_value": 6000, "deposits": 250000, "tenure_days": 900, "prior_complaints": 1}}"#,
    )
    .expect("the bench event parses")
}

fn rules_stage(c: &mut Criterion) {
    let event = event();
    let mut group = c.benchmark_group("rules_stage");
    group.throughput(Throughput::Elements(1));
    let (default, enrichment) = default_ruleset(&event);
    for (name, level) in [
        ("no_trace", TraceLevel::None),
        ("compact_trace", TraceLevel::Compact),
    ] {
        group.bench_function(BenchmarkId::new("default_set", name), |b| {
            b.iter(|| decide(&default, &event, &enrichment, &Stateless, level))
        });
    }
    for n in [10, 100, 1_000, 10_000] {
        let ruleset = generated_ruleset(n);
        group.bench_function(BenchmarkId::new("generated_no_trace", n), |b| {
            b.iter(|| {
                decide(
                    &ruleset,
                    &event,
                    &Enrichment::none(),
                    &Stateless,
                    TraceLevel::None,
                )
            })
        });
    }
    group.finish();
}

fn conditions(c: &mut Criterion) {
    let event = event();
    let facts = Facts::of_event(&event);
    let env = Env::standard();
    let four_clauses = r#"customer.tier == "key" || customer.deposits >= 1000000.0 || (category == "product_quality" && amount > 100.0)"#;
    let mut group = c.benchmark_group("condition");
    group.bench_function("compile_4_clauses", |b| {
        b.iter(|| Expression::compile(four_clauses, &env, Expect::Bool))
    });
    let compiled = Expression::compile(four_clauses, &env, Expect::Bool).expect("compiles");
    group.bench_function("evaluate_4_clauses", |b| b.iter(|| compiled.test(&facts)));
    let text = Expression::compile(r#"text.contains("nobody answered")"#, &env, Expect::Bool)
        .expect("compiles");
    group.bench_function("evaluate_text_contains", |b| b.iter(|| text.test(&facts)));
    group.finish();
}

fn parse_event(c: &mut Criterion) {
    let bytes = serde_json::to_vec(&event()).expect("serializes");
    c.bench_function("event_from_json", |b| {
        b.iter(|| ComplaintEvent::from_json(&bytes))
    });
}

/// The worst-case analysis `redress check` runs on every load: the
/// default rules (with the example plugins' outputs and proposals) and a
/// generated 1,000-rule set.
fn worst_case(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let runtime = PluginRuntime::new(&RuntimeOptions::default()).expect("plugin runtime");
    let plugins = load_plugins(&root.join("plugins"), &runtime, None)
        .set
        .expect("the example plugins load");
    let env = plugins.env();
    let default = load_dir(&root.join("rules"), &env)
        .ruleset
        .expect("the default rules load");
    let mut group = c.benchmark_group("worst_case");
    group.sample_size(10);
    group.bench_function("default_set", |b| b.iter(|| analyze(&default, &env)));
    let generated = generated_ruleset(1_000);
    let standard = Env::standard();
    group.bench_function(BenchmarkId::new("generated", 1_000), |b| {
        b.iter(|| analyze(&generated, &standard))
    });
    group.finish();
}

criterion_group!(benches, rules_stage, conditions, parse_event, worst_case);
criterion_main!(benches);
