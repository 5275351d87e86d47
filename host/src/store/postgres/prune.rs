//! One step of retention on PostgreSQL, in a transaction of its own on a
//! reader's connection, never the writer's: at most `step_rows` rows of
//! each table.
//!
//! - closed cases that closed and opened before their cutoffs go with
//!   their history, timers and grants (never a case with a pending timer);
//! - control-line counts older than their cutoff;
//! - authority uses older than their cutoff.
//!
//! Every node of a cluster prunes. Each takes the rows it deletes with
//! `FOR UPDATE SKIP LOCKED`, so two nodes never wait for each other, and a
//! case a lifecycle event holds is left to a later step.
//!
//! The audit log is not pruned: nothing archives it beside the database,
//! which is then its only copy (docs/retention.md).

use super::client::PgConnection;
use crate::store::StoreError;
use crate::store::domain::tally_window::buckets_of;
use crate::store::retention::{Cutoffs, PruneReport};

const CLOSED_CASES: &str = "SELECT id FROM cases c
  WHERE opened_at < $1 AND status = 'closed' AND closed_at < $2
    AND NOT EXISTS (SELECT 1 FROM timers t WHERE t.case_id = c.id AND t.state = 'pending')
  ORDER BY opened_at LIMIT $3
    FOR UPDATE SKIP LOCKED";

/// What goes with a case, then the case.
const CASE_ROWS: [&str; 4] = [
    "DELETE FROM case_events WHERE case_id = ANY($1)",
    "DELETE FROM timers WHERE case_id = ANY($1)",
    "DELETE FROM case_grants WHERE case_id = ANY($1)",
    "DELETE FROM cases WHERE id = ANY($1)",
];

const OLD_TALLIES: &str = "DELETE FROM control_tallies WHERE ctid = ANY(ARRAY(
  SELECT ctid FROM control_tallies WHERE level = $1 AND bucket < $2 LIMIT $3 FOR UPDATE SKIP LOCKED))";

const OLD_USES: &str = "DELETE FROM authority_uses WHERE ctid = ANY(ARRAY(
  SELECT ctid FROM authority_uses WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED))";

/// One step, committed on its own.
pub(super) fn prune_step(
    connection: &PgConnection,
    cutoffs: &Cutoffs,
) -> Result<PruneReport, StoreError> {
    connection.batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
    match step(connection, cutoffs) {
        Ok(report) => {
            connection.batch("COMMIT")?;
            Ok(report)
        }
        Err(error) => {
            let _ = connection.batch("ROLLBACK");
            Err(error)
        }
    }
}

fn step(connection: &PgConnection, cutoffs: &Cutoffs) -> Result<PruneReport, StoreError> {
    let rows = cutoffs.step_rows as i64;
    let mut report = PruneReport::default();

    let cases = connection.query(
        CLOSED_CASES,
        &[
            &cutoffs.cases_opened_before.millis(),
            &cutoffs.cases_closed_before.millis(),
            &rows,
        ],
    )?;
    let ids = cases
        .iter()
        .map(|row| row.try_get::<_, String>(0))
        .collect::<Result<Vec<_>, _>>()?;
    if !ids.is_empty() {
        for sql in CASE_ROWS {
            connection.execute(sql, &[&ids])?;
        }
    }
    report.cases = ids.len();
    report.more |= ids.len() as i64 == rows;

    let mut left = rows;
    for (level, bucket) in buckets_of(cutoffs.tallies_before.millis()) {
        let deleted = connection.execute(OLD_TALLIES, &[&(level as i64), &bucket, &left])?;
        report.tallies += deleted as usize;
        left -= deleted as i64;
        if left <= 0 {
            report.more = true;
            break;
        }
    }

    let deleted =
        connection.execute(OLD_USES, &[&cutoffs.authority_uses_before.millis(), &rows])?;
    report.authority_uses = deleted as usize;
    report.more |= deleted as i64 == rows;
    Ok(report)
}
