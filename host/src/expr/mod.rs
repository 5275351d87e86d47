//! Conditions: CEL syntax, compiled once into closures.
//!
//! `compile` parses a condition with the `cel` crate's parser, resolves every
//! name against an [`Env`] (event fields, customer history, plugin outputs),
//! checks types, and builds closures over [`Facts`]. Evaluating a compiled
//! condition does no parsing, no name lookup and, for comparisons against
//! literals, no allocation. A rule set's named conditions (`[conditions]`)
//! join the environment, so a condition may use another by name.

mod compile;
mod env;
mod named;
mod types;
mod value;

pub use compile::{
    CompileError, Expect, Expression, IndexHint, PRESENCE_TEST, qualified_name, syntax_tree,
};
pub use env::{CustomerHistory, Env, Facts, FieldDef, Reader};
pub use named::{NamedCondition, names_used};
pub use types::{Type, manifest_word};
pub use value::{List, MapRef, Value};

#[cfg(test)]
mod tests;
