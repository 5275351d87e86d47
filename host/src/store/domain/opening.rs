//! The case a decided complaint opens: the figures the case keeps from its
//! decision, and the SLA timers it arms.

use crate::decision::{Decision, Name};
use crate::store::{TimerKind, TimerState};

/// What a new case records from its decision, beside the event's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseOpening<'a> {
    /// When the complaint was received (ms).
    pub at: i64,
    /// The total value of the offers made.
    pub goodwill: f64,
    /// The offers' currency (every offer of one decision is in the rule
    /// set's currency); `None` without offers.
    pub currency: Option<&'a str>,
    /// Position of the decision's escalation level in
    /// `[ruleset] escalation_levels`; -1 for none.
    pub escalation_rank: i64,
    /// How long resolving may take, from receipt (ms): re-armed on reopen.
    pub resolve_ms: Option<i64>,
    /// How long after resolution the follow-up is due (ms).
    pub follow_up_ms: Option<i64>,
    /// The level a breach escalates to, and its rank.
    pub breach_escalate: Option<&'a str>,
    pub breach_rank: Option<i64>,
    /// Who a breach notifies.
    pub breach_notify: Option<&'a [Name]>,
    /// The SLA timers, in the order they are written.
    pub timers: Vec<PlannedTimer>,
}

/// A timer a new case starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedTimer {
    pub kind: TimerKind,
    pub due_at: i64,
    /// `Pending`, or `Cancelled` for one already due when history is
    /// imported (it must not fire at once).
    pub state: TimerState,
}

/// Position of `level` in `levels`; -1 when there is none, so any level
/// raises a case that has none.
pub fn rank(levels: &[Name], level: Option<&str>) -> i64 {
    level
        .and_then(|level| levels.iter().position(|l| &**l == level))
        .map_or(-1, |p| p as i64)
}

impl<'a> CaseOpening<'a> {
    /// The case `decision` opens. Timers due by `lapse_before` (an import
    /// of history) are recorded as cancelled rather than armed.
    pub fn of(decision: &'a Decision, levels: &[Name], lapse_before: Option<i64>) -> Self {
        let at = decision.received_at.millis();
        let sla = decision.sla.as_ref();
        let breach = sla.and_then(|s| s.on_breach.as_ref());
        let goodwill = decision
            .offers
            .iter()
            .fold(0.0, |sum, offer| sum + offer.value);
        let mut timers = Vec::new();
        if let Some(sla) = sla {
            for (kind, due) in [
                (TimerKind::FirstResponse, sla.first_response_due),
                (TimerKind::Resolve, sla.resolve_due),
            ] {
                let Some(due) = due else { continue };
                let lapsed = lapse_before.is_some_and(|now| due.millis() <= now);
                timers.push(PlannedTimer {
                    kind,
                    due_at: due.millis(),
                    state: if lapsed {
                        TimerState::Cancelled
                    } else {
                        TimerState::Pending
                    },
                });
            }
        }
        CaseOpening {
            at,
            goodwill,
            currency: decision.offers.first().map(|offer| &*offer.currency),
            escalation_rank: rank(levels, decision.escalation_level.as_deref()),
            resolve_ms: sla.and_then(|s| s.resolve_due).map(|due| due.millis() - at),
            follow_up_ms: sla.and_then(|s| s.follow_up_after).map(|d| d.millis()),
            breach_escalate: breach.and_then(|b| b.escalate.as_deref()),
            breach_rank: breach.map(|b| rank(levels, b.escalate.as_deref())),
            breach_notify: breach.map(|b| b.notify.as_slice()),
            timers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_follow_the_levels_and_none_is_below_all() {
        let levels = [Name::from("team_lead"), Name::from("manager")];
        assert_eq!(rank(&levels, Some("manager")), 1);
        assert_eq!(rank(&levels, Some("team_lead")), 0);
        assert_eq!(rank(&levels, None), -1);
        assert_eq!(rank(&levels, Some("unknown")), -1);
    }
}
