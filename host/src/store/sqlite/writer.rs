//! The writer thread: takes what is queued into one transaction, commits
//! once, and only then answers (group commit). Lifecycle events and timer
//! runs each get a savepoint; decisions share the transaction unless one
//! fails, and then the batch is run again a savepoint per command.

use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior};

use super::audit_file::AuditFile;
use super::case_events::apply_event;
use super::case_index::SharedCaseIndex;
use super::complaint::record_complaint;
use super::prune::{TallyCursor, prune_step};
use super::timer_queue::TimerQueue;
use super::timers::fire_timers;
use super::versions::record_snapshot;
use crate::store::writer_queue::{Command, Isolation, Outcome, next_batch, settle};
use crate::store::{Intake, Recorded, StoreError, StoreMetrics};

pub(super) fn writer_loop(
    mut connection: Connection,
    state: &mut WriterState<'_>,
    metrics: &StoreMetrics,
    commands: Receiver<Command>,
    max_batch: usize,
) {
    while let Some(batch) = next_batch(&commands, max_batch) {
        let started = Instant::now();
        if let Err(error) = state
            .audit
            .start_segment_if_full(&connection, state.segment_bytes)
        {
            // The batch goes on in the segment it was appending to.
            tracing::error!(%error, "audit log: cannot start a new segment");
        }
        let result = run_batch(&mut connection, state, &batch);
        let took = started.elapsed();
        metrics
            .cases_indexed
            .store(state.cases.read().len() as u64, Ordering::Relaxed);
        metrics
            .timers_queued
            .store(state.timers.len() as u64, Ordering::Relaxed);
        metrics
            .audit_file_bytes
            .store(state.audit.live_len(), Ordering::Relaxed);
        settle(batch, result, metrics, took);
    }
}

/// Runs a batch in one transaction, answers once committed. If a decision
/// fails on the fast path, the transaction is rolled back and the batch run
/// again with a savepoint per command (decisions are deterministic given
/// the state, so the second run decides the same).
fn run_batch(
    connection: &mut Connection,
    state: &mut WriterState<'_>,
    batch: &[Command],
) -> Result<Vec<Outcome>, StoreError> {
    match run_transaction(connection, state, batch, Isolation::Shared)? {
        Some(outcomes) => Ok(outcomes),
        // A savepoint per command never gives up on the batch.
        None => {
            run_transaction(connection, state, batch, Isolation::SavepointEach)?.ok_or_else(|| {
                StoreError::NotCommitted("a command failed outside its savepoint".to_string())
            })
        }
    }
}

/// One transaction over the batch; `None` when a decision failed with
/// `Isolation::Shared` (the transaction is then rolled back). The case
/// index, the timer queue and the audit file keep the transaction's changes
/// only if it commits.
fn run_transaction(
    connection: &mut Connection,
    state: &mut WriterState<'_>,
    batch: &[Command],
    isolation: Isolation,
) -> Result<Option<Vec<Outcome>>, StoreError> {
    let result = run_transaction_uncommitted(connection, state, batch, isolation);
    match result {
        Ok(Some(_)) => state.commit(),
        _ => state.rollback(),
    }
    result
}

/// What the writer keeps beside the database, changed with its
/// transactions.
pub(super) struct WriterState<'a> {
    pub(super) cases: &'a SharedCaseIndex,
    pub(super) timers: TimerQueue,
    pub(super) audit: AuditFile,
    pub(super) tally_cursor: TallyCursor,
    /// `[store.retention] segment_bytes`.
    pub(super) segment_bytes: u64,
    /// Segments the transaction under way archived away: forgotten by the
    /// audit file once it commits.
    pub(super) released: Vec<u64>,
}

/// Where a savepoint began, in each part of the [`WriterState`].
#[derive(Clone, Copy)]
struct Marks {
    cases: usize,
    timers: usize,
    audit: usize,
    released: usize,
}

impl WriterState<'_> {
    fn mark(&self) -> Marks {
        Marks {
            cases: self.cases.read().mark(),
            timers: self.timers.mark(),
            audit: self.audit.mark(),
            released: self.released.len(),
        }
    }

    /// A savepoint was rolled back.
    fn rollback_to(&mut self, marks: Marks) {
        self.cases.write().rollback_to(marks.cases);
        self.timers.rollback_to(marks.timers);
        self.audit.rollback_to(marks.audit);
        self.released.truncate(marks.released);
    }

    fn commit(&mut self) {
        self.cases.write().commit();
        self.timers.commit();
        self.audit.commit();
        for start in self.released.drain(..) {
            self.audit.forget_segment(start);
        }
    }

    fn rollback(&mut self) {
        self.cases.write().rollback_to(0);
        self.timers.rollback_to(0);
        self.audit.rollback();
        self.released.clear();
    }
}

fn run_transaction_uncommitted(
    connection: &mut Connection,
    state: &mut WriterState<'_>,
    batch: &[Command],
    isolation: Isolation,
) -> Result<Option<Vec<Outcome>>, StoreError> {
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for command in batch {
        if isolation == Isolation::Shared
            && let Command::Decide { items, .. } = command
        {
            match record_all(&transaction, state, items) {
                Ok(recorded) => outcomes.push(Outcome::Decide(Ok(recorded))),
                Err(error) => {
                    tracing::warn!(%error, "a decision failed to record; the batch is retried a command at a time");
                    return Ok(None);
                }
            }
            continue;
        }
        let savepoint = transaction.savepoint()?;
        let marks = state.mark();
        let outcome = match command {
            Command::Decide { items, .. } => Outcome::Decide(record_all(&savepoint, state, items)),
            Command::Apply {
                case_id,
                event,
                now,
                ..
            } => Outcome::Apply(Box::new(apply_event(
                &savepoint, state, case_id, event, *now,
            ))),
            Command::Fire { now, .. } => Outcome::Fire(fire_timers(&savepoint, state, *now)),
            Command::Keep { record, .. } => Outcome::Keep(record_snapshot(&savepoint, record)),
            Command::Prune { request, .. } => {
                Outcome::Prune(prune_step(&savepoint, state, request))
            }
        };
        if outcome.is_ok() {
            savepoint.commit()?;
        } else {
            savepoint.finish()?;
            state.rollback_to(marks);
        }
        outcomes.push(outcome);
    }
    // The lines first: a committed entry always has its line.
    state.audit.write_pending()?;
    transaction.commit()?;
    Ok(Some(outcomes))
}

fn record_all(
    connection: &Connection,
    state: &mut WriterState<'_>,
    items: &[Intake],
) -> Result<Vec<Recorded>, StoreError> {
    items
        .iter()
        .map(|intake| record_complaint(connection, state, intake))
        .collect()
}
