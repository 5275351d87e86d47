//! Redress: a rules engine for customer complaints.
//!
//! A complaint arrives as JSON ([`event`]), is decided against a compiled
//! rule set ([`rules`]) whose conditions are CEL expressions compiled to
//! closures ([`expr`]), and leaves a [`decision`] that says what was decided
//! and why. The rules stage itself is [`engine::decide`]; a [`snapshot`]
//! bundles everything one decision needs so it can be swapped as a whole.
//!
//! ```text
//! JSON ─► event ─► engine::decide(snapshot.ruleset, event, enrichment, state) ─► decision
//!                    route ─► escalate ─► sla ─► control lines ─► compensate ─► caps ─► authority
//! ```
//!
//! Where things live:
//! - [`event`]: the complaint event, validated with errors that name the field.
//! - [`expr`]: the condition compiler (parse, resolve names, check types,
//!   build closures) and the values it evaluates to.
//! - [`rules`]: rule files as written ([`rules::raw`]), loading with
//!   diagnostics, the compiled [`rules::RuleSet`] and its index.
//! - [`engine`]: the rules stage, caps, and the read-only view of durable
//!   state it consults ([`engine::StateView`]).
//! - [`decision`]: the decision and its trace.
//! - [`snapshot`]: a rule set ready to decide, with its worst case.
//! - [`bounds`]: the worst case a rule set can pay, from the rules alone
//!   (interval analysis, witnesses, declared limits).
//! - [`diagnostic`]: problems with their place, rendered like rustc's.
//! - [`testing`]: rule tests as data (`redress test`).
//! - [`explain`]: a decision told in words (`redress eval --explain`).
//! - [`schema`]: JSON Schemas generated from the types.
//! - [`cli`]: the `redress` command line.
//! - [`annotation`], [`time`], [`suggest`]: plugin output values,
//!   timestamps and durations, "did you mean" hints.
//! - [`source_file`]: reading rule files, manifests and components (regular
//!   files only, bounded).

pub mod annotation;
pub mod bounds;
pub mod cli;
pub mod decision;
pub mod diagnostic;
pub mod engine;
pub mod event;
pub mod explain;
pub mod expr;
pub mod histogram;
pub mod intake;
pub mod plugin;
pub mod reload;
pub mod replay;
pub mod rules;
pub mod schema;
pub mod server;
pub mod snapshot;
pub mod source_file;
pub mod store;
pub mod suggest;
pub mod testing;
pub mod time;
