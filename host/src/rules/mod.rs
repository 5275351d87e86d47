//! Rule sets: the TOML format operators write, its validation, and the
//! compiled form the engine runs.
//!
//! `load_dir` reads every `*.toml` of a directory (`raw` is the format as
//! written), `compile` checks it into a [`RuleSet`] and reports every
//! problem as a [`Diagnostic`](crate::diagnostic::Diagnostic) with its file,
//! line and column; `conditions` compiles the named conditions the rules
//! share. `index` selects, per event, the rules that can match.

mod compile;
mod conditions;
mod index;
mod load;
pub mod raw;
mod ruleset;

pub use compile::{DEFAULT_CONTROL_FLAG, version_of};
pub use index::RuleIndex;
pub use load::{LoadOutcome, RuleFileText, is_rule_file, load_dir, load_files, read_rule_files};
pub use ruleset::{
    Authority, Breach, Budget, BudgetScope, Cap, Compensate, ControlAction, ControlLimit,
    ControlLine, Escalate, OfferTemplate, Route, Rule, RuleList, RuleSet, Settings, Sla,
};

#[cfg(test)]
mod tests;
