//! The decision a due timer makes: an SLA timer that fires is a breach,
//! which may raise the case's escalation and notifies; a follow-up timer
//! that fires asks for the call or visit after resolution (seed 000). The
//! decision keeps the commitment of the complaint decision that set it.

use serde::Serialize;

use super::report_figures::ReportFigure;
use crate::store::{DecisionKind, TimerKind};
use crate::time::Timestamp;

/// What the backend read of a due, pending timer and its case.
#[derive(Debug, Clone, PartialEq)]
pub struct DueTimer {
    pub kind: TimerKind,
    pub due_at: i64,
    pub case_id: String,
    pub queue: String,
    /// The case's escalation rank now.
    pub case_rank: i64,
    /// What the complaint's decision said a breach does.
    pub breach_escalate: Option<String>,
    pub breach_rank: Option<i64>,
    pub breach_notify: Vec<String>,
}

/// The audit log's entry for a fired timer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimerDecision {
    pub case_id: String,
    pub timer: TimerKind,
    pub due_at: Timestamp,
    pub fired_at: Timestamp,
    pub queue: String,
    #[serde(flatten)]
    pub outcome: TimerOutcome,
}

/// A breach or a follow-up.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TimerOutcome {
    FollowUp {
        action: &'static str,
    },
    Breach {
        /// Always `true`: lets a reader of the log tell a breach at once.
        breach: bool,
        escalate: Option<String>,
        notify: Vec<String>,
    },
}

const FOLLOW_UP_ACTION: &str = "call or visit the customer to check they are satisfied (seed 000)";

/// What firing a timer does.
#[derive(Debug, Clone, PartialEq)]
pub struct FiredTimer {
    pub decision: TimerDecision,
    /// The audit log's kind of entry.
    pub kind: DecisionKind,
    /// The escalation level and rank the case rises to, if the breach
    /// raises it (never lowers it).
    pub raise_to: Option<(String, i64)>,
    /// What the case's history records.
    pub case_event: &'static str,
    /// The report figure it adds to on the case's row.
    pub counts: Option<ReportFigure>,
}

/// Fires `timer` at `now`.
pub fn fire(timer: DueTimer, now: Timestamp) -> FiredTimer {
    let follow_up = timer.kind == TimerKind::FollowUp;
    let raise_to = match (&timer.breach_escalate, timer.breach_rank) {
        (Some(level), Some(rank)) if !follow_up && rank > timer.case_rank => {
            Some((level.clone(), rank))
        }
        _ => None,
    };
    let outcome = if follow_up {
        TimerOutcome::FollowUp {
            action: FOLLOW_UP_ACTION,
        }
    } else {
        TimerOutcome::Breach {
            breach: true,
            escalate: timer.breach_escalate,
            notify: timer.breach_notify,
        }
    };
    FiredTimer {
        decision: TimerDecision {
            case_id: timer.case_id,
            timer: timer.kind,
            due_at: Timestamp(timer.due_at),
            fired_at: now,
            queue: timer.queue,
            outcome,
        },
        kind: if follow_up {
            DecisionKind::FollowUpDue
        } else {
            DecisionKind::SlaBreach
        },
        raise_to,
        case_event: if follow_up {
            "follow_up_due"
        } else {
            "sla_breached"
        },
        counts: (!follow_up).then_some(ReportFigure::SlaBreach),
    }
}

impl TimerDecision {
    /// The level the breach escalates to; `None` for a follow-up.
    pub fn escalate(&self) -> Option<&String> {
        match &self.outcome {
            TimerOutcome::Breach { escalate, .. } => escalate.as_ref(),
            TimerOutcome::FollowUp { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(kind: TimerKind, case_rank: i64) -> DueTimer {
        DueTimer {
            kind,
            due_at: 1_000,
            case_id: "c-1".into(),
            queue: "billing".into(),
            case_rank,
            breach_escalate: Some("manager".into()),
            breach_rank: Some(1),
            breach_notify: vec!["ops".into()],
        }
    }

    #[test]
    fn a_breach_raises_the_case_but_never_lowers_it() {
        let fired = fire(due(TimerKind::Resolve, 0), Timestamp(2_000));
        assert_eq!(fired.kind, DecisionKind::SlaBreach);
        assert_eq!(fired.raise_to, Some(("manager".into(), 1)));
        assert_eq!(fired.case_event, "sla_breached");
        assert_eq!(
            fire(due(TimerKind::Resolve, 1), Timestamp(2_000)).raise_to,
            None
        );
        let json = serde_json::to_value(&fired.decision).unwrap();
        assert_eq!(json["breach"], true);
        assert_eq!(json["notify"][0], "ops");
        assert_eq!(json["timer"], "resolve");
    }

    #[test]
    fn a_follow_up_asks_for_the_call_and_escalates_nothing() {
        let fired = fire(due(TimerKind::FollowUp, 0), Timestamp(2_000));
        assert_eq!(fired.kind, DecisionKind::FollowUpDue);
        assert_eq!(fired.raise_to, None);
        assert_eq!(fired.decision.escalate(), None);
        let json = serde_json::to_value(&fired.decision).unwrap();
        assert!(json.get("breach").is_none());
        assert!(json["action"].as_str().unwrap().contains("seed 000"));
    }
}
