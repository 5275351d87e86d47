//! The whole pipeline in one process, without HTTP: the 1 KB complaint's
//! JSON bytes in, the decision's JSON bytes out, through the three example
//! plugins and the default rules. Run with
//! `cargo bench -p redress --bench pipeline`.

// Benchmark setup: a failed expect is a broken benchmark.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use redress::decision::TraceLevel;
use redress::engine::{Stateless, decide};
use redress::event::ComplaintEvent;
use redress::plugin::{PluginRuntime, RuntimeOptions, load_plugins};
use redress::rules::load_dir;

fn pipeline(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bytes = std::fs::read(root.join("docs/examples/long-complaint-1kb.json"))
        .expect("the 1 KB example exists");
    let runtime = PluginRuntime::new(&RuntimeOptions::default()).expect("plugin runtime");
    let plugins = load_plugins(&root.join("plugins"), &runtime, None)
        .set
        .expect("the example plugins load");
    let ruleset = load_dir(&root.join("rules"), &plugins.env())
        .ruleset
        .expect("the default rules load");
    let stubs = Default::default();
    let mut group = c.benchmark_group("pipeline_1kb");
    group.throughput(Throughput::Elements(1));
    for (name, level) in [
        ("no_trace", TraceLevel::None),
        ("compact_trace", TraceLevel::Compact),
    ] {
        group.bench_function(BenchmarkId::new("json_to_json", name), |b| {
            b.iter(|| {
                let event = ComplaintEvent::from_json(&bytes).expect("parses");
                let enrichment = plugins.enrich(&event, &stubs).expect("the plugins run");
                let decision = decide(&ruleset, &event, &enrichment, &Stateless, level);
                black_box(decision.to_json().expect("serializes"))
            })
        });
    }
    // The stages alone, to see where the time goes.
    let event = ComplaintEvent::from_json(&bytes).expect("parses");
    let enrichment = plugins.enrich(&event, &stubs).expect("the plugins run");
    let decision = decide(&ruleset, &event, &enrichment, &Stateless, TraceLevel::None);
    group.bench_function("stage/parse_json", |b| {
        b.iter(|| ComplaintEvent::from_json(&bytes).expect("parses"))
    });
    group.bench_function("stage/three_plugins", |b| {
        b.iter(|| plugins.enrich(&event, &stubs).expect("the plugins run"))
    });
    group.bench_function("stage/rules", |b| {
        b.iter(|| decide(&ruleset, &event, &enrichment, &Stateless, TraceLevel::None))
    });
    group.bench_function("stage/serialize_decision", |b| {
        b.iter(|| decision.to_json().expect("serializes"))
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
