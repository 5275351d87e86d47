//! A blocking handle on one PostgreSQL connection, usable from any thread.
//!
//! The driver is `tokio-postgres`: it pipelines (statements sent together
//! cost one round trip, which the writer uses for everything it writes
//! after a decision), and its client is runtime-agnostic while the
//! connection itself is driven by a small tokio runtime of the store's
//! own. So the store's writer thread, the engine's [`StateView`] reads
//! inside a decision (synchronous by design) and the offline tools all wait
//! on the client's futures with a plain executor, inside or outside the
//! daemon's runtime. `sqlx` was the other choice; its compile-time checked
//! queries need a database (or checked-in query data) at build time, and
//! the synchronous `postgres` crate cannot be called from inside the
//! daemon's runtime at all.
//!
//! [`StateView`]: crate::engine::StateView

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use futures_executor::block_on;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::locks;
use crate::store::{DatabaseError, StoreError};

/// A driver error as an operator reads it: the driver's own text names
/// only the kind ("db error", "error connecting to server"), so the
/// server's message or the cause (refused, timed out) follows it.
#[derive(Debug)]
pub struct PostgresError(pub tokio_postgres::Error);

impl std::fmt::Display for PostgresError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(&self.0);
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// The causes are in the text.
impl std::error::Error for PostgresError {}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        StoreError::Database(DatabaseError::new(PostgresError(error)))
    }
}

/// The runtime that drives every connection's socket: one thread, shared
/// by the stores of the process.
fn runtime() -> Result<&'static tokio::runtime::Runtime, StoreError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("redress-postgres")
                .enable_all()
                .build()
                .map_err(|error| error.to_string())
        })
        .as_ref()
        .map_err(|message| StoreError::Open {
            path: "postgres".to_string(),
            message: format!("cannot start the PostgreSQL driver's runtime: {message}"),
        })
}

