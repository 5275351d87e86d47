//! The embedded store: one SQLite file (WAL) in the data directory, and
//! the audit file beside it ([`AuditFile`]: each decision's event and
//! answer).
//!
//! One writer thread owns the write connection. Requests queue on a
//! channel; the writer takes everything queued (up to `max_batch`) into one
//! transaction (lifecycle events and timer runs each in a savepoint of
//! their own), writes the batch's lines to the audit file, commits once,
//! and only then answers them all: group commit, so durability costs two
//! syncs per batch (the file's and the WAL's), not per complaint. Reads
//! (cases, the audit log, reports, simulations) use a separate connection,
//! which WAL lets run alongside. Case ids and customers' cases are looked
//! up in a [`CaseIndex`] in memory, which the writer changes with its
//! transactions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;

use crate::decision::{Decision, Name};
use crate::engine::{BudgetUse, Group, StateView, group_key};
use crate::event::ComplaintEvent;
use crate::expr::CustomerHistory;
use crate::intake::Decided;
use crate::store::audit_file::AuditFile;
use crate::store::case_index::{CaseIndex, SharedCaseIndex};
use crate::store::lifecycle::{
    AuthorityUseError, LifecycleError, LifecycleEvent, LifecycleKind, Status, transition, when,
};
use crate::store::queries::{Payload, read_case, read_decisions, read_report};
use crate::store::report::Report;
use crate::store::tally;
use crate::store::timer::TimerKind;
use crate::store::timer_queue::{Due, TimerQueue};
use crate::store::{
    AuditReader, CaseView, DecisionKind, DecisionPage, DecisionQuery, Fired, Intake, LogQuery,
    LoggedComplaint, Pending, Recorded, SnapshotRecord, Store, StoreError, StoreMetrics,
};
use crate::time::{Clock, Duration, Timestamp};

/// Schema migrations, in order; applied once each.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_initial.sql")),
    (
        2,
        include_str!("../../migrations/0002_one_customer_index.sql"),
    ),
    (
        3,
        include_str!("../../migrations/0003_cases_indexed_in_memory.sql"),
    ),
    (
        4,
        include_str!("../../migrations/0004_timers_due_in_memory.sql"),
    ),
    (
        5,
        include_str!("../../migrations/0005_audit_payloads_in_a_file.sql"),
    ),
    (6, include_str!("../../migrations/0006_snapshots_kept.sql")),
    (7, include_str!("../../migrations/0007_case_currency.sql")),
];

/// How hard a commit tries to survive a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Synced to disk before the answer: survives power loss.
    Full,
    /// Written to the OS before the answer: survives a crash of the
    /// daemon, not of the machine. Faster.
    Normal,
}

/// Settings of the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub durability: Durability,
    /// Most requests in one transaction.
    pub max_batch: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Full,
            max_batch: 512,
        }
    }
}

enum Command {
    Decide {
        items: Vec<Intake>,
        reply: oneshot::Sender<Result<Vec<Recorded>, StoreError>>,
    },
    Apply {
        case_id: String,
        /// Boxed: lifecycle events are rare, decisions are the hot path.
        event: Box<LifecycleEvent>,
        now: Timestamp,
        reply: oneshot::Sender<Result<CaseView, LifecycleError>>,
    },
    Fire {
        now: Timestamp,
        reply: oneshot::Sender<Result<Vec<Fired>, StoreError>>,
    },
}

/// The embedded store.
pub struct SqliteStore {
    path: PathBuf,
    commands: Option<SyncSender<Command>>,
    /// Held only for one query; never across an await.
    reader: Mutex<Connection>,
    /// The audit file, for the reader.
    audit: AuditFile,
    cases: Arc<SharedCaseIndex>,
    metrics: Arc<StoreMetrics>,
    writer: Option<JoinHandle<()>>,
    clock: Arc<dyn Clock>,
    /// The data directory's lock, released last (after the writer stops).
    _lock: super::DataLock,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Page cache per connection, in KiB: enough to keep the indexes the
/// writer touches for every decision out of the kernel's read path.
const CACHE_KIB: u32 = 16_384;

pub(super) fn open_connection(
    path: &Path,
    durability: Durability,
) -> Result<Connection, StoreError> {
    let connection = Connection::open(path).map_err(|error| StoreError::Open {
        path: path.display().to_string(),
        message: error.to_string(),
    })?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    connection.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = 10000;
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{CACHE_KIB};"
    ))?;
    // Plans stay as prepared: without this, SQLite re-prepares a cached
    // statement whenever a bound value might change its plan.
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(connection)
}

