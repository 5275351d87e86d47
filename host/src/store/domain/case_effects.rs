//! What a lifecycle event does to its case besides moving its status: the
//! moment it stamps, the timers it cancels and arms, whether it spends
//! granted authority, and what the case's history records of it.

use serde_json::{Map, Value};

use crate::store::TimerKind;
use crate::store::domain::lifecycle::{LifecycleEvent, LifecycleKind};

/// The case's commitments a lifecycle event may re-arm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Commitments {
    /// How long resolving may take (ms), from a reopening.
    pub resolve_ms: Option<i64>,
    /// How long after resolution the follow-up is due (ms).
    pub follow_up_ms: Option<i64>,
}

/// A moment the case keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Milestone {
    /// The first response only: later ones do not move it.
    FirstResponse,
    Resolved,
    Confirmed,
    Closed,
}

/// One change to the case, applied in order.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseEffect {
    Stamp(Milestone),
    /// Stops these timers if they are pending.
    Cancel(&'static [TimerKind]),
    /// Arms (or re-arms) a timer, due at this moment (ms).
    Arm {
        kind: TimerKind,
        due_at: i64,
    },
    /// Records a use of granted authority (the backend checks it against
    /// the grant with [`super::authority`]).
    UseAuthority,
}

const SLA_TIMERS: &[TimerKind] = &[TimerKind::FirstResponse, TimerKind::Resolve];

/// What `kind`, happening at `at` (ms), does to a case with `commitments`.
pub fn effects_of(kind: LifecycleKind, commitments: Commitments, at: i64) -> Vec<CaseEffect> {
    use CaseEffect::{Arm, Cancel, Stamp};
    match kind {
        LifecycleKind::Responded => vec![
            Stamp(Milestone::FirstResponse),
            Cancel(&[TimerKind::FirstResponse]),
        ],
        LifecycleKind::Resolved => {
            let mut effects = vec![Stamp(Milestone::Resolved), Cancel(SLA_TIMERS)];
            if let Some(delay) = commitments.follow_up_ms {
                effects.push(Arm {
                    kind: TimerKind::FollowUp,
                    due_at: at + delay,
                });
            }
            effects
        }
        LifecycleKind::Confirmed => vec![Stamp(Milestone::Confirmed)],
        LifecycleKind::Closed => vec![Stamp(Milestone::Closed), Cancel(SLA_TIMERS)],
        LifecycleKind::Reopened => {
            let mut effects = vec![Cancel(&[TimerKind::FollowUp])];
            if let Some(resolve) = commitments.resolve_ms {
                effects.push(Arm {
                    kind: TimerKind::Resolve,
                    due_at: at + resolve,
                });
            }
            effects
        }
        LifecycleKind::FollowedUp => vec![Cancel(&[TimerKind::FollowUp])],
        LifecycleKind::CustomerReplied => Vec::new(),
        LifecycleKind::AuthorityUsed => vec![CaseEffect::UseAuthority],
    }
}

/// What the case's history keeps of the event besides its kind and time:
/// who, the note and the policy, when given.
pub fn history_data(event: &LifecycleEvent) -> Map<String, Value> {
    let mut data = Map::new();
    for (key, value) in [
        ("by", &event.by),
        ("note", &event.note),
        ("policy", &event.policy),
    ] {
        if let Some(value) = value {
            data.insert(key.to_string(), Value::String(value.clone()));
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: Commitments = Commitments {
        resolve_ms: Some(86_400_000),
        follow_up_ms: Some(3_600_000),
    };

    #[test]
    fn resolving_stops_the_sla_timers_and_starts_the_follow_up() {
        assert_eq!(
            effects_of(LifecycleKind::Resolved, COMMITTED, 1_000),
            vec![
                CaseEffect::Stamp(Milestone::Resolved),
                CaseEffect::Cancel(SLA_TIMERS),
                CaseEffect::Arm {
                    kind: TimerKind::FollowUp,
                    due_at: 3_601_000
                },
            ]
        );
        assert_eq!(
            effects_of(LifecycleKind::Resolved, Commitments::default(), 1_000).len(),
            2,
            "no follow-up without one promised"
        );
    }

    #[test]
    fn reopening_re_arms_the_resolve_timer_from_the_reopening() {
        assert_eq!(
            effects_of(LifecycleKind::Reopened, COMMITTED, 5_000),
            vec![
                CaseEffect::Cancel(&[TimerKind::FollowUp]),
                CaseEffect::Arm {
                    kind: TimerKind::Resolve,
                    due_at: 86_405_000
                },
            ]
        );
    }

    #[test]
    fn a_reply_changes_nothing_and_authority_is_spent() {
        assert!(effects_of(LifecycleKind::CustomerReplied, COMMITTED, 0).is_empty());
        assert_eq!(
            effects_of(LifecycleKind::AuthorityUsed, COMMITTED, 0),
            vec![CaseEffect::UseAuthority]
        );
    }
}
