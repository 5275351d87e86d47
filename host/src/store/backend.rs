//! Which backend holds the store, as the daemon's configuration chooses
//! it, and opening it: the one place outside `sqlite/` that knows the
//! backends by name.

use std::path::PathBuf;
use std::sync::Arc;

use crate::store::{PostgresOptions, PostgresStore, SqliteStore, Store, StoreError, StoreOptions};
use crate::time::Clock;

/// A configured store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoreBackend {
    /// The embedded store in a data directory (`redress.db` and
    /// `decisions.jsonl`).
    Sqlite {
        directory: PathBuf,
        options: StoreOptions,
    },
    /// A PostgreSQL database, which several daemons may share.
    Postgres(PostgresOptions),
}

/// Opens (creating and migrating) the configured store.
pub fn open(backend: &StoreBackend, clock: Arc<dyn Clock>) -> Result<Box<dyn Store>, StoreError> {
    match backend {
        StoreBackend::Sqlite { directory, options } => Ok(Box::new(SqliteStore::open(
            directory,
            options.clone(),
            clock,
        )?)),
        StoreBackend::Postgres(options) => {
            Ok(Box::new(PostgresStore::open(options.clone(), clock)?))
        }
    }
}

impl StoreBackend {
    /// Where the store is, for messages: the database file, or the
    /// database's URL without its password.
    pub fn location(&self) -> String {
        match self {
            StoreBackend::Sqlite { directory, .. } => {
                super::database_path(directory).display().to_string()
            }
            StoreBackend::Postgres(options) => super::redacted_database_url(&options.url),
        }
    }
}