/// Where the last committed entry's line in the audit file ends: entries
/// are appended in order of sequence, so it is the last entry's, and 0 if
/// the log is empty or the last entry predates schema version 5.
pub(super) fn committed_audit_end(connection: &Connection) -> Result<u64, StoreError> {
    let end: Option<Option<i64>> = connection
        .query_row(
            "SELECT payload_at + payload_len FROM decisions ORDER BY seq DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()?;
    Ok(end.flatten().map_or(0, |end| end.max(0) as u64))
}

/// Refuses a database of another schema version than this binary's.
pub(super) fn check_schema_current(connection: &Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = connection
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(|error| StoreError::Open {
            path: path.display().to_string(),
            message: format!("not a Redress store ({error})"),
        })?;
    let known = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    if found > known {
        return Err(StoreError::NewerSchema { found, known });
    }
    if found < known {
        return Err(StoreError::Open {
            path: path.display().to_string(),
            message: format!(
                "written by an older Redress (schema version {found}; this one knows {known}); start the daemon once to migrate it"
            ),
        });
    }
    Ok(())
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let current: i64 = connection.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if current > known {
        return Err(StoreError::NewerSchema {
            found: current,
            known,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        transaction.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, Timestamp::now().millis()],
        )?;
        transaction.commit()?;
        tracing::info!(version, "store schema migrated");
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating) `directory/redress.db`.
    pub fn open(
        directory: &Path,
        options: StoreOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(directory).map_err(|error| StoreError::Open {
            path: directory.display().to_string(),
            message: error.to_string(),
        })?;
        let lock = super::DataLock::acquire(directory)?;
        let path = super::database_path(directory);
        let mut writer = open_connection(&path, options.durability)?;
        migrate(&mut writer)?;
        let started = Instant::now();
        let cases = Arc::new(SharedCaseIndex::new(CaseIndex::load(&writer)?));
        let indexed = cases.read().len();
        tracing::info!(
            cases = indexed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "case index loaded"
        );
        let started = Instant::now();
        let timers = TimerQueue::load(&writer)?;
        tracing::info!(
            timers = timers.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "pending timers loaded"
        );
        let metrics = Arc::new(StoreMetrics::default());
        metrics
            .cases_indexed
            .store(indexed as u64, Ordering::Relaxed);
        metrics
            .timers_queued
            .store(timers.len() as u64, Ordering::Relaxed);
        let committed_end = committed_audit_end(&writer)?;
        let sync = options.durability == Durability::Full;
        let audit = match AuditFile::open_for_writing(directory, committed_end, sync) {
            // With `durability = "normal"` a power loss can take the last
            // lines: expected, so repaired at once and logged. With `full`
            // every committed line was synced, so a short file means it was
            // damaged, and the operator decides (`redress store repair`).
            Err(StoreError::AuditFileShort { .. }) if !sync => {
                let report = super::repair::repair_audit_file(directory, &writer)?;
                tracing::error!(
                    lost = report.lost.len(),
                    first_lost = report.lost.first().map(|l| l.seq),
                    last_lost = report.lost.last().map(|l| l.seq),
                    "audit file: shorter than the database says (a power loss with durability = \"normal\"?); the lost entries read with a null decision"
                );
                AuditFile::open_for_writing(directory, committed_end, sync)?
            }
            other => other?,
        };
        let audit_end = audit.committed_len();
        metrics.audit_file_bytes.store(audit_end, Ordering::Relaxed);
        let reader = open_connection(&path, options.durability)?;
        let (sender, receiver) = sync_channel::<Command>(16 * 1024);
        let max_batch = options.max_batch.max(1);
        let handle = std::thread::Builder::new()
            .name("redress-store".to_string())
            .spawn({
                let cases = Arc::clone(&cases);
                let metrics = Arc::clone(&metrics);
                move || {
                    let mut state = WriterState {
                        cases: &cases,
                        timers,
                        audit,
                    };
                    writer_loop(writer, &mut state, &metrics, receiver, max_batch);
                }
            })
            .map_err(|error| StoreError::Open {
                path: path.display().to_string(),
                message: format!("cannot start the writer thread: {error}"),
            })?;
        Ok(SqliteStore {
            path,
            commands: Some(sender),
            reader: Mutex::new(reader),
            audit: AuditFile::open_for_reading(directory, audit_end)?,
            cases,
            metrics,
            writer: Some(handle),
            clock,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn send(&self, command: Command) -> Result<(), Command> {
        match &self.commands {
            Some(sender) => match sender.try_send(command) {
                Ok(()) => Ok(()),
                // A full queue waits: back-pressure reaches the caller.
                Err(TrySendError::Full(command)) => sender.send(command).map_err(|e| e.0),
                Err(TrySendError::Disconnected(command)) => Err(command),
            },
            None => Err(command),
        }
    }

    fn read<T>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let connection = match self.reader.lock() {
            Ok(connection) => connection,
            Err(poisoned) => poisoned.into_inner(),
        };
        query(&connection)
    }

    /// Stops the writer after it has committed everything queued.
    pub fn close(&mut self) {
        self.commands = None;
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

impl AuditReader for SqliteStore {
    fn complaints(
        &self,
        query: &LogQuery,
        visit: &mut dyn FnMut(LoggedComplaint) -> std::ops::ControlFlow<()>,
    ) -> Result<(), StoreError> {
        // A connection of its own: a long read of the log must not hold the
        // reader's (which `visit` may need, to look up a snapshot).
        let connection = rusqlite::Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        super::log_reader::visit_complaints(&connection, &self.audit, query, visit)
    }

    fn snapshot(&self, version: &str) -> Result<Option<SnapshotRecord>, StoreError> {
        self.read(|connection| super::versions::read_snapshot(connection, version))
    }

    fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|connection| super::versions::component(connection, digest))
    }
}

impl Store for SqliteStore {
    fn decide_and_record(&self, items: Vec<Intake>) -> Pending<Result<Vec<Recorded>, StoreError>> {
        let (reply, pending) = oneshot::channel();
        if let Err(Command::Decide { reply, .. }) = self.send(Command::Decide { items, reply }) {
            let _ = reply.send(Err(StoreError::Closed));
        }
        pending
    }

    fn apply(
        &self,
        case_id: String,
        event: LifecycleEvent,
    ) -> Pending<Result<CaseView, LifecycleError>> {
        let (reply, pending) = oneshot::channel();
        let now = self.clock.now();
        if let Err(Command::Apply { reply, .. }) = self.send(Command::Apply {
            case_id,
            event: Box::new(event),
            now,
            reply,
        }) {
            let _ = reply.send(Err(LifecycleError::Store(StoreError::Closed)));
        }
        pending
    }

    fn fire_due_timers(&self, now: Timestamp) -> Pending<Result<Vec<Fired>, StoreError>> {
        let (reply, pending) = oneshot::channel();
        if let Err(Command::Fire { reply, .. }) = self.send(Command::Fire { now, reply }) {
            let _ = reply.send(Err(StoreError::Closed));
        }
        pending
    }

    fn case(&self, id: &str) -> Result<Option<CaseView>, StoreError> {
        let Some(case_no) = self.cases.read().case_no(id) else {
            return Ok(None);
        };
        self.read(|connection| read_case(connection, &self.audit, case_no))
    }

    fn decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, StoreError> {
        let case_no = match &query.case_id {
            None => None,
            Some(id) => match self.cases.read().case_no(id) {
                Some(case_no) => Some(case_no),
                None => return Ok(DecisionPage::default()),
            },
        };
        self.read(|connection| read_decisions(connection, &self.audit, query, case_no))
    }

    fn report(&self, from: Timestamp, to: Timestamp) -> Result<Report, StoreError> {
        self.read(|connection| read_report(connection, from, to))
    }

    fn with_view(&self, read: &mut dyn FnMut(&dyn StateView)) -> Result<(), StoreError> {
        self.read(|connection| {
            read(&SqlView {
                connection,
                cases: &self.cases,
                may_be_recorded: true,
            });
            Ok(())
        })
    }

    fn record_snapshot(&self, record: &SnapshotRecord) -> Result<(), StoreError> {
        // Rare (once per reload), so on the reader's connection rather than
        // through the writer's queue: it waits for a batch under way, and
        // batches wait for it, for as long as a few inserts take.
        let mut connection = match self.reader.lock() {
            Ok(connection) => connection,
            Err(poisoned) => poisoned.into_inner(),
        };
        super::versions::record_snapshot(&mut connection, record)
    }

    fn reader(&self) -> &dyn AuditReader {
        self
    }

    fn metrics(&self) -> Option<&StoreMetrics> {
        Some(&self.metrics)
    }
}

/// What a command produced, answered after the commit.
enum Outcome {
    Decide(Result<Vec<Recorded>, StoreError>),
    /// Boxed: lifecycle events are rare, decisions are the hot path.
    Apply(Box<Result<CaseView, LifecycleError>>),
    Fire(Result<Vec<Fired>, StoreError>),
}

fn writer_loop(
    mut connection: Connection,
    state: &mut WriterState<'_>,
    metrics: &StoreMetrics,
    commands: Receiver<Command>,
    max_batch: usize,
) {
    while let Ok(first) = commands.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match commands.try_recv() {
                Ok(command) => batch.push(command),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let result = run_batch(&mut connection, state, &batch);
        metrics.batch.observe(started.elapsed());
        metrics
            .batched
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        metrics
            .cases_indexed
            .store(state.cases.read().len() as u64, Ordering::Relaxed);
        metrics
            .timers_queued
            .store(state.timers.len() as u64, Ordering::Relaxed);
        metrics
            .audit_file_bytes
            .store(state.audit.committed_len(), Ordering::Relaxed);
        let writes = batch
            .iter()
            .any(|command| !matches!(command, Command::Fire { .. }));
        let (mut outcomes, failure) = match result {
            Ok(outcomes) => {
                if writes {
                    metrics.failing.store(false, Ordering::Relaxed);
                }
                (Some(outcomes.into_iter()), String::new())
            }
            Err(error) => {
                if let StoreError::AuditFileLost { .. } = error {
                    // Logged once, when it was found.
                    metrics.audit_file_lost.store(true, Ordering::Relaxed);
                } else {
                    tracing::error!(%error, "store transaction failed; the requests in it are answered with the error");
                }
                metrics.failing.store(true, Ordering::Relaxed);
                if let Ok(mut slot) = metrics.failure.lock() {
                    *slot = error.to_string();
                }
                (None, error.to_string())
            }
        };
        let failed = || StoreError::NotCommitted(failure.clone());
        for command in batch {
            let outcome = outcomes.as_mut().and_then(Iterator::next);
            match (command, outcome) {
                (Command::Decide { reply, .. }, Some(Outcome::Decide(result))) => {
                    let _ = reply.send(result);
                }
                (Command::Apply { reply, .. }, Some(Outcome::Apply(result))) => {
                    let _ = reply.send(*result);
                }
                (Command::Fire { reply, .. }, Some(Outcome::Fire(result))) => {
                    let _ = reply.send(result);
                }
                (Command::Decide { reply, .. }, _) => {
                    let _ = reply.send(Err(failed()));
                }
                (Command::Apply { reply, .. }, _) => {
                    let _ = reply.send(Err(LifecycleError::Store(failed())));
                }
                (Command::Fire { reply, .. }, _) => {
                    let _ = reply.send(Err(failed()));
                }
            }
        }
    }
}

/// How commands of one transaction are kept apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// Decisions share the transaction: the fast path, as recording a
    /// decision fails only when the database does. Lifecycle events and
    /// timer runs, which are refused for cause, still get a savepoint each.
    Shared,
    /// Every command in a savepoint of its own, so one command's failure
    /// does not undo the others.
    SavepointEach,
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
struct WriterState<'a> {
    cases: &'a SharedCaseIndex,
    timers: TimerQueue,
    audit: AuditFile,
}

/// Where a savepoint began, in each part of the [`WriterState`].
#[derive(Clone, Copy)]
struct Marks {
    cases: usize,
    timers: usize,
    audit: usize,
}

impl WriterState<'_> {
    fn mark(&self) -> Marks {
        Marks {
            cases: self.cases.read().mark(),
            timers: self.timers.mark(),
            audit: self.audit.mark(),
        }
    }

    /// A savepoint was rolled back.
    fn rollback_to(&mut self, marks: Marks) {
        self.cases.write().rollback_to(marks.cases);
        self.timers.rollback_to(marks.timers);
        self.audit.rollback_to(marks.audit);
    }

    fn commit(&mut self) {
        self.cases.write().commit();
        self.timers.commit();
        self.audit.commit();
    }

    fn rollback(&mut self) {
        self.cases.write().rollback_to(0);
        self.timers.rollback_to(0);
        self.audit.rollback();
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
        let (outcome, ok) = match command {
            Command::Decide { items, .. } => {
                let result = record_all(&savepoint, state, items);
                let ok = result.is_ok();
                (Outcome::Decide(result), ok)
            }
            Command::Apply {
                case_id,
                event,
                now,
                ..
            } => {
                let result = apply_event(&savepoint, state, case_id, event, *now);
                let ok = result.is_ok();
                (Outcome::Apply(Box::new(result)), ok)
            }
            Command::Fire { now, .. } => {
                let result = fire_timers(&savepoint, state, *now);
                let ok = result.is_ok();
                (Outcome::Fire(result), ok)
            }
        };
        if ok {
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

/// The state as of just before the complaint being decided.
struct SqlView<'c> {
    connection: &'c Connection,
    cases: &'c SharedCaseIndex,
    /// Whether the complaint may already have its case (a simulation of a
    /// recorded event), which is then left out of the customer's history.
    /// Never when recording: a recorded event is answered from the log.
    may_be_recorded: bool,
}

impl StateView for SqlView<'_> {
    fn history(&self, event: &ComplaintEvent, currency: &str) -> Option<CustomerHistory> {
        let Some(customer) = event.customer.id.as_deref() else {
            return Some(CustomerHistory::default());
        };
        let at = event.received_at.unwrap_or(Timestamp(0)).millis();
        let index = self.cases.read();
        // A simulation of a complaint already recorded: its own case is
        // not part of its history.
        let own = if self.may_be_recorded {
            index.case_no(&event.id)
        } else {
            None
        };
        Some(index.history(customer, at, own, currency))
    }

    fn control_line_count(
        &self,
        rule: &str,
        group: &Group,
        window: Duration,
        at: Timestamp,
    ) -> Option<i64> {
        logged(tally::count(
            self.connection,
            rule,
            &group_key(group),
            at.millis() - window.millis(),
            at.millis(),
        ))
    }

    fn budget_use(
        &self,
        rule: &str,
        scope: &str,
        window: Duration,
        at: Timestamp,
    ) -> Option<BudgetUse> {
        let result = self
            .connection
            .prepare_cached(
                "SELECT COUNT(*), COALESCE(SUM(cost), 0) FROM authority_uses WHERE rule = ?1 AND scope = ?2 AND at > ?3 AND at <= ?4",
            )
            .and_then(|mut statement| {
                statement.query_row(params![rule, scope, at.millis() - window.millis(), at.millis()], |row| {
                    Ok(BudgetUse {
                        count: row.get(0)?,
                        amount: row.get(1)?,
                    })
                })
            });
        logged(result)
    }
}

fn logged<T, E: std::fmt::Display>(result: Result<T, E>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::error!(%error, "store read failed; the value is treated as unknown");
            None
        }
    }
}

