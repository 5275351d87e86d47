//! Conditions: CEL syntax, compiled once into closures.
//!
//! `compile` parses a condition with the `cel` crate's parser, resolves every
//! name against an [`Env`] (event fields, customer history, plugin outputs),
//! checks types, and builds closures over [`Facts`]. Evaluating a compiled
//! condition does no parsing, no name lookup and, for comparisons against
//! literals, no allocation. A rule set's named conditions (`[conditions]`)
//! join the environment, so a condition may use another by name.
//!
//! The rooms: [`Expression`] (`expression.rs`) is what the rest of the
//! crate holds; `compiler/` turns a syntax tree into typed nodes (names and
//! paths in `mod.rs`, operators, functions and methods, source spans);
//! `code.rs` is the compiled form and its combinators; `arith.rs` the value
//! arithmetic; `rewrite.rs` the source rewrites; `hints.rs` the index hints;
//! `error.rs` the errors with their spans.

mod arith;
mod code;
mod compiler;
mod env;
mod error;
mod expression;
mod hints;
mod named;
mod rewrite;
mod types;
mod value;

pub use compiler::qualified_name;
pub use env::{CustomerHistory, Env, Facts, FieldDef, Reader};
pub use error::CompileError;
pub use expression::{Expect, Expression, syntax_tree};
pub use hints::IndexHint;
pub use named::{NamedCondition, names_used};
pub use rewrite::PRESENCE_TEST;
pub use types::{Type, manifest_word};
pub use value::{List, MapRef, Value};

#[cfg(test)]
mod tests;
