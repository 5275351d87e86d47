//! SLA and follow-up timers in the `timers` table, mirrored in the
//! in-memory [`TimerQueue`] the writer takes due ones from.

use rusqlite::{Connection, OptionalExtension, params};

use super::case_events::{add_case_event, count_figure};
use super::timer_queue::{Due, TimerQueue};
use super::writer::WriterState;
use crate::store::domain::timer_decision::{DueTimer, fire};
use crate::store::{Fired, StoreError, TimerKind};
use crate::time::Timestamp;

/// Arms (or re-arms) the case's timer of `kind`.
pub(super) fn arm_timer(
    connection: &Connection,
    timers: &mut TimerQueue,
    case_no: i64,
    kind: TimerKind,
    due_at: i64,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO timers (case_no, kind, due_at, state) VALUES (?1, ?2, ?3, 'pending')
             ON CONFLICT (case_no, kind) DO UPDATE SET due_at = excluded.due_at, state = 'pending', fired_at = NULL",
        )?
        .execute(params![case_no, kind.as_str(), due_at])?;
    timers.arm(Due {
        at: due_at,
        case_no,
        kind,
    });
    Ok(())
}

/// Cancels in the table only: the queue's entries are skipped when taken.
pub(super) fn cancel_timers(
    connection: &Connection,
    case_no: i64,
    kinds: &[TimerKind],
) -> Result<(), StoreError> {
    for kind in kinds {
        connection
            .prepare_cached("UPDATE timers SET state = 'cancelled' WHERE case_no = ?1 AND kind = ?2 AND state = 'pending'")?
            .execute(params![case_no, kind.as_str()])?;
    }
    Ok(())
}

/// Most timers fired by one run; the rest wait for the next tick.
const MOST_FIRED_PER_RUN: usize = 1000;

/// Most entries of the timer queue one run looks at, stale ones included,
/// so that many cancelled timers coming due together cannot hold the
/// writer (and the decisions waiting for it) for long.
const MOST_TAKEN_PER_RUN: usize = 10 * MOST_FIRED_PER_RUN;

/// Fires every timer due at `now`, each exactly once: the timer's state
/// and the time-based decision are written in the same transaction.
pub(super) fn fire_timers(
    connection: &Connection,
    state: &mut WriterState<'_>,
    now: Timestamp,
) -> Result<Vec<Fired>, StoreError> {
    let mut fired = Vec::new();
    let mut taken = 0;
    while fired.len() < MOST_FIRED_PER_RUN && taken < MOST_TAKEN_PER_RUN {
        let Some(Due { case_no, kind, .. }) = state.timers.take_due(now.millis()) else {
            break;
        };
        taken += 1;
        // The queue's entry may be stale: the table says whether the timer
        // is still pending and due.
        let Some(due) = pending_timer(connection, case_no, kind, now)? else {
            continue;
        };
        let changed = connection
            .prepare_cached(
                "UPDATE timers SET state = 'fired', fired_at = ?3 WHERE case_no = ?1 AND kind = ?2 AND state = 'pending'",
            )?
            .execute(params![case_no, kind.as_str(), now.millis()])?;
        if changed != 1 {
            continue;
        }
        let outcome = fire(due, now);
        let decision = &outcome.decision;
        let line = state.audit.append(
            outcome.kind.as_str(),
            None,
            &serde_json::to_string(decision)?,
            None,
        );
        connection
            .prepare_cached(
                // The timer keeps the commitment of the decision that set
                // it: that decision's ruleset version and plugin digests.
                "INSERT INTO decisions (event_id, case_id, case_no, kind, decided_at, ruleset_version, plugin_digests, event, decision, payload_at, payload_len)
                 SELECT ?1, ?2, ?3, ?4, ?5, COALESCE(d.ruleset_version, 'unknown'), COALESCE(d.plugin_digests, '{}'), NULL, '', ?6, ?7
                 FROM (SELECT 1) LEFT JOIN (SELECT ruleset_version, plugin_digests FROM decisions
                       WHERE case_no = ?3 AND kind = 'complaint' ORDER BY seq DESC LIMIT 1) d",
            )?
            .execute(params![
                format!("{}#{kind}", decision.case_id),
                decision.case_id,
                case_no,
                outcome.kind.as_str(),
                now.millis(),
                line.at,
                line.len
            ])?;
        let seq = connection.last_insert_rowid();
        if let Some((level, rank)) = &outcome.raise_to {
            connection
                .prepare_cached(
                    "UPDATE cases SET escalation_level = ?2, escalation_rank = ?3 WHERE no = ?1",
                )?
                .execute(params![case_no, level, rank])?;
        }
        if let Some(figure) = outcome.counts {
            count_figure(connection, case_no, figure)?;
        }
        add_case_event(
            connection,
            case_no,
            outcome.case_event,
            now.millis(),
            Some(serde_json::json!({ "timer": kind })),
        )?;
        fired.push(Fired {
            seq,
            case_id: decision.case_id.clone(),
            timer: kind,
            due_at: decision.due_at,
            escalate: decision.escalate().cloned(),
        });
    }
    Ok(fired)
}

/// The case's timer of `kind` if it is pending and due at `now`, with what
/// firing it needs of the case.
fn pending_timer(
    connection: &Connection,
    case_no: i64,
    kind: TimerKind,
    now: Timestamp,
) -> Result<Option<DueTimer>, StoreError> {
    let row = connection
        .prepare_cached(
            "SELECT t.due_at, c.id, c.breach_escalate, c.breach_rank, c.breach_notify, c.queue, c.escalation_rank
             FROM timers t JOIN cases c ON c.no = t.case_no
             WHERE t.case_no = ?1 AND t.kind = ?2 AND t.state = 'pending' AND t.due_at <= ?3",
        )?
        .query_row(params![case_no, kind.as_str(), now.millis()], |row| {
            Ok((
                DueTimer {
                    kind,
                    due_at: row.get(0)?,
                    case_id: row.get(1)?,
                    breach_escalate: row.get(2)?,
                    breach_rank: row.get(3)?,
                    breach_notify: Vec::new(),
                    queue: row.get(5)?,
                    case_rank: row.get(6)?,
                },
                row.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()?;
    let Some((mut due, notify)) = row else {
        return Ok(None);
    };
    if let Some(notify) = notify {
        due.breach_notify = serde_json::from_str(&notify)?;
    }
    Ok(Some(due))
}
