//! The life of a case: what may happen to it, and when.
//!
//! ```text
//! open ──responded──► responded ──resolved──► resolved ──confirmed──► confirmed
//!   │                     │                      │  ▲                      │
//!   └───────resolved──────┘                      │  └───────reopened───────┤
//!                                                 └──────────closed────────┴──► closed ──reopened──► open
//! ```
//!
//! `customer_replied` and `followed_up` are recorded without moving the
//! case; `authority_used` records a use of a granted policy against its
//! budget. Seed 002: close only when the customer confirms; seed 000: call
//! back after resolution.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Where a case stands.
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
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    Open,
    Responded,
    Resolved,
    Confirmed,
    Closed,
}

impl Status {
    /// The status as the store and the API name it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What happened.
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
pub enum LifecycleKind {
    /// Someone answered the customer (stops the first-response timer).
    Responded,
    /// The customer wrote back.
    CustomerReplied,
    /// The problem is fixed (stops the SLA timers, starts the follow-up).
    Resolved,
    /// The customer confirmed the fix (seed 002).
    Confirmed,
    Closed,
    /// The problem came back (re-arms the resolve timer).
    Reopened,
    /// The follow-up call or visit after resolution happened (seed 000).
    FollowedUp,
    /// The handler used a granted authority (`policy`, `cost`).
    AuthorityUsed,
}

/// A lifecycle event, as `POST /v1/complaints/{id}/events` takes it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleEvent {
    #[serde(rename = "type")]
    pub kind: LifecycleKind,
    /// When it happened. Default: now.
    #[serde(default)]
    pub at: Option<Timestamp>,
    /// Who did it.
    #[serde(default)]
    pub by: Option<String>,
    /// Words for the record.
    #[serde(default)]
    pub note: Option<String>,
    /// For `authority_used`: the policy bent.
    #[serde(default)]
    pub policy: Option<String>,
    /// For `authority_used`: what it cost.
    #[serde(default)]
    pub cost: Option<f64>,
}

/// Why a lifecycle event was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    #[error("no case `{0}`: complaints open a case when they are decided")]
    NoCase(String),
    #[error("case `{case}` is {status}: `{event}` is not possible now{}", hint(*.status, *.event))]
    Conflict {
        case: String,
        status: Status,
        event: LifecycleKind,
    },
    #[error(transparent)]
    AuthorityUse(#[from] AuthorityUseError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Why an `authority_used` event was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityUseError {
    #[error("`authority_used` needs `policy`: the policy that was bent")]
    NoPolicy,
    #[error("`cost` must be zero or more, not {0}")]
    BadCost(f64),
    #[error(
        "case `{case}` has no grant to bend `{policy}`; its decision lists the policies that may be bent"
    )]
    NotGranted { case: String, policy: String },
    #[error("`{policy}` may be bent up to {max_cost} for this case, not {cost}")]
    OverMaxCost {
        policy: String,
        cost: f64,
        max_cost: f64,
    },
    #[error(
        "the budget of `{rule}` for {scope} is used up ({count} uses, {amount} spent in the window)"
    )]
    BudgetUsedUp {
        rule: String,
        scope: String,
        count: i64,
        amount: f64,
    },
}

fn hint(status: Status, event: LifecycleKind) -> &'static str {
    match (status, event) {
        (Status::Closed, _) => " (reopen it first)",
        (_, LifecycleKind::Confirmed) => " (a case is confirmed after it is resolved)",
        (_, LifecycleKind::FollowedUp) => " (the follow-up comes after resolution)",
        _ => "",
    }
}

impl LifecycleKind {
    /// The event's `type`, as the API and the case history name it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The status after `event`, or why it cannot happen.
pub fn transition(
    case: &str,
    from: Status,
    event: LifecycleKind,
) -> Result<Status, LifecycleError> {
    use LifecycleKind as K;
    use Status as S;
    let conflict = || LifecycleError::Conflict {
        case: case.to_string(),
        status: from,
        event,
    };
    Ok(match (from, event) {
        (S::Closed, K::Reopened) | (S::Resolved | S::Confirmed, K::Reopened) => S::Open,
        (_, K::Reopened) => return Err(conflict()),
        (S::Closed, _) => return Err(conflict()),
        (S::Open, K::Responded) => S::Responded,
        (status, K::Responded) => status,
        (S::Open | S::Responded, K::Resolved) => S::Resolved,
        (status @ (S::Resolved | S::Confirmed), K::Resolved) => status,
        (S::Resolved, K::Confirmed) => S::Confirmed,
        (S::Confirmed, K::Confirmed) => S::Confirmed,
        (_, K::Confirmed) => return Err(conflict()),
        (_, K::Closed) => S::Closed,
        (S::Resolved | S::Confirmed, K::FollowedUp) => from,
        (_, K::FollowedUp) => return Err(conflict()),
        (status, K::CustomerReplied | K::AuthorityUsed) => status,
    })
}

/// When the event happened: its `at`, or `now`.
pub fn when(event: &LifecycleEvent, now: Timestamp) -> Timestamp {
    event.at.unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path() {
        let mut status = Status::Open;
        for event in [
            LifecycleKind::Responded,
            LifecycleKind::Resolved,
            LifecycleKind::FollowedUp,
            LifecycleKind::Confirmed,
            LifecycleKind::Closed,
        ] {
            status = transition("c", status, event).unwrap();
        }
        assert_eq!(status, Status::Closed);
    }

    #[test]
    fn impossible_steps_say_why() {
        let error = transition("c-1", Status::Open, LifecycleKind::Confirmed).unwrap_err();
        assert_eq!(
            error.to_string(),
            "case `c-1` is open: `confirmed` is not possible now (a case is confirmed after it is resolved)"
        );
        let error = transition("c-1", Status::Closed, LifecycleKind::Responded).unwrap_err();
        assert!(error.to_string().ends_with("(reopen it first)"));
        assert_eq!(
            transition("c", Status::Closed, LifecycleKind::Reopened).unwrap(),
            Status::Open
        );
        assert!(transition("c", Status::Open, LifecycleKind::Reopened).is_err());
    }
}
