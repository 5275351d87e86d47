//! What the store measures about itself, shown in `/metrics`.

use std::sync::atomic::AtomicU64;

use crate::histogram::Histogram;

/// The store's own measurements.
#[derive(Debug, Default)]
pub struct StoreMetrics {
    /// Time the writer spent on each batch: its transaction and the commit
    /// with its disk sync. Every request in a batch waits this long once the
    /// writer takes it; a slow disk shows here first.
    pub batch: Histogram,
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
}
