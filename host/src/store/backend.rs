//! Which backend holds the store, as the daemon's configuration chooses
//! it, and opening it: the one place outside `sqlite/` that knows the
//! backends by name.

use std::path::PathBuf;
use std::sync::Arc;

use crate::store::{SqliteStore, Store, StoreError, StoreOptions};
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
}

/// Opens (creating and migrating) the configured store.
pub fn open(backend: &StoreBackend, clock: Arc<dyn Clock>) -> Result<Box<dyn Store>, StoreError> {
    match backend {
        StoreBackend::Sqlite { directory, options } => Ok(Box::new(SqliteStore::open(
            directory,
            options.clone(),
            clock,
        )?)),
    }
}
