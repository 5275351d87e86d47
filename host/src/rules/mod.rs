//! Rule sets: the TOML format operators write, its validation, and the
//! compiled form the engine runs.
//!
//! `load_dir` reads every `*.toml` of a directory (`files`), `parse` turns
//! their TOML into the format as written (`raw`), `compile` checks it into
//! a [`RuleSet`] and reports every problem as a
//! [`Diagnostic`](crate::diagnostic::Diagnostic) with its file, line and
//! column; `conditions` compiles the named conditions the rules share.
//! `index` selects, per event, the rules that can match. Which kinds of
//! rules there are is the table [`RuleKind`].

mod compile;
mod conditions;
mod files;
mod index;
mod load;
mod parse;
pub mod raw;
mod ruleset;

pub use crate::rule_kind::RuleKind;
pub use compile::{DEFAULT_CONTROL_FLAG, version_of};
pub use files::{RuleFileText, is_rule_file, is_rule_file_name, read_rule_files};
pub use index::RuleIndex;
pub use load::{LoadOutcome, load_dir, load_files};
pub use ruleset::{
    Authority, Breach, Budget, BudgetScope, Cap, Compensate, ControlAction, ControlLimit,
    ControlLine, Escalate, OfferTemplate, Route, Rule, RuleInfo, RuleList, RuleSet, Settings, Sla,
};

#[cfg(test)]
mod tests;