fn record_complaint(
    connection: &Connection,
    state: &mut WriterState<'_>,
    intake: &Intake,
) -> Result<Recorded, StoreError> {
    let cases = state.cases;
    let Intake {
        event,
        event_json,
        decide,
        levels,
        lapse_before,
    } = intake;
    let recorded_case = cases.read().case_no(&event.id);
    if let Some(case_no) = recorded_case {
        let (seq, payload): (i64, Payload) = connection
            .prepare_cached(
                "SELECT seq, decision, payload_at, payload_len FROM decisions WHERE case_no = ?1 AND kind = 'complaint' ORDER BY seq LIMIT 1",
            )?
            .query_row(params![case_no], |row| Ok((row.get(0)?, Payload::from_row(row, 1)?)))
            .optional()?
            .ok_or_else(|| StoreError::Inconsistent(format!(
                "case `{}` (number {case_no}) has no complaint decision in the audit log; was the database edited by hand?",
                event.id
            )))?;
        let json =
            payload
                .decision_json(&state.audit)?
                .ok_or_else(|| StoreError::DecisionLost {
                    event_id: event.id.clone(),
                    seq,
                })?;
        let parsed: serde_json::Value = serde_json::from_str(&json)?;
        let queue = parsed["route"]["queue"].as_str().unwrap_or_default();
        return Ok(Recorded {
            seq,
            queue: Name::from(queue),
            json,
            replayed: true,
            control_lines: Vec::new(),
        });
    }
    let Decided {
        decision,
        recording,
    } = decide(
        event,
        &SqlView {
            connection,
            cases,
            may_be_recorded: false,
        },
    );
    let json = decision.to_json()?;
    let replay = serde_json::to_string(&recording)?;
    let at = decision.received_at.millis();
    let case_no = open_case(
        connection,
        cases,
        &mut state.timers,
        event,
        levels,
        &decision,
        lapse_before.map(Timestamp::millis),
    )?;
    let digests: BTreeMap<&str, &str> = decision
        .plugins
        .iter()
        .map(|p| (&*p.name, &*p.digest))
        .collect();
    let line = state.audit.append(
        DecisionKind::Complaint.as_str(),
        Some(event_json),
        &json,
        Some(&replay),
    );
    connection
        .prepare_cached(
            "INSERT INTO decisions (event_id, case_id, case_no, kind, decided_at, ruleset_version, plugin_digests, event, decision, payload_at, payload_len)
             VALUES (?1, ?1, ?2, 'complaint', ?3, ?4, ?5, NULL, '', ?6, ?7)",
        )?
        .execute(params![
            event.id,
            case_no,
            at,
            &*decision.ruleset_version,
            serde_json::to_string(&digests)?,
            line.at,
            line.len
        ])?;
    let seq = connection.last_insert_rowid();
    let mut control_lines = Vec::new();
    for line in &decision.control_lines {
        let key = group_key(&line.group);
        tally::add(connection, &line.rule, &key, at)?;
        control_lines.push((
            line.rule.clone(),
            key,
            line.count.unwrap_or_default(),
            line.status == crate::decision::ControlLineStatus::Crossed,
        ));
    }
    for grant in &decision.authority {
        let budget = grant.budget.as_ref();
        connection
            .prepare_cached(
                "INSERT OR REPLACE INTO case_grants (case_id, rule, policy, max_cost, scope, budget_window, budget_count, budget_amount)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                event.id,
                &*grant.rule,
                &*grant.policy,
                grant.max_cost,
                budget.map(|b| b.scope.clone()),
                budget.map(|b| b.window.millis()),
                budget.and_then(|b| b.limit_count),
                budget.and_then(|b| b.limit_amount),
            ])?;
    }
    Ok(Recorded {
        seq,
        json,
        queue: decision.route.queue.clone(),
        replayed: false,
        control_lines,
    })
}

