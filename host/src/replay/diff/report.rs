//! What a diff reports: counts, transitions, gains and losses, money
//! before and after, each with example events.

use serde::Serialize;

use crate::decision::Name;
use crate::replay::run::Unreplayable;

/// What the candidate would change.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct DiffReport {
    /// The candidate's version (the hash of its files).
    pub candidate: Name,
    /// Logged complaints read.
    pub logged: u64,
    /// Of those, decided again.
    pub replayed: u64,
    /// Of those, with any change.
    pub changed: u64,
    /// Complaints that could not be decided again, and why (the first 100
    /// named; `not_replayable_count` counts them all).
    pub not_replayable: Vec<Unreplayable>,
    pub not_replayable_count: u64,
    /// `from` queue → `to` queue.
    pub routes: Vec<Transition>,
    pub handlers: Vec<Transition>,
    pub escalations: Gained,
    /// Commitments changed, by which (`first_response`, `resolve`,
    /// `follow_up`).
    pub sla: Vec<Counted>,
    pub compensation: Compensation,
    /// Grants gained and lost, by policy.
    pub authority: Gained,
    pub flags: Gained,
    /// Control-line outcomes changed, by rule.
    pub control_lines: Vec<Counted>,
}

/// Complaints whose `what` went from `from` to `to`.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub count: u64,
    pub examples: Vec<String>,
    /// The log positions of the examples, to keep the first ones when
    /// workers' tallies merge.
    #[serde(skip)]
    pub(super) seqs: Vec<i64>,
}

/// How many complaints gained or lost each thing.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Gained {
    pub gained: Vec<Counted>,
    pub lost: Vec<Counted>,
}

/// A count with examples.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Counted {
    pub what: String,
    pub count: u64,
    pub examples: Vec<String>,
    #[serde(skip)]
    pub(super) seqs: Vec<i64>,
}

/// Money offered before and after.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Compensation {
    /// Per currency.
    pub totals: Vec<Money>,
    pub by_kind: Vec<Money>,
    /// By customer tier (`(none)` for none).
    pub by_tier: Vec<Money>,
    /// The ten largest increases for one complaint.
    pub largest_increases: Vec<Increase>,
}

/// Offered before and after, for one group.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Money {
    /// The group (a kind, a tier; empty for a total).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub what: String,
    pub currency: String,
    pub before: f64,
    pub after: f64,
}

/// One complaint's offers, before and after.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Increase {
    #[serde(skip)]
    pub(super) seq: i64,
    pub event_id: String,
    pub currency: String,
    pub before: f64,
    pub after: f64,
}

impl DiffReport {
    /// Share of the replayed complaints with any change.
    pub fn changed_share(&self) -> f64 {
        if self.replayed == 0 {
            0.0
        } else {
            self.changed as f64 / self.replayed as f64
        }
    }

    /// Complaints routed to another queue.
    pub fn route_changes(&self) -> u64 {
        self.routes.iter().map(|t| t.count).sum()
    }
}
