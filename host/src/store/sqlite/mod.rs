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

pub(super) mod archive;
pub(super) mod audit_archive;
pub(super) mod audit_file;
pub(super) mod audit_segments;
pub(super) mod backup;
mod case_events;
pub(super) mod case_index;
mod complaint;
pub(super) mod lock;
mod log_scan;
pub(super) mod prune;
pub(super) mod queries;
pub(super) mod repair;
mod retention;
mod sharded_map;
pub(super) mod tally;
mod timer_queue;
mod timers;
pub(super) mod versions;
mod view;
pub(super) mod with_archive;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, params};

use self::audit_file::AuditFile;
use self::case_index::{CaseIndex, SharedCaseIndex};
use self::queries::{read_case, read_decisions, read_report};
use self::timer_queue::TimerQueue;
use self::view::SqlView;
use self::writer::{WriterState, writer_loop};
use super::writer_queue::WriterQueue;
use crate::engine::StateView;
use crate::store::report::Report;
use crate::store::{
    AuditReader, CaseView, DatabaseError, DecisionPage, DecisionQuery, Fired, Intake,
    LifecycleError, LifecycleEvent, LogQuery, LoggedComplaint, Pending, Recorded, SnapshotRecord,
    Store, StoreError, StoreMetrics, StoreReader,
};
use crate::time::{Clock, Timestamp};

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Database(DatabaseError::new(error))
    }
}

/// Schema migrations, in order; applied once each.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../../migrations/0001_initial.sql")),
    (
        2,
        include_str!("../../../migrations/0002_one_customer_index.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/0003_cases_indexed_in_memory.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/0004_timers_due_in_memory.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/0005_audit_payloads_in_a_file.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/0006_snapshots_kept.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/0007_case_currency.sql"),
    ),
    (
        8,
        include_str!("../../../migrations/0008_event_digests.sql"),
    ),
    (
        9,
        include_str!("../../../migrations/0009_audit_segments.sql"),
    ),
    (
        10,
        include_str!("../../../migrations/0010_report_figures_on_cases.sql"),
    ),
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
    /// The audit log starts a new segment once the one it appends to holds
    /// this many bytes.
    pub segment_bytes: u64,
}

/// `[store.retention] segment_size`'s default: a few weeks of a busy
/// daemon's log, small enough to archive in one run.
pub const DEFAULT_SEGMENT_BYTES: u64 = 256 << 20;

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Full,
            max_batch: 512,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
        }
    }
}

