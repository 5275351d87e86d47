//! The timers of a case, as the `timers` table, the audit log and the API
//! name them.

use serde::{Deserialize, Serialize};

/// The kinds of timers a case has.
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
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
    strum::VariantNames,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TimerKind {
    /// The SLA's first response is due.
    FirstResponse,
    /// The SLA's resolution is due.
    Resolve,
    /// The call back after resolution is due (seed 000).
    FollowUp,
}

impl TimerKind {
    /// The kind as the `timers` table and the audit log name it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Where a timer stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TimerState {
    /// Armed, not yet due or not yet fired.
    Pending,
    /// Fired: the breach or follow-up was decided.
    Fired,
    /// Stopped by the lifecycle event that met the commitment.
    Cancelled,
}

impl TimerState {
    /// The state as the `timers` table names it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    #[test]
    fn names_are_the_tables_and_the_apis() {
        for kind in TimerKind::iter() {
            assert_eq!(kind.as_str().parse::<TimerKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.as_str().to_string())
            );
        }
        for state in TimerState::iter() {
            assert_eq!(state.as_str().parse::<TimerState>(), Ok(state));
        }
        assert_eq!(TimerKind::FirstResponse.as_str(), "first_response");
        assert!("breach".parse::<TimerKind>().is_err());
    }
}
