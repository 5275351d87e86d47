//! The shared store: one PostgreSQL database that several daemons decide
//! against at once.
//!
//! Each daemon keeps SQLite's shape: one writer thread owns a connection,
//! takes everything queued (up to `max_batch`) into one transaction, and
//! answers only after it commits (group commit). What a node cannot keep
//! in memory when others write too (the case index, the timer queue, the
//! audit file) lives in the database: cases are found by id, due timers
//! are claimed from an index of pending ones, and each entry of the audit
//! log holds its own line's parts. The guarantees across nodes come from
//! the database: a unique index on complaint event ids, advisory locks
//! around every count a decision reads ([`locks`]), row locks on cases,
//! and `SKIP LOCKED` claims of timers ([`timers`]). Reads (cases, the log,
//! reports, simulations) use a small pool of other connections.

pub(super) mod client;
mod complaint;
mod lifecycle;
mod locks;
mod queries;
pub(super) mod schema;
mod timers;
mod view;

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use self::client::redacted;
use self::client::{PgConnection, is_retryable};
use self::locks::LockSet;
use self::view::PgView;
use super::writer_queue::{Command, Outcome, WriterQueue, answer, next_batch};
use crate::engine::StateView;
use crate::store::{
    AuditReader, CaseView, DecisionPage, DecisionQuery, Fired, Intake, LifecycleError,
    LifecycleEvent, LogQuery, LoggedComplaint, Pending, Recorded, Report, SnapshotRecord, Store,
    StoreError, StoreMetrics, StoreReader,
};
use crate::time::{Clock, Timestamp};

/// Settings of the PostgreSQL store (`[store]` with `backend =
/// "postgres"`). Its `Debug` leaves the URL's password out.
#[derive(Clone)]
pub struct PostgresOptions {
    /// `postgres://user:password@host:port/database`.
    pub url: String,
    /// Connections for reads (cases, the log, reports, simulations), beside
    /// the writer's one.
    pub pool_size: usize,
    /// Longest one statement may run; `None`: the server's setting.
    pub statement_timeout: Option<Duration>,
    /// Most requests in one transaction.
    pub max_batch: usize,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("url", &redacted(&self.url))
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

impl PostgresOptions {
    /// The defaults, for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresOptions {
            url: url.into(),
            pool_size: 4,
            statement_timeout: Some(Duration::from_secs(10)),
            max_batch: 512,
        }
    }
}

/// The shared store.
pub struct PostgresStore {
    reader: PostgresReader,
    commands: WriterQueue,
    writer: Option<JoinHandle<()>>,
    metrics: Arc<StoreMetrics>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &redacted(&self.reader.url))
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects, migrates the schema (one node at a time) and starts the
    /// writer.
    pub fn open(options: PostgresOptions, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let connection = PgConnection::connect(&options.url, options.statement_timeout)?;
        schema::migrate(&connection, &options.url)?;
        let reader = PostgresReader::connect(&options)?;
        let metrics = Arc::new(StoreMetrics::of("postgres"));
        let (queue, commands) = WriterQueue::new(options.max_batch.max(1) * 4);
        let writer = {
            let metrics = metrics.clone();
            let for_writer = options.clone();
            std::thread::Builder::new()
                .name("redress-pg-writer".to_string())
                .spawn(move || writer_loop(connection, &for_writer, &metrics, commands))
                .map_err(|error| StoreError::Open {
                    path: redacted(&options.url),
                    message: format!("cannot start the writer thread: {error}"),
                })?
        };
        Ok(PostgresStore {
            reader,
            commands: queue,
            writer: Some(writer),
            metrics,
            clock,
        })
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.commands.close();
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

/// Attempts at one batch before its requests are answered with the
/// error: each attempt after the first takes at its start every lock the
/// one before wanted, so only a batch whose rules keep reaching for new
/// cells held elsewhere runs out.
const MOST_ATTEMPTS: usize = 8;

fn writer_loop(
    mut connection: PgConnection,
    options: &PostgresOptions,
    metrics: &StoreMetrics,
    commands: Receiver<Command>,
) {
    use std::sync::atomic::Ordering;
    while let Some(batch) = next_batch(&commands, options.max_batch) {
        if connection.is_closed() {
            match PgConnection::connect(&options.url, options.statement_timeout) {
                Ok(fresh) => connection = fresh,
                Err(error) => {
                    tracing::error!(%error, "cannot reconnect to PostgreSQL; the requests waiting are answered with the error");
                    metrics.failed(&error);
                    answer(batch, None, &error.to_string());
                    continue;
                }
            }
        }
        let started = Instant::now();
        let result = run_batch(&connection, &batch);
        metrics.batch.observe(started.elapsed());
        metrics
            .batched
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let (outcomes, failure) = match result {
            Ok(outcomes) => {
                metrics.failing.store(false, Ordering::Relaxed);
                (Some(outcomes), String::new())
            }
            Err(error) => {
                tracing::error!(%error, "store transaction failed; the requests in it are answered with the error");
                metrics.failed(&error);
                (None, error.to_string())
            }
        };
        answer(batch, outcomes, &failure);
    }
}

/// How commands of one transaction are kept apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// Decisions share the transaction; lifecycle events and timer runs
    /// get a savepoint each.
    Shared,
    /// Every command in a savepoint of its own.
    SavepointEach,
}

