//! The table of rule kinds: every `[[kind]]` a rule file may hold, in the
//! order the engine runs them.
//!
//! Everything that differs by kind dispatches on [`RuleKind`] with an
//! exhaustive `match`, so a new kind added here is a compile error in each
//! place that must handle it: the raw format's keys
//! (`rules::raw::known_keys`), reading (`rules::parse`), compiling
//! (`rules::compile`), the compiled set (`RuleSet::rules_of`) and the
//! engine's stages (`engine::decide`). Its name in rule files, traces and
//! JSON is the variant in snake case.
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
