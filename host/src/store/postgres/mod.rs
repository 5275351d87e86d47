//! The shared store: one PostgreSQL database that several daemons decide
//! against at once.
//!
//! Each daemon keeps SQLite's shape: a writer thread (or `writers` of
//! them) owns a connection, takes everything queued (up to `max_batch`)
//! into one transaction, and answers only after it commits (group
//! commit); what a batch reads ahead and writes together is [`batch`]'s.
//! What a node cannot keep in memory when others write too (the case
//! index, the timer queue, the audit file) lives in the database: cases
//! are found by id, due timers are claimed from an index of pending ones,
//! and each entry of the audit log holds its own line's parts. The
//! guarantees across nodes come from the database: a unique index on
//! complaint event ids, advisory locks around every count a decision
//! reads ([`locks`]), row locks on cases, and `SKIP LOCKED` claims of
//! timers ([`timers`]). Reads (cases, the log, reports, simulations) use a
//! small pool of other connections.

mod batch;
pub(super) mod client;
mod complaint;
mod lifecycle;
pub(super) mod locks;
mod prune;
mod queries;
pub(super) mod schema;
mod timers;
mod view;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use self::batch::BatchState;
pub use self::client::redacted;
use self::client::{PgConnection, is_retryable};
use self::locks::LockSet;
use self::view::PgView;
use super::writer_queue::{Command, Isolation, Outcome, WriterQueue, answer, next_batch, settle};
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
    /// Writer threads, each with its connection and its own batches. With
    /// more than one, a node decides one batch while the server works on
    /// another's; they keep each other's counts exact with the same locks
    /// as separate nodes do.
    pub writers: usize,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("url", &redacted(&self.url))
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("max_batch", &self.max_batch)
            .field("writers", &self.writers)
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
            writers: 1,
        }
    }
}