/// Where a database is, for messages: its URL without the password.
pub fn redacted(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(config) => {
            let hosts: Vec<String> = config
                .get_hosts()
                .iter()
                .map(|host| match host {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect();
            let port = config.get_ports().first().copied().unwrap_or(5432);
            format!(
                "postgres://{}@{}:{port}/{}",
                config.get_user().unwrap_or(""),
                hosts.join(","),
                config.get_dbname().unwrap_or("")
            )
        }
        Err(_) => "the database URL given".to_string(),
    }
}

/// How long connecting may take unless the URL says.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One connection, with its prepared statements.
pub struct PgConnection {
    client: Client,
    prepared: Mutex<HashMap<&'static str, Statement>>,
}

impl PgConnection {
    /// Connects to `url`; every statement is cut off after
    /// `statement_timeout` (`None`: the server's setting).
    pub fn connect(url: &str, statement_timeout: Option<Duration>) -> Result<Self, StoreError> {
        let runtime = runtime()?;
        let mut config: tokio_postgres::Config = url.parse().map_err(|error| StoreError::Open {
            path: redacted(url),
            message: format!("not a PostgreSQL URL: {}", PostgresError(error)),
        })?;
        // An unreachable host would otherwise hold the writer, and every
        // request queued behind it, for the operating system's TCP
        // timeout; a URL that sets `connect_timeout` keeps its own.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let (client, connection) = runtime
            .block_on(async { config.connect(NoTls).await })
            .map_err(|error| StoreError::Open {
                path: redacted(url),
                message: PostgresError(error).to_string(),
            })?;
        runtime.spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "PostgreSQL connection ended");
            }
        });
        let connection = PgConnection {
            client,
            prepared: Mutex::new(HashMap::new()),
        };
        // An entry's decision and event are kilobytes of JSON, which the
        // server compresses as it stores them; lz4 costs it a fraction of
        // the CPU of the default (pglz). A server built without lz4 keeps
        // its default.
        if let Err(error) = connection.batch("SET default_toast_compression = 'lz4'") {
            tracing::debug!(%error, "the server's own TOAST compression is used");
        }
        if let Some(timeout) = statement_timeout {
            connection.batch(&format!(
                "SET statement_timeout = {}",
                timeout.as_millis().max(1)
            ))?;
        }
        Ok(connection)
    }

    /// Whether the connection is gone (the server stopped or dropped it).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// `sql`, prepared once per connection.
    pub fn statement(&self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Ok(prepared) = self.prepared.lock()
            && let Some(statement) = prepared.get(sql)
        {
            return Ok(statement.clone());
        }
        let statement = block_on(self.client.prepare(sql))?;
        if let Ok(mut prepared) = self.prepared.lock() {
            prepared.insert(sql, statement.clone());
        }
        Ok(statement)
    }

    /// Runs statements without parameters (transaction control, `SET`).
    pub fn batch(&self, sql: &str) -> Result<(), StoreError> {
        Ok(block_on(self.client.batch_execute(sql))?)
    }

    pub fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let statement = self.statement(sql)?;
        Ok(block_on(self.client.query(&statement, params))?)
    }

    pub fn query_opt(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let statement = self.statement(sql)?;
        Ok(block_on(self.client.query_opt(&statement, params))?)
    }

    pub fn query_one(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        let statement = self.statement(sql)?;
        Ok(block_on(self.client.query_one(&statement, params))?)
    }

    /// Runs `sql` (no parameters, not kept prepared): its one row. For
    /// statements built at run time, such as a count of a named table.
    pub fn query_one_unprepared(&self, sql: &str) -> Result<Row, StoreError> {
        Ok(block_on(self.client.query_one(sql, &[]))?)
    }

    pub fn execute(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        Ok(block_on(self.client.execute(&statement, params))?)
    }

    /// Tries to take the transaction-scoped advisory lock `key` without
    /// waiting, and runs `sql` (one round trip): whether the lock was
    /// taken, and `sql`'s one row.
    pub fn try_locked_query_one(
        &self,
        key: i64,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<(bool, Row), StoreError> {
        let lock = self.statement("SELECT pg_try_advisory_xact_lock($1)")?;
        let statement = self.statement(sql)?;
        let (taken, row) = block_on(futures_util::future::join(
            self.client.query_one(&lock, &[&key]),
            self.client.query_one(&statement, params),
        ));
        Ok((taken?.try_get(0)?, row?))
    }

    /// Begins a transaction with `begin`, takes the log's order lock
    /// shared and the advisory locks `keys` (in that order, waiting for
    /// them) and runs `queries`, all sent
    /// together (one round trip): each query's rows.
    pub fn begin_locked_queries(
        &self,
        begin: &'static str,
        keys: &[i64],
        queries: &[Sql<'_>],
    ) -> Result<Vec<Vec<Row>>, StoreError> {
        let lock = self.statement(LOCK_KEYS)?;
        let log_order = self.statement(TAKE_LOG_ORDER_SHARED)?;
        let statements = self.statements(queries)?;
        let (begun, ordered, locked, rows) = block_on(futures_util::future::join4(
            self.client.batch_execute(begin),
            self.client.execute(&log_order, &[&locks::LOG_ORDER]),
            async {
                if keys.is_empty() {
                    return Ok(0);
                }
                self.client.execute(&lock, &[&keys]).await
            },
            futures_util::future::join_all(
                queries
                    .iter()
                    .zip(&statements)
                    .map(|(query, statement)| self.client.query(statement, query.params)),
            ),
        ));
        begun?;
        ordered?;
        locked?;
        rows.into_iter()
            .map(|rows| rows.map_err(StoreError::from))
            .collect()
    }

    /// Runs every statement of `writes`, then `sql`, then (if given) the
    /// statement without parameters `then` (a `COMMIT`), all sent
    /// together (one round trip); the first error, if any, or `sql`'s
    /// rows. When a statement fails, the transaction is aborted and a
    /// `COMMIT` after it rolls back: the error returned is the first one.
    pub fn execute_all_then_query(
        &self,
        writes: &[Sql<'_>],
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        then: Option<&'static str>,
    ) -> Result<Vec<Row>, StoreError> {
        let statements = self.statements(writes)?;
        let last = self.statement(sql)?;
        let (results, (rows, ended)) = block_on(futures_util::future::join(
            futures_util::future::join_all(
                writes
                    .iter()
                    .zip(&statements)
                    .map(|(write, statement)| self.client.execute(statement, write.params)),
            ),
            futures_util::future::join(self.client.query(&last, params), async {
                match then {
                    Some(sql) => self.client.batch_execute(sql).await,
                    None => Ok(()),
                }
            }),
        ));
        for result in results {
            result?;
        }
        let rows = rows?;
        ended?;
        Ok(rows)
    }

    fn statements(&self, of: &[Sql<'_>]) -> Result<Vec<Statement>, StoreError> {
        of.iter().map(|sql| self.statement(sql.sql)).collect()
    }
}

/// Rows sent to a `COPY ... FROM STDIN BINARY` statement.
pub struct CopyIn {
    writer: Pin<Box<BinaryCopyInWriter>>,
}

impl PgConnection {
    /// Starts `sql` (`COPY table (columns) FROM STDIN BINARY`), whose
    /// columns have `types`, in the order given.
    pub fn copy_in(&self, sql: &str, types: &[Type]) -> Result<CopyIn, StoreError> {
        let sink = block_on(self.client.copy_in(sql))?;
        Ok(CopyIn {
            writer: Box::pin(BinaryCopyInWriter::new(sink, types)),
        })
    }
}

impl CopyIn {
    /// Sends one row (buffered: the driver sends rows in chunks).
    pub fn write(&mut self, values: &[&(dyn ToSql + Sync)]) -> Result<(), StoreError> {
        Ok(block_on(self.writer.as_mut().write(values))?)
    }

    /// Ends the copy: how many rows the server took.
    pub fn finish(mut self) -> Result<u64, StoreError> {
        Ok(block_on(self.writer.as_mut().finish())?)
    }
}

/// See [`locks::LOG_ORDER`]: taken before any other lock of the
/// transaction.
const TAKE_LOG_ORDER_SHARED: &str = "SELECT pg_advisory_xact_lock_shared($1)";

/// Locks the keys `$1` in the order given; held until the transaction ends.
pub const LOCK_KEYS: &str = "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS u(k, n) ORDER BY n";

/// One statement with its parameters, sent with others.
pub struct Sql<'a> {
    pub sql: &'static str,
    pub params: &'a [&'a (dyn ToSql + Sync)],
}

/// Whether `error` is PostgreSQL giving up on a transaction that another
/// one got in the way of (a deadlock between advisory locks of two nodes,
/// a serialization failure): running it again is the answer.
pub fn is_retryable(error: &StoreError) -> bool {
    use tokio_postgres::error::SqlState;
    let StoreError::Database(database) = error else {
        return false;
    };
    database
        .inner()
        .downcast_ref::<PostgresError>()
        .and_then(|error| error.0.code())
        .is_some_and(|code| {
            *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE
        })
}
