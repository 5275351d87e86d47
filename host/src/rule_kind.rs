//! The table of rule kinds: every `[[kind]]` a rule file may hold, in the
//! order the engine runs them.
//!
//! Everything that differs by kind dispatches on [`RuleKind`] with an
//! exhaustive `match` or names every kind's field, so a kind added here
//! fails to build (or, for the rule file's table, fails a test) until each
//! place handles it. Adding a kind `k` is this line and:
//!
//! | layer | file | what |
//! |---|---|---|
//! | format | `rules/raw.rs` | `RawK` (with `rule_struct!`), its `RawRuleFile` field, its `known_keys` arm |
//! | reading | `rules/parse.rs` | its `RawSet` list and `FileReader::kind` arm |
//! | checking | `rules/compile/k.rs` (new), `compile/mod.rs` | `Checker::k`, called in `compile` |
//! | compiled | `rules/ruleset.rs` | `K`, its `RuleSet` list and its `RuleSet::list` arm |
//! | deciding | `engine/stages/k.rs` (new), `stages/mod.rs`, `engine/mod.rs` | the stage, called in `decide` in pipeline order |
//! | docs | `docs/rules.md`, `docs/rules.schema.json` | its keys with defaults (a test checks), the regenerated schema |
//!
//! Its name in rule files, traces and JSON is the variant in snake case.
//!
//! A leaf module: `decision` (traces) and `rules` both name kinds, and
//! neither may depend on the other.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A kind of rule: the top-level array (`[[route]]`, …) it is written in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RuleKind {
    /// Where a complaint goes; first match wins.
    Route,
    /// Who must see it; every match applies.
    Escalate,
    /// Commitments on the case; first match wins.
    Sla,
    /// Counts of complaints per group over a window.
    ControlLine,
    /// What to offer; every match adds its offers.
    Compensate,
    /// Limits on the value of offers.
    Cap,
    /// Which policy the handler may bend, for whom, up to what cost.
    Authority,
}

impl RuleKind {
    /// The kind's name in rule files: `route`, `control_line`, ….
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Every kind, in pipeline order.
    pub fn all() -> impl Iterator<Item = RuleKind> {
        <RuleKind as strum::IntoEnumIterator>::iter()
    }

    /// The kind named `name` in a rule file, if it is one.
    pub fn from_name(name: &str) -> Option<RuleKind> {
        name.parse().ok()
    }

    /// Whether only the first matching rule applies (the others are not
    /// evaluated).
    pub fn first_match(self) -> bool {
        match self {
            RuleKind::Route | RuleKind::Sla => true,
            RuleKind::Escalate
            | RuleKind::ControlLine
            | RuleKind::Compensate
            | RuleKind::Cap
            | RuleKind::Authority => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_rule_files_and_json() {
        for kind in RuleKind::all() {
            assert_eq!(RuleKind::from_name(kind.name()), Some(kind));
            assert_eq!(kind.to_string(), kind.name());
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, serde_json::Value::String(kind.name().to_string()));
        }
        assert_eq!(RuleKind::ControlLine.name(), "control_line");
        assert_eq!(RuleKind::from_name("routes"), None);
    }
}
