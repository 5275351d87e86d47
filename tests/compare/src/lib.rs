//! Redress and the alternatives, set up to do the same work, for the
//! side-by-side benchmarks in `benches/compare.rs` and the tests that check
//! the work really is the same.
//!
//! - The decision in `decision/`: one rule set as Redress TOML and as a
//!   GoRules ZEN (JDM) graph of two decision tables.
//! - The goodwill plugin as a component (Redress's host) and as a plain
//!   core module taking JSON bytes, as Extism-style plugins do.

// Benchmark scaffolding: a failed setup is a broken benchmark, not a user
// error, and panics with the reason.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redress::decision::Decision;
use redress::event::ComplaintEvent;
use redress::expr::Env;
use redress::rules::{RuleSet, load_dir};
use serde_json::{Value, json};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The comparison decision as a Redress rule set.
pub fn redress_ruleset() -> RuleSet {
    let outcome = load_dir(&here().join("decision/rules"), &Env::standard());
    match outcome.ruleset {
        Some(ruleset) => ruleset,
        None => panic!("decision/rules does not load: {:#?}", outcome.diagnostics),
    }
}

/// The comparison decision as a ZEN decision, its expressions precompiled.
pub fn zen_decision() -> zen_engine::Decision {
    let text = std::fs::read_to_string(here().join("decision/zen.json")).expect("zen.json");
    let content: zen_engine::model::GraphContent =
        serde_json::from_str(&text).expect("zen.json is a JDM graph");
    let mut decision = zen_engine::Decision::from(Arc::new(content));
    decision.compile();
    decision
}

/// What both engines decide: the queue and the offers (kind, value).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub queue: String,
    pub offers: Vec<(String, f64)>,
}

pub fn redress_outcome(decision: &Decision) -> Outcome {
    Outcome {
        queue: decision.route.queue.to_string(),
        offers: decision
            .offers
            .iter()
            .map(|o| (o.kind.to_string(), o.value))
            .collect(),
    }
}

pub fn zen_outcome(result: &Value) -> Outcome {
    let offers = result["offers"]
        .as_array()
        .map(|offers| {
            offers
                .iter()
                .map(|o| {
                    (
                        o["kind"].as_str().unwrap_or_default().to_string(),
                        o["value"].as_f64().unwrap_or(0.0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Outcome {
        queue: result["queue"].as_str().unwrap_or_default().to_string(),
        offers,
    }
}

/// Runs the ZEN decision to completion on this thread.
pub fn zen_evaluate(
    decision: &zen_engine::Decision,
    runtime: &tokio::runtime::Runtime,
    input: zen_engine::Variable,
) -> zen_engine::Variable {
    runtime
        .block_on(decision.evaluate(input))
        .expect("ZEN evaluates")
        .result
}

/// The events both engines decide in the tests and the benchmarks: every
/// route and every offer rule is hit by at least one.
pub fn events() -> Vec<Value> {
    let mut events = Vec::new();
    let categories = [
        "product_quality",
        "staff_attitude",
        "price_billing",
        "after_sales",
        "unexpected_incident",
        "other",
    ];
    let customers = [
        json!({"id": "c-1", "tier": "ordinary", "lifetime_value": 800.0, "deposits": 2000.0, "tenure_days": 400, "prior_complaints": 0}),
        json!({"id": "c-2", "tier": "key", "lifetime_value": 250000.0, "deposits": 50000.0, "tenure_days": 3000, "prior_complaints": 1}),
        json!({"id": "c-3", "tier": "ordinary", "lifetime_value": 12000.0, "deposits": 2500000.0, "tenure_days": 1200, "prior_complaints": 4}),
        json!({"id": "c-4", "tier": "new", "lifetime_value": 90.0, "deposits": 0.0, "tenure_days": 20, "prior_complaints": 3}),
    ];
    let mut n = 0;
    for category in categories {
        for customer in &customers {
            for (amount, channel) in [(120.0, "web"), (900.0, "social"), (0.0, "phone")] {
                n += 1;
                events.push(json!({
                    "id": format!("cmp-{n}"),
                    "received_at": "2026-11-20T09:15:00Z",
                    "channel": channel,
                    "category": category,
                    "amount": amount,
                    "text": "The left earbud stopped working after two days and nobody answered my e-mail.",
                    "customer": customer,
                }));
            }
        }
    }
    events
}

pub fn event(value: &Value) -> ComplaintEvent {
    ComplaintEvent::from_json(&serde_json::to_vec(value).expect("serializes")).expect("parses")
}

/// The goodwill logic as a plain core module: JSON bytes in, JSON bytes
/// out, under the same engine settings as Redress's plugins (fuel and
/// epoch interruption on).
pub struct CoreGoodwill {
    store: wasmtime::Store<()>,
    memory: wasmtime::Memory,
    alloc: wasmtime::TypedFunc<u32, u32>,
    dealloc: wasmtime::TypedFunc<(u32, u32), ()>,
    json: wasmtime::TypedFunc<(u32, u32), u64>,
    scalars: wasmtime::TypedFunc<(f64, i64, i64), f64>,
}

const FUEL: u64 = 50_000_000;

impl CoreGoodwill {
    pub fn new() -> CoreGoodwill {
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        config.epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config).expect("engine");
        let module = wasmtime::Module::from_file(&engine, env!("GUEST_CORE_WASM"))
            .expect("the core guest compiles");
        let mut store = wasmtime::Store::new(&engine, ());
        store.set_fuel(FUEL).expect("fuel");
        store.set_epoch_deadline(1_000);
        let instance =
            wasmtime::Instance::new(&mut store, &module, &[]).expect("the core guest instantiates");
        CoreGoodwill {
            memory: instance.get_memory(&mut store, "memory").expect("memory"),
            alloc: instance.get_typed_func(&mut store, "alloc").expect("alloc"),
            dealloc: instance
                .get_typed_func(&mut store, "dealloc")
                .expect("dealloc"),
            json: instance
                .get_typed_func(&mut store, "goodwill_json")
                .expect("goodwill_json"),
            scalars: instance
                .get_typed_func(&mut store, "goodwill_scalars")
                .expect("goodwill_scalars"),
            store,
        }
    }

    /// One call as a JSON plugin: copy in, parse, compute, serialize,
    /// copy out.
    pub fn call_json(&mut self, input: &[u8]) -> Vec<u8> {
        self.store.set_fuel(FUEL).expect("fuel");
        self.store.set_epoch_deadline(1_000);
        let len = input.len() as u32;
        let pointer = self.alloc.call(&mut self.store, len).expect("alloc");
        self.memory
            .write(&mut self.store, pointer as usize, input)
            .expect("write");
        let packed = self
            .json
            .call(&mut self.store, (pointer, len))
            .expect("goodwill_json");
        self.dealloc
            .call(&mut self.store, (pointer, len))
            .expect("dealloc");
        let (at, length) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
        let mut output = vec![0; length];
        self.memory
            .read(&self.store, at, &mut output)
            .expect("read");
        output
    }

    /// The arithmetic alone, on three numbers.
    pub fn call_scalars(&mut self, lifetime_value: f64, tenure_days: i64, prior: i64) -> f64 {
        self.store.set_fuel(FUEL).expect("fuel");
        self.scalars
            .call(&mut self.store, (lifetime_value, tenure_days, prior))
            .expect("goodwill_scalars")
    }
}

impl Default for CoreGoodwill {
    fn default() -> Self {
        CoreGoodwill::new()
    }
}
