//! Redress: a rules engine for customer complaints.
//!
//! A complaint arrives as JSON ([`event`]); sandboxed WebAssembly plugins
//! ([`plugin`]) add facts; a compiled rule set ([`rules`], conditions in CEL
//! compiled to closures by [`expr`]) decides in [`engine::decide`]; the
//! daemon's store ([`store`]) records the [`decision`] with what it read,
//! and the answer goes back. One complaint through the daemon:
//!
//! ```text
//! HTTP (server::handlers) ─► intake::prepare: event validated, received_at,
//!                                             currency and time window checked
//!                         ─► plugin::PluginSet::enrich (snapshot.plugins, in order)
//!                         ─► intake::record ─► store: one transaction, deciding and recording
//!                              intake::decide ─► engine::decide(snapshot.ruleset, event,
//!                                                enrichment, StateView of the store)
//!                                route ─► escalate ─► sla ─► control lines
//!                                ─► compensate ─► caps ─► authority
//!                              case, timers, tallies, budgets, audit line (with
//!                              intake::recording: the reads, for replay)
//!                         ─► answer: the decision as JSON, once durable
//! ```
//!
//! `redress eval` and `redress test` take the same path without the HTTP
//! and (except sequence tests, which record through `intake::record` too)
//! without the store ([`intake::evaluate`]).
//!
//! Where things live:
//! - [`event`]: the complaint event, validated with errors that name the field.
//! - [`intake`]: the one path from event to recorded decision, shared by the
//!   daemon, `replay` and `diff`; the timestamp window.
//! - [`plugin`]: manifests, the wasmtime runtime, limits, pools and the
//!   plugin stage ([`plugin::PluginSet`]).
//! - [`expr`]: the condition compiler (parse, resolve names, check types,
//!   build closures), named conditions, and the values it evaluates to.
//! - [`rule_kind`]: the table of rule kinds ([`rule_kind::RuleKind`]) that
//!   reading, checking, the compiled set, the engine's stages, traces and
//!   explanations dispatch on; its module says which files a new kind
//!   touches.
//! - [`rules`]: rule files as written ([`rules::raw`]), reading and
//!   checking them with diagnostics, the compiled [`rules::RuleSet`] and its
//!   index.
//! - [`engine`]: the rules stage, one function per stage in pipeline order,
//!   currencies, caps, and the read-only view of durable state it consults
//!   ([`engine::StateView`]).
//! - [`decision`]: the decision and its trace.
//! - [`snapshot`]: rules and plugins ready to decide, with their worst case
//!   and their versions.
//! - [`bounds`]: the worst case a rule set can pay, from the rules alone
//!   (interval analysis, witnesses, declared limits).
//! - [`store`]: durable state: the audit log, cases and their lifecycle,
//!   timers, control-line tallies, budgets, kept snapshots, the report.
//! - [`server`]: the daemon's HTTP API, its configuration, connections,
//!   admission, metrics.
//! - [`reload`]: hot reload: watching, settling mid-save files, the gate.
//! - [`replay`]: deciding logged complaints again (`replay`, `diff`).
//! - [`diagnostic`]: problems with their place, rendered like rustc's.
//! - [`testing`]: rule tests as data (`redress test`), sequences included.
//! - [`explain`]: a decision told in words (`redress eval --explain`).
//! - [`schema`]: JSON Schemas generated from the types.
//! - [`cli`]: the `redress` command line.
//! - [`annotation`], [`time`], [`suggest`], [`histogram`], [`digest`]:
//!   plugin output values, timestamps and durations, "did you mean" hints,
//!   latency histograms, SHA-256 digests as Redress spells them.
//! - [`source_file`]: reading rule files, manifests and components (regular
//!   files only, bounded).

pub mod annotation;
pub mod bounds;
pub mod cli;
pub mod decision;
pub mod diagnostic;
pub mod digest;
pub mod engine;
pub mod event;
pub mod explain;
pub mod expr;
pub mod histogram;
pub mod intake;
pub mod plugin;
pub mod reload;
pub mod replay;
pub mod rule_kind;
pub mod rules;
pub mod schema;
pub mod server;
pub mod snapshot;
pub mod source_file;
pub mod store;
pub mod suggest;
pub mod testing;
pub mod time;