/// The embedded store.
pub struct SqliteStore {
    directory: PathBuf,
    path: PathBuf,
    commands: WriterQueue,
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

/// Where the last committed entry's line in the audit log ends: entries
/// are appended in order of sequence, so it is the last entry's, or where
/// the newest segment starts if nothing was written to it yet (or every
/// entry before it was archived); 0 for an empty log.
pub(super) fn committed_audit_end(connection: &Connection) -> Result<u64, StoreError> {
    let end: Option<Option<i64>> = connection
        .query_row(
            "SELECT payload_at + payload_len FROM decisions ORDER BY seq DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()?;
    let newest_segment: Option<i64> =
        connection.query_row("SELECT MAX(start) FROM audit_segments", [], |row| {
            row.get(0)
        })?;
    Ok(end
        .flatten()
        .unwrap_or(0)
        .max(newest_segment.unwrap_or(0))
        .max(0) as u64)
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
        let metrics = Arc::new(StoreMetrics::of("sqlite"));
        metrics
            .cases_indexed
            .store(indexed as u64, Ordering::Relaxed);
        metrics
            .timers_queued
            .store(timers.len() as u64, Ordering::Relaxed);
        let committed_end = committed_audit_end(&writer)?;
        let starts = self::audit_segments::live_segment_starts(&writer)?;
        let sync = options.durability == Durability::Full;
        let audit = match AuditFile::open_for_writing(directory, committed_end, &starts, sync) {
            // With `durability = "normal"` a power loss can take the last
            // lines: expected, so repaired at once and logged. With `full`
            // every committed line was synced, so a short file means it was
            // damaged, and the operator decides (`redress store repair`).
            Err(StoreError::AuditFileShort { .. }) if !sync => {
                let report = self::repair::repair_audit_file(directory, &writer)?;
                tracing::error!(
                    lost = report.lost.len(),
                    first_lost = report.lost.first().map(|l| l.seq),
                    last_lost = report.lost.last().map(|l| l.seq),
                    "audit file: shorter than the database says (a power loss with durability = \"normal\"?); the lost entries read with a null decision"
                );
                AuditFile::open_for_writing(directory, committed_end, &starts, sync)?
            }
            other => other?,
        };
        let audit_end = audit.committed_len();
        metrics
            .audit_file_bytes
            .store(audit.live_len(), Ordering::Relaxed);
        let reader = open_connection(&path, options.durability)?;
        let (commands, receiver) = WriterQueue::new(16 * 1024);
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
                        tally_cursor: Default::default(),
                        segment_bytes: options.segment_bytes,
                        released: Vec::new(),
                    };
                    writer_loop(writer, &mut state, &metrics, receiver, max_batch);
                }
            })
            .map_err(|error| StoreError::Open {
                path: path.display().to_string(),
                message: format!("cannot start the writer thread: {error}"),
            })?;
        Ok(SqliteStore {
            directory: directory.to_path_buf(),
            path,
            commands,
            reader: Mutex::new(reader),
            audit: AuditFile::open_for_reading(directory, audit_end, &starts)?,
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
        self.commands.close();
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
        self::log_scan::visit_complaints(&connection, &self.audit, query, visit)
    }

    fn snapshot(&self, version: &str) -> Result<Option<SnapshotRecord>, StoreError> {
        self.read(|connection| self::versions::read_snapshot(connection, version))
    }

    fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|connection| self::versions::component(connection, digest))
    }
}

impl StoreReader for SqliteStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn case(&self, id: &str) -> Result<Option<CaseView>, StoreError> {
        let Some(case_no) = self.cases.read().case_no(id) else {
            return Ok(None);
        };
        self.read(|connection| read_case(connection, &self.audit, case_no))
    }

    fn cases_of_customer(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<crate::store::CaseSummary>, StoreError> {
        let numbers = self.cases.read().cases_of(customer_id, limit);
        self.read(|connection| queries::read_case_summaries(connection, &numbers))
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

    fn complaints_per_day(
        &self,
        cell: &crate::store::GridCell,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, i64)>, StoreError> {
        self.read(|connection| queries::read_complaints_per_day(connection, cell, from, to))
    }

    fn report(&self, from: Timestamp, to: Timestamp) -> Result<Report, StoreError> {
        self.read(|connection| read_report(connection, from, to))
    }
}

impl Store for SqliteStore {
    fn decide_and_record(&self, items: Vec<Intake>) -> Pending<Result<Vec<Recorded>, StoreError>> {
        self.commands.decide(items)
    }

    fn apply(
        &self,
        case_id: String,
        event: LifecycleEvent,
    ) -> Pending<Result<CaseView, LifecycleError>> {
        self.commands.apply(case_id, event, self.clock.now())
    }

    fn fire_due_timers(&self, now: Timestamp) -> Pending<Result<Vec<Fired>, StoreError>> {
        self.commands.fire(now)
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
        self.commands.keep(record)
    }

    fn prune(
        &self,
        cutoffs: &crate::store::Cutoffs,
    ) -> Result<crate::store::PruneReport, StoreError> {
        self.prune_step(cutoffs)
    }

    fn reader(&self) -> &dyn AuditReader {
        self
    }

    fn metrics(&self) -> Option<&StoreMetrics> {
        Some(&self.metrics)
    }
}