fn rank(levels: &[Name], level: Option<&str>) -> i64 {
    level
        .and_then(|level| levels.iter().position(|l| &**l == level))
        .map_or(-1, |p| p as i64)
}

/// A new case for a decided complaint, with its SLA timers; returns the
/// case's number. Timers due by `lapse_before` (an import of history) are
/// recorded as cancelled rather than armed.
fn open_case(
    connection: &Connection,
    cases: &SharedCaseIndex,
    timers: &mut TimerQueue,
    event: &ComplaintEvent,
    levels: &[Name],
    decision: &Decision,
    lapse_before: Option<i64>,
) -> Result<i64, StoreError> {
    let at = decision.received_at.millis();
    let sla = decision.sla.as_ref();
    let breach = sla.and_then(|s| s.on_breach.as_ref());
    let goodwill = decision
        .offers
        .iter()
        .fold(0.0, |sum, offer| sum + offer.value);
    // Every offer of one decision is in the rule set's currency.
    let currency = decision.offers.first().map(|offer| &*offer.currency);
    connection
        .prepare_cached(
            "INSERT INTO cases (id, customer_id, status, opened_at, updated_at, category, product_line, tier, location,
                                queue, handler, escalation_level, escalation_rank, goodwill, resolve_ms, follow_up_ms,
                                breach_escalate, breach_rank, breach_notify, currency)
             VALUES (?1, ?2, 'open', ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?
        .execute(params![
            event.id,
            event.customer.id,
            at,
            decision.category.as_deref(),
            event.product_line,
            event.customer.tier,
            event.location,
            &*decision.route.queue,
            decision.route.handler.as_deref(),
            decision.escalation_level.as_deref(),
            rank(levels, decision.escalation_level.as_deref()),
            goodwill,
            sla.and_then(|s| s.resolve_due).map(|due| due.millis() - at),
            sla.and_then(|s| s.follow_up_after).map(|d| d.millis()),
            breach.and_then(|b| b.escalate.as_deref()),
            breach.map(|b| rank(levels, b.escalate.as_deref())),
            breach.map(|b| serde_json::to_string(&b.notify)).transpose()?,
            currency,
        ])?;
    let case_no = connection.last_insert_rowid();
    cases.write().opened(
        &event.id,
        event.customer.id.as_deref(),
        case_no,
        at,
        goodwill,
        currency,
    );
    if let Some(sla) = sla {
        for (kind, due) in [
            (TimerKind::FirstResponse, sla.first_response_due),
            (TimerKind::Resolve, sla.resolve_due),
        ] {
            match due {
                Some(due) if lapse_before.is_some_and(|now| due.millis() <= now) => {
                    connection
                        .prepare_cached(
                            "INSERT INTO timers (case_no, kind, due_at, state) VALUES (?1, ?2, ?3, 'cancelled')",
                        )?
                        .execute(params![case_no, kind.as_str(), due.millis()])?;
                }
                Some(due) => arm_timer(connection, timers, case_no, kind, due.millis())?,
                None => {}
            }
        }
    }
    Ok(case_no)
}

fn arm_timer(
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
fn cancel_timers(
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

fn add_case_event(
    connection: &Connection,
    case_no: i64,
    kind: &str,
    at: i64,
    data: Option<serde_json::Value>,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO case_events (case_no, kind, at, data) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![case_no, kind, at, data.map(|d| d.to_string())])?;
    Ok(())
}

fn apply_event(
    connection: &Connection,
    state: &mut WriterState<'_>,
    case_id: &str,
    event: &LifecycleEvent,
    now: Timestamp,
) -> Result<CaseView, LifecycleError> {
    let cases = state.cases;
    let timers = &mut state.timers;
    let Some(case_no) = cases.read().case_no(case_id) else {
        return Err(LifecycleError::NoCase(case_id.to_string()));
    };
    let (status, resolve_ms, follow_up_ms, customer): (
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
    ) = connection
        .prepare_cached(
            "SELECT status, resolve_ms, follow_up_ms, customer_id FROM cases WHERE no = ?1",
        )
        .map_err(StoreError::from)?
        .query_row(params![case_no], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .map_err(StoreError::from)?;
    let from = status.parse().unwrap_or(Status::Open);
    let next = transition(case_id, from, event.kind)?;
    let at = when(event, now).millis();
    let mut data = serde_json::Map::new();
    for (key, value) in [
        ("by", &event.by),
        ("note", &event.note),
        ("policy", &event.policy),
    ] {
        if let Some(value) = value {
            data.insert(key.to_string(), serde_json::Value::String(value.clone()));
        }
    }
    match event.kind {
        LifecycleKind::Responded => {
            connection
                .execute(
                    "UPDATE cases SET responded_at = COALESCE(responded_at, ?2) WHERE no = ?1",
                    params![case_no, at],
                )
                .map_err(StoreError::from)?;
            cancel_timers(connection, case_no, &[TimerKind::FirstResponse])?;
        }
        LifecycleKind::Resolved => {
            connection
                .execute(
                    "UPDATE cases SET resolved_at = ?2 WHERE no = ?1",
                    params![case_no, at],
                )
                .map_err(StoreError::from)?;
            cancel_timers(
                connection,
                case_no,
                &[TimerKind::FirstResponse, TimerKind::Resolve],
            )?;
            if let Some(delay) = follow_up_ms {
                arm_timer(connection, timers, case_no, TimerKind::FollowUp, at + delay)?;
            }
        }
        LifecycleKind::Confirmed => {
            connection
                .execute(
                    "UPDATE cases SET confirmed_at = ?2 WHERE no = ?1",
                    params![case_no, at],
                )
                .map_err(StoreError::from)?;
        }
        LifecycleKind::Closed => {
            connection
                .execute(
                    "UPDATE cases SET closed_at = ?2 WHERE no = ?1",
                    params![case_no, at],
                )
                .map_err(StoreError::from)?;
            cancel_timers(
                connection,
                case_no,
                &[TimerKind::FirstResponse, TimerKind::Resolve],
            )?;
        }
        LifecycleKind::Reopened => {
            cancel_timers(connection, case_no, &[TimerKind::FollowUp])?;
            if let Some(resolve) = resolve_ms {
                arm_timer(
                    connection,
                    timers,
                    case_no,
                    TimerKind::Resolve,
                    at + resolve,
                )?;
            }
        }
        LifecycleKind::FollowedUp => cancel_timers(connection, case_no, &[TimerKind::FollowUp])?,
        LifecycleKind::CustomerReplied => {}
        LifecycleKind::AuthorityUsed => {
            let cost = use_authority(connection, case_id, event, at)?;
            data.insert("cost".to_string(), serde_json::json!(cost));
        }
    }
    connection
        .execute(
            "UPDATE cases SET status = ?2, updated_at = MAX(updated_at, ?3) WHERE no = ?1",
            params![case_no, next.as_str(), at],
        )
        .map_err(StoreError::from)?;
    if let Some(customer) = &customer {
        cases
            .write()
            .set_open(customer, case_no, next != Status::Closed);
    }
    let data = (!data.is_empty()).then_some(serde_json::Value::Object(data));
    add_case_event(connection, case_no, event.kind.as_str(), at, data)?;
    read_case(connection, &state.audit, case_no)?
        .ok_or_else(|| LifecycleError::NoCase(case_id.to_string()))
}

/// Records a use of a granted policy, within its grant and budget.
fn use_authority(
    connection: &Connection,
    case_id: &str,
    event: &LifecycleEvent,
    at: i64,
) -> Result<f64, LifecycleError> {
    let Some(policy) = event.policy.as_deref() else {
        return Err(AuthorityUseError::NoPolicy.into());
    };
    let cost = event.cost.unwrap_or(0.0);
    if !cost.is_finite() || cost < 0.0 {
        return Err(AuthorityUseError::BadCost(cost).into());
    }
    type Grant = (
        String,
        f64,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<f64>,
    );
    let grant: Option<Grant> = connection
        .prepare_cached(
            "SELECT rule, max_cost, scope, budget_window, budget_count, budget_amount FROM case_grants WHERE case_id = ?1 AND policy = ?2",
        )
        .map_err(StoreError::from)?
        .query_row(params![case_id, policy], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
        })
        .optional()
        .map_err(StoreError::from)?;
    let Some((rule, max_cost, scope, window, count_limit, amount_limit)) = grant else {
        return Err(AuthorityUseError::NotGranted {
            case: case_id.to_string(),
            policy: policy.to_string(),
        }
        .into());
    };
    if !crate::engine::within(cost, max_cost) {
        return Err(AuthorityUseError::OverMaxCost {
            policy: policy.to_string(),
            cost,
            max_cost,
        }
        .into());
    }
    let scope = scope.unwrap_or_else(|| "global".to_string());
    if let Some(window) = window {
        let (count, amount): (i64, f64) = connection
            .prepare_cached(
                "SELECT COUNT(*), COALESCE(SUM(cost), 0) FROM authority_uses WHERE rule = ?1 AND scope = ?2 AND at > ?3 AND at <= ?4",
            )
            .map_err(StoreError::from)?
            .query_row(params![rule, scope, at - window, at], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(StoreError::from)?;
        let used = crate::engine::BudgetUse { count, amount };
        if !crate::engine::budget_allows(used, count_limit, amount_limit, cost) {
            return Err(AuthorityUseError::BudgetUsedUp {
                rule,
                scope,
                count,
                amount,
            }
            .into());
        }
    }
    connection
        .prepare_cached(
            "INSERT INTO authority_uses (rule, scope, policy, case_id, at, cost, used_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(StoreError::from)?
        .execute(params![rule, scope, policy, case_id, at, cost, event.by])
        .map_err(StoreError::from)?;
    Ok(cost)
}

/// Most timers fired by one run; the rest wait for the next tick.
const MOST_FIRED_PER_RUN: usize = 1000;

/// Most entries of the timer queue one run looks at, stale ones included,
/// so that many cancelled timers coming due together cannot hold the
/// writer (and the decisions waiting for it) for long.
const MOST_TAKEN_PER_RUN: usize = 10 * MOST_FIRED_PER_RUN;

/// Fires every timer due at `now`, each exactly once: the timer's state
/// and the time-based decision are written in the same transaction.
fn fire_timers(
    connection: &Connection,
    state: &mut WriterState<'_>,
    now: Timestamp,
) -> Result<Vec<Fired>, StoreError> {
    type Pending = (
        i64,
        String,
        Option<String>,
        Option<i64>,
        Option<String>,
        String,
        i64,
    );
    let mut fired = Vec::new();
    let mut taken = 0;
    while fired.len() < MOST_FIRED_PER_RUN && taken < MOST_TAKEN_PER_RUN {
        let Some(Due { case_no, kind, .. }) = state.timers.take_due(now.millis()) else {
            break;
        };
        taken += 1;
        // The queue's entry may be stale: the table says whether the timer
        // is still pending and due.
        let pending: Option<Pending> = connection
            .prepare_cached(
                "SELECT t.due_at, c.id, c.breach_escalate, c.breach_rank, c.breach_notify, c.queue, c.escalation_rank
                 FROM timers t JOIN cases c ON c.no = t.case_no
                 WHERE t.case_no = ?1 AND t.kind = ?2 AND t.state = 'pending' AND t.due_at <= ?3",
            )?
            .query_row(params![case_no, kind.as_str(), now.millis()], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                ))
            })
            .optional()?;
        let Some((due_at, case_id, escalate, breach_rank, notify, queue, case_rank)) = pending
        else {
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
        let follow_up = kind == TimerKind::FollowUp;
        let notify: Vec<String> = notify
            .map(|n| serde_json::from_str(&n))
            .transpose()?
            .unwrap_or_default();
        let decision = if follow_up {
            serde_json::json!({
                "case_id": case_id,
                "timer": kind,
                "due_at": Timestamp(due_at),
                "fired_at": now,
                "queue": queue,
                "action": "call or visit the customer to check they are satisfied (seed 000)",
            })
        } else {
            serde_json::json!({
                "case_id": case_id,
                "timer": kind,
                "due_at": Timestamp(due_at),
                "fired_at": now,
                "queue": queue,
                "breach": true,
                "escalate": escalate,
                "notify": notify,
            })
        };
        let kind_of_decision = if follow_up {
            DecisionKind::FollowUpDue
        } else {
            DecisionKind::SlaBreach
        };
        let line = state
            .audit
            .append(kind_of_decision.as_str(), None, &decision.to_string(), None);
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
                format!("{case_id}#{kind}"),
                case_id,
                case_no,
                kind_of_decision.as_str(),
                now.millis(),
                line.at,
                line.len
            ])?;
        let seq = connection.last_insert_rowid();
        if !follow_up
            && let (Some(level), Some(rank)) = (&escalate, breach_rank)
            && rank > case_rank
        {
            connection
                .prepare_cached(
                    "UPDATE cases SET escalation_level = ?2, escalation_rank = ?3 WHERE no = ?1",
                )?
                .execute(params![case_no, level, rank])?;
        }
        add_case_event(
            connection,
            case_no,
            if follow_up {
                "follow_up_due"
            } else {
                "sla_breached"
            },
            now.millis(),
            Some(serde_json::json!({ "timer": kind })),
        )?;
        fired.push(Fired {
            seq,
            case_id,
            timer: kind,
            due_at: Timestamp(due_at),
            escalate: if follow_up { None } else { escalate },
        });
    }
    Ok(fired)
}