/// Why an attempt did not commit.
enum Retry {
    /// A decision failed without a savepoint: run again with one each.
    Isolate,
    /// A lock was held by another node, or PostgreSQL broke a deadlock:
    /// run again, taking these locks at the start.
    Contended(BTreeSet<i64>),
}

fn run_batch(connection: &PgConnection, batch: &[Command]) -> Result<Vec<Outcome>, StoreError> {
    let mut keys: BTreeSet<i64> = BTreeSet::new();
    for command in batch {
        match command {
            Command::Decide { items, .. } => {
                keys.extend(items.iter().flat_map(complaint::start_keys));
            }
            Command::Apply { case_id, .. } => {
                keys.insert(locks::event(case_id));
            }
            Command::Fire { .. } | Command::Keep { .. } => {}
        }
    }
    let mut isolation = Isolation::Shared;
    let mut last_error = None;
    for _ in 0..MOST_ATTEMPTS {
        let locks = LockSet::taking(keys.clone());
        let attempt = run_transaction(connection, &locks, batch, isolation);
        match attempt {
            Ok(Ok(outcomes)) => return Ok(outcomes),
            Ok(Err(retry)) => {
                connection.batch("ROLLBACK")?;
                match retry {
                    Retry::Isolate => isolation = Isolation::SavepointEach,
                    Retry::Contended(more) => keys = more,
                }
            }
            Err(error) if is_retryable(&error) => {
                connection.batch("ROLLBACK")?;
                tracing::debug!(%error, "batch ran into another node's; running it again");
                keys = locks.for_next_attempt();
                last_error = Some(error);
            }
            Err(error) => {
                let _ = connection.batch("ROLLBACK");
                return Err(error);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| {
        StoreError::NotCommitted(format!(
            "the batch met locks held by other nodes {MOST_ATTEMPTS} times running"
        ))
    }))
}

/// One attempt: `Ok(Ok(_))` committed; `Ok(Err(_))` to be rolled back and
/// run again; `Err(_)` failed (rolled back by the caller).
fn run_transaction(
    connection: &PgConnection,
    locks: &LockSet,
    batch: &[Command],
    isolation: Isolation,
) -> Result<Result<Vec<Outcome>, Retry>, StoreError> {
    connection.batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
    let start = locks.at_start();
    if !start.is_empty() {
        connection.execute(client::LOCK_KEYS, &[&start])?;
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for command in batch {
        if isolation == Isolation::Shared
            && let Command::Decide { items, .. } = command
        {
            let recorded: Result<Vec<Recorded>, StoreError> = items
                .iter()
                .map(|intake| complaint::record_complaint(connection, locks, intake))
                .collect();
            if locks.was_contended() {
                return Ok(Err(Retry::Contended(locks.for_next_attempt())));
            }
            match recorded {
                Ok(recorded) => outcomes.push(Outcome::Decide(Ok(recorded))),
                Err(error) if is_retryable(&error) => return Err(error),
                Err(error) => {
                    tracing::warn!(%error, "a decision failed to record; the batch is retried a command at a time");
                    return Ok(Err(Retry::Isolate));
                }
            }
            continue;
        }
        connection.batch("SAVEPOINT command")?;
        let mark = locks.mark();
        let outcome = match command {
            Command::Decide { items, .. } => Outcome::Decide(
                items
                    .iter()
                    .map(|intake| complaint::record_complaint(connection, locks, intake))
                    .collect(),
            ),
            Command::Apply {
                case_id,
                event,
                now,
                ..
            } => Outcome::Apply(Box::new(lifecycle::apply_event(
                connection, locks, case_id, event, *now,
            ))),
            Command::Fire { now, .. } => Outcome::Fire(timers::fire_timers(connection, *now)),
            Command::Keep { record, .. } => {
                Outcome::Keep(queries::record_snapshot(connection, record))
            }
        };
        if locks.was_contended() {
            return Ok(Err(Retry::Contended(locks.for_next_attempt())));
        }
        if let Some(error) = outcome.store_error()
            && is_retryable(error)
        {
            return Ok(Err(Retry::Contended(locks.for_next_attempt())));
        }
        if outcome.is_ok() {
            connection.batch("RELEASE SAVEPOINT command")?;
        } else {
            if locks.taken_since(mark) {
                return Ok(Err(Retry::Contended(locks.for_next_attempt())));
            }
            connection.batch("ROLLBACK TO SAVEPOINT command; RELEASE SAVEPOINT command")?;
        }
        outcomes.push(outcome);
    }
    connection.batch("COMMIT")?;
    Ok(Ok(outcomes))
}

/// Reading a PostgreSQL store: the daemon's reads, and the offline tools'
/// (`redress audit --database URL`).
pub struct PostgresReader {
    url: String,
    statement_timeout: Option<Duration>,
    idle: Mutex<Vec<PgConnection>>,
    returned: Condvar,
}

impl PostgresReader {
    /// A pool of `options.pool_size` connections (at least one), made as
    /// they are first needed.
    pub fn connect(options: &PostgresOptions) -> Result<Self, StoreError> {
        let first = PgConnection::connect(&options.url, options.statement_timeout)?;
        schema::check_current(&first, &options.url)?;
        let reader = PostgresReader {
            url: options.url.clone(),
            statement_timeout: options.statement_timeout,
            idle: Mutex::new(vec![first]),
            returned: Condvar::new(),
        };
        for _ in 1..options.pool_size.max(1) {
            let connection = PgConnection::connect(&options.url, options.statement_timeout)?;
            if let Ok(mut idle) = reader.idle.lock() {
                idle.push(connection);
            }
        }
        Ok(reader)
    }

    /// Runs `read` on a connection of the pool, waiting for one if all are
    /// in use; a connection the server dropped is made again.
    fn with<T>(
        &self,
        read: impl FnOnce(&PgConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let taken = {
            let mut idle = match self.idle.lock() {
                Ok(idle) => idle,
                Err(poisoned) => poisoned.into_inner(),
            };
            loop {
                if let Some(connection) = idle.pop() {
                    break connection;
                }
                idle = match self.returned.wait(idle) {
                    Ok(idle) => idle,
                    Err(poisoned) => poisoned.into_inner(),
                };
            }
        };
        let connection = if taken.is_closed() {
            match PgConnection::connect(&self.url, self.statement_timeout) {
                Ok(fresh) => fresh,
                Err(error) => {
                    self.give_back(taken);
                    return Err(error);
                }
            }
        } else {
            taken
        };
        let result = read(&connection);
        self.give_back(connection);
        result
    }

    fn give_back(&self, connection: PgConnection) {
        match self.idle.lock() {
            Ok(mut idle) => idle.push(connection),
            Err(poisoned) => poisoned.into_inner().push(connection),
        }
        self.returned.notify_one();
    }
}

impl AuditReader for PostgresReader {
    fn complaints(
        &self,
        query: &LogQuery,
        visit: &mut dyn FnMut(LoggedComplaint) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        // A connection of its own: `visit` may read snapshots from the pool.
        let connection = PgConnection::connect(&self.url, self.statement_timeout)?;
        queries::visit_complaints(&connection, query, visit)
    }

    fn snapshot(&self, version: &str) -> Result<Option<SnapshotRecord>, StoreError> {
        self.with(|connection| queries::read_snapshot(connection, version))
    }

    fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|connection| queries::component(connection, digest))
    }
}

impl StoreReader for PostgresReader {
    fn location(&self) -> String {
        redacted(&self.url)
    }

    fn case(&self, id: &str) -> Result<Option<CaseView>, StoreError> {
        self.with(|connection| queries::read_case(connection, id))
    }

    fn decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, StoreError> {
        self.with(|connection| queries::read_decisions(connection, query))
    }

    fn report(&self, from: Timestamp, to: Timestamp) -> Result<Report, StoreError> {
        self.with(|connection| queries::read_report(connection, from, to))
    }
}

impl AuditReader for PostgresStore {
    fn complaints(
        &self,
        query: &LogQuery,
        visit: &mut dyn FnMut(LoggedComplaint) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        self.reader.complaints(query, visit)
    }

    fn snapshot(&self, version: &str) -> Result<Option<SnapshotRecord>, StoreError> {
        self.reader.snapshot(version)
    }

    fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.reader.component(digest)
    }
}

impl StoreReader for PostgresStore {
    fn location(&self) -> String {
        self.reader.location()
    }

    fn case(&self, id: &str) -> Result<Option<CaseView>, StoreError> {
        self.reader.case(id)
    }

    fn decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, StoreError> {
        self.reader.decisions(query)
    }

    fn report(&self, from: Timestamp, to: Timestamp) -> Result<Report, StoreError> {
        self.reader.report(from, to)
    }
}

impl Store for PostgresStore {
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
        self.reader.with(|connection| {
            // A read that fails is logged and reads as not known, as on
            // SQLite: a simulation shows what could be evaluated.
            read(&PgView::new(connection, None));
            Ok(())
        })
    }

    fn metrics(&self) -> Option<&StoreMetrics> {
        Some(&self.metrics)
    }

    fn record_snapshot(&self, record: &SnapshotRecord) -> Result<(), StoreError> {
        self.commands.keep(record)
    }

    fn reader(&self) -> &dyn AuditReader {
        self
    }
}
