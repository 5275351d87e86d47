//! Why the store failed: one error type whatever the backend, so the
//! daemon, the CLI and the API answer the same way on each.

/// An error of the database behind the store, kept whole (its
/// [`source`](std::error::Error::source) chain included) without the
/// store's interface naming the database's own types.
#[derive(Debug)]
pub struct DatabaseError(Box<dyn std::error::Error + Send + Sync>);

impl DatabaseError {
    /// Wraps a backend's error.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        DatabaseError(Box::new(error))
    }

    /// The backend's error, for a caller that knows the backend.
    pub fn inner(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl std::fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(DatabaseError),
    #[error("cannot open the store at {path}: {message}")]
    Open { path: String, message: String },
    #[error(
        "the database was written by a newer Redress (schema version {found}; this one knows {known})"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error("the store is shutting down")]
    Closed,
    #[error(
        "the data directory {directory} is in use by another Redress process (a daemon, or `redress store repair`); stop it first"
    )]
    Locked { directory: String },
    /// The batch's transaction could not be opened or committed (disk full,
    /// I/O error); nothing of the batch was recorded.
    #[error("the transaction was not committed, nothing was recorded: {0}")]
    NotCommitted(String),
    /// The database contradicts itself (rows missing that the store always
    /// writes together).
    #[error("the store's data is inconsistent: {0}")]
    Inconsistent(String),
    /// The audit file (`decisions.jsonl`) cannot be opened, written or
    /// read.
    #[error("audit file {path}: {message}")]
    AuditFile { path: String, message: String },
    /// The audit file is shorter than the database says: lines were lost.
    #[error(
        "audit file {path}: {length} bytes, but the database's audit log points {expected} bytes into it; lines were lost (the file was truncated, replaced or restored from an older copy). Stop here and run `redress store repair` to keep every intact entry and list the lost ones"
    )]
    AuditFileShort {
        path: String,
        length: u64,
        expected: u64,
    },
    /// The audit file was deleted, replaced or truncated while the store
    /// was running; nothing is recorded from then on.
    #[error(
        "audit file {path} was lost while the daemon was running ({reason}); nothing more is recorded: stop the daemon and run `redress store repair` (docs/daemon.md)"
    )]
    AuditFileLost { path: String, reason: String },
    /// A complaint sent again under an id whose recorded decision is lost
    /// from the audit file: it is not decided a second time.
    #[error(
        "complaint `{event_id}` was decided before (audit entry {seq}), but that decision was lost from the audit file; it is not decided again"
    )]
    DecisionLost { event_id: String, seq: i64 },
    #[error(
        "complaint `{event_id}` was decided before, and that decision is archived (past `[store.retention] decisions`); it is not decided again: read it with `redress audit --include-archive --case {event_id}`"
    )]
    DecisionArchived { event_id: String },
    #[error("cannot encode: {0}")]
    Encode(#[from] serde_json::Error),
}
