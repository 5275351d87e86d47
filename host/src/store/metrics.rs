//! What the store measures about itself, shown in `/metrics`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64};

use crate::histogram::LatencyHistogram;

/// The store's own measurements.
#[derive(Debug, Default)]
pub struct StoreMetrics {
    /// Which backend: `sqlite` or `postgres` (empty for neither).
    pub backend: &'static str,
    /// Time the writer spent on each batch: its transaction and the commit
    /// with its disk sync. Every request in a batch waits this long once the
    /// writer takes it; a slow disk shows here first.
    pub batch: LatencyHistogram,
    /// Requests (decisions, lifecycle events, timer runs) committed, over
    /// all batches.
    pub batched: AtomicU64,
    /// Cases in the in-memory case index (about 150 bytes each).
    pub cases_indexed: AtomicU64,
    /// Entries in the in-memory queue of pending timers (about 50 bytes each),
    /// including those of timers since cancelled or re-armed, which leave
    /// when their time comes.
    pub timers_queued: AtomicU64,
    /// Bytes of `decisions.jsonl` the audit log points into.
    pub audit_file_bytes: AtomicU64,
    /// The audit file was lost while running (deleted, replaced, cut):
    /// nothing is recorded until the store is repaired.
    pub audit_file_lost: AtomicBool,
    /// The latest batch that tried to record something failed (a full
    /// disk, an I/O error): the daemon is not ready until one succeeds.
    pub failing: AtomicBool,
    /// Why, for `/readyz`. Held only to read or replace it.
    pub failure: Mutex<String>,
}

impl StoreMetrics {
    /// The measurements of a `backend` store.
    pub fn of(backend: &'static str) -> Self {
        StoreMetrics {
            backend,
            ..StoreMetrics::default()
        }
    }

    /// Whether the store keeps a case index, a timer queue and an audit
    /// file of its own (SQLite does; on PostgreSQL they are the
    /// database's, shared by every node).
    pub fn keeps_local_state(&self) -> bool {
        self.backend == "sqlite"
    }

    /// A batch failed with `error`: the daemon is not ready until one
    /// succeeds.
    pub fn failed(&self, error: &impl std::fmt::Display) {
        use std::sync::atomic::Ordering;
        self.failing.store(true, Ordering::Relaxed);
        if let Ok(mut slot) = self.failure.lock() {
            *slot = error.to_string();
        }
    }

    /// Why nothing can be recorded now, if that is so.
    pub fn unavailable(&self) -> Option<String> {
        use std::sync::atomic::Ordering;
        if !self.failing.load(Ordering::Relaxed) && !self.audit_file_lost.load(Ordering::Relaxed) {
            return None;
        }
        Some(
            self.failure
                .lock()
                .map(|f| f.clone())
                .unwrap_or_else(|_| "the store's last write failed".to_string()),
        )
    }
}