/// The shared store.
pub struct PostgresStore {
    reader: PostgresReader,
    commands: WriterQueue,
    writers: Vec<JoinHandle<()>>,
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
        let commands = Arc::new(Mutex::new(commands));
        let mut writers = Vec::new();
        let mut connection = Some(connection);
        for n in 0..options.writers.max(1) {
            let connection = match connection.take() {
                Some(first) => first,
                None => PgConnection::connect(&options.url, options.statement_timeout)?,
            };
            let metrics = metrics.clone();
            let for_writer = options.clone();
            let commands = commands.clone();
            let writer = std::thread::Builder::new()
                .name(format!("redress-pg-writer-{n}"))
                .spawn(move || writer_loop(connection, &for_writer, &metrics, &commands))
                .map_err(|error| StoreError::Open {
                    path: redacted(&options.url),
                    message: format!("cannot start a writer thread: {error}"),
                })?;
            writers.push(writer);
        }
        Ok(PostgresStore {
            reader,
            commands: queue,
            writers,
            metrics,
            clock,
        })
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.commands.close();
        for handle in self.writers.drain(..) {
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
    commands: &Mutex<Receiver<Command>>,
) {
    let mut currency = None;
    // One writer waits for commands at a time; it takes what is queued and
    // lets the next one wait while it works.
    let take = || match commands.lock() {
        Ok(commands) => next_batch(&commands, options.max_batch),
        Err(poisoned) => next_batch(&poisoned.into_inner(), options.max_batch),
    };
    while let Some(batch) = take() {
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
        let result = run_batch(&connection, &batch, &mut currency);
        settle(batch, result, metrics, started.elapsed());
    }
}

/// Why an attempt did not commit.
enum Retry {
    /// A decision failed without a savepoint: run again with one each.
    Isolate,
    /// A lock was held by another node, or PostgreSQL broke a deadlock:
    /// run again, taking these locks at the start.
    Contended(BTreeSet<i64>),
}

/// `currency`: the one the rules last asked customers' histories in,
/// which the next batch reads them in ahead (kept by the writer).
fn run_batch(
    connection: &PgConnection,
    batch: &[Command],
    currency: &mut Option<String>,
) -> Result<Vec<Outcome>, StoreError> {
    let mut keys: BTreeSet<i64> = BTreeSet::new();
    for command in batch {
        match command {
            Command::Decide { items, .. } => {
                keys.extend(items.iter().flat_map(complaint::start_keys));
            }
            Command::Apply { case_id, .. } => {
                keys.insert(locks::event(case_id));
            }
            Command::Fire { .. } | Command::Keep { .. } | Command::Prune { .. } => {}
        }
    }
    let mut isolation = Isolation::Shared;
    let mut last_error = None;
    for _ in 0..MOST_ATTEMPTS {
        let locks = LockSet::taking(keys.clone());
        let attempt = run_transaction(connection, &locks, batch, isolation, currency);
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
    currency: &mut Option<String>,
) -> Result<Result<Vec<Outcome>, Retry>, StoreError> {
    let intakes = batch.iter().flat_map(|command| match command {
        Command::Decide { items, .. } => items.as_slice(),
        _ => &[],
    });
    let state = RefCell::new(BatchState::new(intakes));
    state.borrow_mut().begin(
        connection,
        "BEGIN ISOLATION LEVEL READ COMMITTED",
        &locks.at_start(),
        isolation == Isolation::Shared,
        currency.as_deref(),
    )?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for command in batch {
        let decide = |items: &[Intake]| -> Result<Vec<Recorded>, StoreError> {
            items
                .iter()
                .map(|intake| complaint::record_complaint(connection, locks, &state, intake))
                .collect()
        };
        if isolation == Isolation::Shared
            && let Command::Decide { items, .. } = command
        {
            let recorded = decide(items);
            if locks.was_contended() {
                return Ok(Err(Retry::Contended(locks.for_next_attempt())));
            }
            match recorded {
                Ok(recorded) => outcomes.push(Outcome::Decide(Ok(recorded))),
                Err(error) => return failed(error, isolation),
            }
            continue;
        }
        if !matches!(command, Command::Decide { .. })
            && let Err(error) = state.borrow_mut().before_other_command(connection)
        {
            return failed(error, isolation);
        }
        connection.batch("SAVEPOINT command")?;
        let mark = locks.mark();
        let outcome = match command {
            // Isolated: its writes are made inside its savepoint.
            Command::Decide { items, .. } => Outcome::Decide(decide(items).and_then(|recorded| {
                state.borrow_mut().flush(connection)?;
                Ok(recorded)
            })),
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
            // Never sent here: this backend prunes on a reader's connection
            // (`prune`), not in the writer's transactions.
            Command::Prune { .. } => Outcome::Prune(Err(StoreError::Inconsistent(
                "the PostgreSQL store prunes outside its writer".to_string(),
            ))),
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
            state.borrow_mut().discard_pending();
            if locks.taken_since(mark) {
                return Ok(Err(Retry::Contended(locks.for_next_attempt())));
            }
            connection.batch("ROLLBACK TO SAVEPOINT command; RELEASE SAVEPOINT command")?;
        }
        outcomes.push(outcome);
    }
    let committed = state.borrow_mut().commit(connection);
    if let Some(asked) = state.borrow().asked_currency() {
        *currency = Some(asked.to_string());
    }
    if let Err(error) = committed {
        return failed(error, isolation);
    }
    number_new_entries(batch, &mut outcomes, &state.borrow())?;
    Ok(Ok(outcomes))
}

/// What to do when a decision, or writing the batch's decisions, failed
/// outside a command's savepoint: another node in the way is run again as
/// such; any other failure runs the batch again a command at a time, so
/// that it fails only the command it belongs to. Already run so, the
/// failure is the batch's (its commit failed).
fn failed(
    error: StoreError,
    isolation: Isolation,
) -> Result<Result<Vec<Outcome>, Retry>, StoreError> {
    if is_retryable(&error) || isolation == Isolation::SavepointEach {
        return Err(error);
    }
    tracing::warn!(%error, "a decision failed to record; the batch is retried a command at a time");
    Ok(Err(Retry::Isolate))
}

/// Gives each new decision its position in the log, known once the batch
/// wrote it.
fn number_new_entries(
    batch: &[Command],
    outcomes: &mut [Outcome],
    state: &BatchState,
) -> Result<(), StoreError> {
    for (command, outcome) in batch.iter().zip(outcomes.iter_mut()) {
        let (Command::Decide { items, .. }, Outcome::Decide(Ok(recorded))) = (command, outcome)
        else {
            continue;
        };
        for (intake, recorded) in items.iter().zip(recorded.iter_mut()) {
            if recorded.replayed() {
                continue;
            }
            recorded.seq = state.seq_of(&intake.event.id).ok_or_else(|| {
                StoreError::Inconsistent(format!(
                    "complaint `{}` was decided but its log entry was not written",
                    intake.event.id
                ))
            })?;
        }
    }
    Ok(())
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

    fn cases_of_customer(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<crate::store::CaseSummary>, StoreError> {
        self.with(|connection| queries::read_cases_of_customer(connection, customer_id, limit))
    }

    fn decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, StoreError> {
        self.with(|connection| queries::read_decisions(connection, query))
    }

    fn complaints_per_day(
        &self,
        cell: &crate::store::GridCell,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, i64)>, StoreError> {
        self.with(|connection| queries::read_complaints_per_day(connection, cell, from, to))
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

    fn cases_of_customer(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<crate::store::CaseSummary>, StoreError> {
        self.reader.cases_of_customer(customer_id, limit)
    }

    fn decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, StoreError> {
        self.reader.decisions(query)
    }

    fn complaints_per_day(
        &self,
        cell: &crate::store::GridCell,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, i64)>, StoreError> {
        self.reader.complaints_per_day(cell, from, to)
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

    fn prune(
        &self,
        cutoffs: &crate::store::Cutoffs,
    ) -> Result<crate::store::PruneReport, StoreError> {
        self.reader
            .with(|connection| prune::prune_step(connection, cutoffs))
    }

    fn reader(&self) -> &dyn AuditReader {
        self
    }
}
