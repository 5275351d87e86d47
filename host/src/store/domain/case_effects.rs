//! What a lifecycle event does to its case besides moving its status: the
//! moment it stamps, the timers it cancels and arms, the report figures it
//! adds to, whether it spends granted authority, and what the case's
//! history records of it.

use serde_json::{Map, Value};

use crate::store::domain::lifecycle::{
    LifecycleError, LifecycleEvent, LifecycleKind, Status, transition, when,
};
use crate::store::domain::report_figures::ReportFigure;
use crate::store::{StoreError, TimerKind};
use crate::time::Timestamp;

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
    /// Adds to a figure of the report the case's row keeps.
    Count(ReportFigure),
    /// Records a use of granted authority (the backend checks it against
    /// the grant with [`super::authority`]).
    UseAuthority,
}

const SLA_TIMERS: &[TimerKind] = &[TimerKind::FirstResponse, TimerKind::Resolve];

/// What `kind`, happening at `at` (ms), does to a case with `commitments`.
pub fn effects_of(kind: LifecycleKind, commitments: Commitments, at: i64) -> Vec<CaseEffect> {
    use CaseEffect::{Arm, Cancel, Count, Stamp};
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
                effects.push(Count(ReportFigure::FollowUpScheduled));
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
        LifecycleKind::FollowedUp => vec![
            Cancel(&[TimerKind::FollowUp]),
            Count(ReportFigure::FollowUpDone),
        ],
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

/// What a backend writes for a lifecycle event's effects, in its own
/// transaction; [`apply`] says which, in what order.
pub trait CaseWrites {
    fn stamp(&mut self, milestone: Milestone, at: i64) -> Result<(), StoreError>;
    /// Stops these timers if they are pending.
    fn cancel(&mut self, kinds: &[TimerKind]) -> Result<(), StoreError>;
    /// Arms (or re-arms) a timer.
    fn arm(&mut self, kind: TimerKind, due_at: i64) -> Result<(), StoreError>;
    /// Adds to a report figure of the case's row.
    fn count(&mut self, figure: ReportFigure) -> Result<(), StoreError>;
    /// Records a use of granted authority (checked with
    /// [`super::authority`]); its cost.
    fn use_authority(&mut self, event: &LifecycleEvent, at: i64) -> Result<f64, LifecycleError>;
}

/// A lifecycle event applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The case's status after it.
    pub status: Status,
    /// When it happened (ms).
    pub at: i64,
    /// What the case's history keeps of it, besides its kind and time.
    pub data: Option<Value>,
}

/// Applies `event` to case `case` (now in status `from`, with
/// `commitments`): refuses a step the case cannot take, then writes each
/// effect through `writes`. The backend then stores the new status and the
/// history entry.
pub fn apply(
    case: &str,
    from: Status,
    commitments: Commitments,
    event: &LifecycleEvent,
    now: Timestamp,
    writes: &mut impl CaseWrites,
) -> Result<Applied, LifecycleError> {
    let status = transition(case, from, event.kind)?;
    let at = when(event, now).millis();
    let mut data = history_data(event);
    for effect in effects_of(event.kind, commitments, at) {
        match effect {
            CaseEffect::Stamp(milestone) => writes.stamp(milestone, at)?,
            CaseEffect::Cancel(kinds) => writes.cancel(kinds)?,
            CaseEffect::Arm { kind, due_at } => writes.arm(kind, due_at)?,
            CaseEffect::Count(figure) => writes.count(figure)?,
            CaseEffect::UseAuthority => {
                let cost = writes.use_authority(event, at)?;
                data.insert("cost".to_string(), serde_json::json!(cost));
            }
        }
    }
    Ok(Applied {
        status,
        at,
        data: (!data.is_empty()).then_some(Value::Object(data)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: Commitments = Commitments {
        resolve_ms: Some(86_400_000),
        follow_up_ms: Some(3_600_000),
    };

    /// The writes asked for, in order.
    #[derive(Default)]
    struct Recorded(Vec<String>);

    impl CaseWrites for Recorded {
        fn stamp(&mut self, milestone: Milestone, at: i64) -> Result<(), StoreError> {
            self.0.push(format!("stamp {milestone:?} {at}"));
            Ok(())
        }
        fn cancel(&mut self, kinds: &[TimerKind]) -> Result<(), StoreError> {
            self.0.push(format!("cancel {kinds:?}"));
            Ok(())
        }
        fn arm(&mut self, kind: TimerKind, due_at: i64) -> Result<(), StoreError> {
            self.0.push(format!("arm {kind:?} {due_at}"));
            Ok(())
        }
        fn count(&mut self, figure: ReportFigure) -> Result<(), StoreError> {
            self.0.push(format!("count {figure:?}"));
            Ok(())
        }
        fn use_authority(&mut self, _: &LifecycleEvent, _: i64) -> Result<f64, LifecycleError> {
            self.0.push("use".to_string());
            Ok(2.5)
        }
    }

    fn event(kind: LifecycleKind) -> LifecycleEvent {
        LifecycleEvent {
            kind,
            at: Some(Timestamp(1_000)),
            by: Some("ana".into()),
            note: None,
            policy: Some("parking-validation".into()),
            cost: Some(2.5),
        }
    }

    #[test]
    fn apply_writes_the_effects_in_order_and_keeps_the_cost() {
        let mut writes = Recorded::default();
        let applied = apply(
            "c-1",
            Status::Responded,
            COMMITTED,
            &event(LifecycleKind::Resolved),
            Timestamp(0),
            &mut writes,
        )
        .unwrap();
        assert_eq!(applied.status, Status::Resolved);
        assert_eq!(applied.at, 1_000, "the event's own time, not now");
        assert_eq!(
            writes.0,
            [
                "stamp Resolved 1000",
                "cancel [FirstResponse, Resolve]",
                "arm FollowUp 3601000",
                "count FollowUpScheduled"
            ]
        );
        let used = apply(
            "c-1",
            Status::Open,
            COMMITTED,
            &event(LifecycleKind::AuthorityUsed),
            Timestamp(0),
            &mut Recorded::default(),
        )
        .unwrap();
        assert_eq!(used.data.unwrap()["cost"], 2.5);
    }

    #[test]
    fn a_step_the_case_cannot_take_writes_nothing() {
        let mut writes = Recorded::default();
        let refused = apply(
            "c-1",
            Status::Open,
            COMMITTED,
            &event(LifecycleKind::Confirmed),
            Timestamp(0),
            &mut writes,
        );
        assert!(refused.is_err());
        assert!(writes.0.is_empty(), "{:?}", writes.0);
    }

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
                CaseEffect::Count(ReportFigure::FollowUpScheduled),
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
