//! Firing due timers on PostgreSQL, once across every node.
//!
//! A run claims the due timers with `FOR UPDATE SKIP LOCKED`: timers
//! another node is firing are skipped, not waited for. Marking a timer
//! fired and recording its decision happen in the claiming transaction, so
//! a timer fires exactly when that transaction commits. A node that dies
//! mid-run loses its connection, PostgreSQL rolls its transaction back and
//! releases the rows, and the next run on any node fires them: no lease to
//! expire, no timer lost or fired twice.

use super::client::PgConnection;
use super::lifecycle::{ADD_CASE_EVENT, count_figure};
use super::locks;
use crate::store::domain::timer_decision::{DueTimer, fire};
use crate::store::{Fired, StoreError, TimerKind};
use crate::time::Timestamp;

/// Most timers fired by one run; the rest wait for the next tick.
const MOST_FIRED_PER_RUN: i64 = 1000;

const CLAIM: &str = "SELECT t.case_id, t.kind, t.due_at, c.breach_escalate, c.breach_rank, c.breach_notify, c.queue, c.escalation_rank
     FROM timers t JOIN cases c ON c.id = t.case_id
    WHERE t.state = 'pending' AND t.due_at <= $1
    ORDER BY t.due_at
    LIMIT $2
      FOR UPDATE OF t SKIP LOCKED";

/// The timer keeps the commitment of the decision that set it: that
/// decision's ruleset version and plugin digests.
const INSERT_DECISION: &str = "INSERT INTO decisions (event_id, case_id, kind, decided_at, ruleset_version, plugin_digests, decision)
     SELECT $1, $2, $3, $4, COALESCE(d.ruleset_version, 'unknown'), COALESCE(d.plugin_digests, '{}'), $5
       FROM (SELECT 1) one LEFT JOIN (SELECT ruleset_version, plugin_digests FROM decisions
              WHERE case_id = $2 AND kind = 'complaint' ORDER BY seq DESC LIMIT 1) d ON true
     RETURNING seq";

pub(super) fn fire_timers(
    connection: &PgConnection,
    now: Timestamp,
) -> Result<Vec<Fired>, StoreError> {
    let claimed = connection.query(CLAIM, &[&now.millis(), &MOST_FIRED_PER_RUN])?;
    let mut fired = Vec::with_capacity(claimed.len());
    for row in claimed {
        let kind: String = row.try_get(1)?;
        let kind: TimerKind = kind.parse().map_err(|_| {
            StoreError::Inconsistent(format!("unknown timer kind `{kind}` in the store"))
        })?;
        let notify: Option<String> = row.try_get(5)?;
        let due = DueTimer {
            kind,
            due_at: row.try_get(2)?,
            case_id: row.try_get(0)?,
            breach_escalate: row.try_get(3)?,
            breach_rank: row.try_get(4)?,
            breach_notify: match notify {
                Some(notify) => serde_json::from_str(&notify)?,
                None => Vec::new(),
            },
            queue: row.try_get(6)?,
            case_rank: row.try_get(7)?,
        };
        let case_id = due.case_id.clone();
        // A lifecycle event of this case under way on another node holds
        // the case: leave the timer to the next run rather than wait while
        // holding the others (see `locks`).
        let taken: bool = connection
            .query_one(
                "SELECT pg_try_advisory_xact_lock($1)",
                &[&locks::event(&case_id)],
            )?
            .try_get(0)?;
        if !taken {
            continue;
        }
        connection.execute(
            "UPDATE timers SET state = 'fired', fired_at = $3 WHERE case_id = $1 AND kind = $2",
            &[&case_id, &kind.as_str(), &now.millis()],
        )?;
        let outcome = fire(due, now);
        let decision = &outcome.decision;
        let seq: i64 = connection
            .query_one(
                INSERT_DECISION,
                &[
                    &format!("{}#{kind}", decision.case_id),
                    &decision.case_id,
                    &outcome.kind.as_str(),
                    &now.millis(),
                    &serde_json::to_string(decision)?,
                ],
            )?
            .try_get(0)?;
        if let Some((level, rank)) = &outcome.raise_to {
            connection.execute(
                "UPDATE cases SET escalation_level = $2, escalation_rank = $3 WHERE id = $1",
                &[&case_id, level, rank],
            )?;
        }
        if let Some(figure) = outcome.counts {
            count_figure(connection, &case_id, figure)?;
        }
        connection.execute(
            ADD_CASE_EVENT,
            &[
                &case_id,
                &outcome.case_event,
                &now.millis(),
                &Some(serde_json::json!({ "timer": kind }).to_string()),
            ],
        )?;
        fired.push(Fired {
            seq,
            case_id,
            timer: kind,
            due_at: decision.due_at,
            escalate: decision.escalate().cloned(),
        });
    }
    Ok(fired)
}
