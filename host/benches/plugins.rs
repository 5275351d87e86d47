//! Plugin calls on a 1 KB complaint: a warm instance, a fresh instance per
//! call, and the same logic compiled natively. Run with
//! `cargo bench -p redress --bench plugins`.

// Benchmark setup: a failed expect is a broken benchmark.
#![allow(clippy::expect_used)]

use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use redress::event::ComplaintEvent;
use redress::plugin::{PluginRuntime, RuntimeOptions, load_one};

fn complaint_1kb() -> ComplaintEvent {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/long-complaint-1kb.json");
    ComplaintEvent::from_json(&std::fs::read(path).expect("the 1 KB example exists"))
        .expect("it parses")
}

/// The same complaint as the SDK's native type.
fn native_complaint(event: &ComplaintEvent) -> redress_sdk::Complaint {
    let mut complaint = redress_sdk::Complaint::from_text(&event.text);
    complaint.customer.lifetime_value = event.customer.lifetime_value;
    complaint.customer.tenure_days = event.customer.tenure_days;
    complaint.customer.prior_complaints = event.customer.prior_complaints;
    complaint
}

fn plugins(c: &mut Criterion) {
    let event = complaint_1kb();
    let input = redress::plugin::complaint(&event);
    let runtime = PluginRuntime::new(&RuntimeOptions::default()).expect("runtime");
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    let native = native_complaint(&event);
    let mut group = c.benchmark_group("plugin_call_1kb");
    for name in ["sentiment", "classify", "goodwill"] {
        let plugin = load_one(&directory.join(format!("{name}.toml")), &runtime, None)
            .expect("the example plugin loads");
        group.bench_function(BenchmarkId::new("warm", name), |b| {
            b.iter(|| plugin.call(&input).0.expect("the call succeeds"))
        });
        let manifest =
            std::fs::read_to_string(directory.join(format!("{name}.toml"))).expect("manifest");
        let scratch = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            scratch.path().join(format!("{name}.toml")),
            format!("isolation = \"per-event\"\n{manifest}"),
        )
        .expect("write");
        std::fs::copy(
            directory.join(format!("{name}.wasm")),
            scratch.path().join(format!("{name}.wasm")),
        )
        .expect("copy");
        let fresh =
            load_one(&scratch.path().join(format!("{name}.toml")), &runtime, None).expect("loads");
        group.bench_function(BenchmarkId::new("fresh_instance", name), |b| {
            b.iter(|| fresh.call(&input).0.expect("the call succeeds"))
        });
        let logic: fn(&redress_sdk::Complaint) -> Result<redress_sdk::Analysis, String> = match name
        {
            "sentiment" => sentiment::analyze,
            "classify" => classify::analyze,
            _ => goodwill::analyze,
        };
        group.bench_function(BenchmarkId::new("native", name), |b| {
            b.iter(|| logic(&native))
        });
    }
    group.finish();
}

criterion_group!(benches, plugins);
criterion_main!(benches);
