//! One step of retention in the writer's transaction: at most
//! `step_rows` rows of each table, so that a step costs a batch about what
//! a few decisions do and the writer never stalls behind it. What a step
//! removes from the case index is undone with its savepoint.
//!
//! - entries of archived segments leave `decisions`, oldest first, and the
//!   segment leaves `audit_segments` once it has none;
//! - closed cases that closed and opened before their cutoffs go with
//!   their history, timers and grants (never a case with a pending timer);
//! - control-line counts older than their cutoff, a few grid cells per
//!   step, walking the cells in order across steps;
//! - authority uses older than their cutoff, oldest first.

use rusqlite::{Connection, OptionalExtension, params};

use super::audit_archive::SealedSegment;
use super::writer::WriterState;
use crate::store::StoreError;
use crate::store::domain::tally_window::buckets_of;
use crate::store::retention::{Cutoffs, PruneReport};

/// Grid cells one step visits, whether or not they have counts to prune.
const CELLS_PER_STEP: usize = 64;

/// What the writer is asked to prune.
#[derive(Debug, Clone)]
pub(in crate::store) struct PruneRequest {
    pub cutoffs: Cutoffs,
    /// Segments the archive holds whole, whose entries may leave.
    pub archived: Vec<SealedSegment>,
}

/// What a step did.
#[derive(Debug, Clone, Default)]
pub(in crate::store) struct PruneStep {
    pub report: PruneReport,
    /// Segments no longer live: their files may be removed.
    pub released: Vec<u64>,
}

/// Where the walk over control-line cells is, between steps.
#[derive(Debug, Clone, Default)]
pub(in crate::store) struct TallyCursor {
    after: Option<(String, String)>,
}

pub(super) fn prune_step(
    connection: &Connection,
    state: &mut WriterState<'_>,
    request: &PruneRequest,
) -> Result<PruneStep, StoreError> {
    let rows = request.cutoffs.step_rows;
    let mut step = PruneStep::default();
    archived_entries(connection, request, rows, &mut step)?;
    state.released.extend(&step.released);
    closed_cases(connection, state, &request.cutoffs, rows, &mut step.report)?;
    tallies(connection, state, &request.cutoffs, rows, &mut step.report)?;
    authority_uses(connection, &request.cutoffs, rows, &mut step.report)?;
    Ok(step)
}

fn archived_entries(
    connection: &Connection,
    request: &PruneRequest,
    rows: usize,
    step: &mut PruneStep,
) -> Result<(), StoreError> {
    let mut left = rows;
    for segment in &request.archived {
        let deleted = connection
            .prepare_cached(
                "DELETE FROM decisions WHERE seq IN
                 (SELECT seq FROM decisions WHERE seq >= ?1 AND seq < ?2 ORDER BY seq LIMIT ?3)",
            )?
            .execute(params![segment.first_seq, segment.next_seq, left as i64])?;
        step.report.entries += deleted;
        left -= deleted.min(left);
        if left == 0 {
            step.report.more = true;
            return Ok(());
        }
        connection
            .prepare_cached("DELETE FROM audit_segments WHERE start = ?1")?
            .execute([segment.start as i64])?;
        step.released.push(segment.start);
    }
    Ok(())
}

fn closed_cases(
    connection: &Connection,
    state: &mut WriterState<'_>,
    cutoffs: &Cutoffs,
    rows: usize,
    report: &mut PruneReport,
) -> Result<(), StoreError> {
    let cases: Vec<(i64, String, Option<String>)> = connection
        .prepare_cached(
            "SELECT no, id, customer_id FROM cases
             WHERE opened_at < ?1 AND status = 'closed' AND closed_at < ?2
               AND NOT EXISTS (SELECT 1 FROM timers WHERE timers.case_no = cases.no AND timers.state = 'pending')
             ORDER BY opened_at LIMIT ?3",
        )?
        .query_map(
            params![
                cutoffs.cases_opened_before.millis(),
                cutoffs.cases_closed_before.millis(),
                rows as i64
            ],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?
        .collect::<Result<_, _>>()?;
    for (no, id, customer) in &cases {
        connection
            .prepare_cached("DELETE FROM case_events WHERE case_no = ?1")?
            .execute([no])?;
        connection
            .prepare_cached("DELETE FROM timers WHERE case_no = ?1")?
            .execute([no])?;
        connection
            .prepare_cached("DELETE FROM case_grants WHERE case_id = ?1")?
            .execute([id])?;
        connection
            .prepare_cached("DELETE FROM cases WHERE no = ?1")?
            .execute([no])?;
        state.cases.write().forget(id, customer.as_deref(), *no);
    }
    report.cases += cases.len();
    report.more |= cases.len() == rows;
    Ok(())
}

fn tallies(
    connection: &Connection,
    state: &mut WriterState<'_>,
    cutoffs: &Cutoffs,
    rows: usize,
    report: &mut PruneReport,
) -> Result<(), StoreError> {
    let cut = buckets_of(cutoffs.tallies_before.millis());
    let mut left = rows;
    for _ in 0..CELLS_PER_STEP {
        let next: Option<(String, String)> = match &state.tally_cursor.after {
            None => connection
                .prepare_cached("SELECT rule, grp FROM control_tallies ORDER BY rule, grp LIMIT 1")?
                .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?,
            Some((rule, group)) => connection
                .prepare_cached(
                    "SELECT rule, grp FROM control_tallies WHERE (rule, grp) > (?1, ?2)
                     ORDER BY rule, grp LIMIT 1",
                )?
                .query_row(params![rule, group], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?,
        };
        let Some((rule, group)) = next else {
            // A whole walk over the cells is done; the next run starts over.
            state.tally_cursor.after = None;
            return Ok(());
        };
        for (level, bucket) in cut {
            let deleted = connection
                .prepare_cached(
                    "DELETE FROM control_tallies WHERE rule = ?1 AND grp = ?2 AND level = ?3 AND bucket IN
                     (SELECT bucket FROM control_tallies WHERE rule = ?1 AND grp = ?2 AND level = ?3 AND bucket < ?4
                      ORDER BY bucket LIMIT ?5)",
                )?
                .execute(params![rule, group, level as i64, bucket, left as i64])?;
            report.tallies += deleted;
            left -= deleted.min(left);
            if left == 0 {
                // This cell may hold more: it is visited again next step.
                report.more = true;
                return Ok(());
            }
        }
        state.tally_cursor.after = Some((rule, group));
    }
    report.more = true;
    Ok(())
}

fn authority_uses(
    connection: &Connection,
    cutoffs: &Cutoffs,
    rows: usize,
    report: &mut PruneReport,
) -> Result<(), StoreError> {
    // Uses are inserted as they happen, so the oldest rows come first: the
    // step stops at the first one still inside its window.
    let oldest: Vec<(i64, i64)> = connection
        .prepare_cached("SELECT rowid, at FROM authority_uses ORDER BY rowid LIMIT ?1")?
        .query_map([rows as i64], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let expired = oldest
        .iter()
        .take_while(|(_, at)| *at < cutoffs.authority_uses_before.millis())
        .count();
    if let Some(&(last, _)) = expired.checked_sub(1).and_then(|at| oldest.get(at)) {
        connection
            .prepare_cached("DELETE FROM authority_uses WHERE rowid <= ?1")?
            .execute([last])?;
    }
    report.authority_uses += expired;
    report.more |= expired == rows;
    Ok(())
}
