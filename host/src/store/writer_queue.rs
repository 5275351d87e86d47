//! The requests a store's writer thread takes, whatever the backend: the
//! queue callers put them on, how the writer takes a batch of them, and how
//! it answers each once the batch's transaction is over (group commit).
//! Each backend runs the batch in its own transaction.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use tokio::sync::oneshot;

use crate::store::sqlite::prune::{PruneRequest, PruneStep};
use crate::store::{
    CaseView, Fired, Intake, LifecycleError, LifecycleEvent, Pending, Recorded, SnapshotRecord,
    StoreError, StoreMetrics,
};
use crate::time::Timestamp;

/// A request to the writer.
pub(in crate::store) enum Command {
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
    /// Keeps a snapshot before it serves. Through the writer's queue
    /// rather than a connection of its own: a second writer would compete
    /// for the database's write lock with batches that follow each other
    /// closely under load, and could lose that race for seconds.
    Keep {
        record: Box<SnapshotRecord>,
        /// A std channel: the reloader waits on a blocking thread.
        reply: SyncSender<Result<(), StoreError>>,
    },
    /// One step of retention (the embedded store's; see `sqlite/prune.rs`).
    Prune {
        request: Box<PruneRequest>,
        /// A std channel: retention runs on a blocking thread.
        reply: SyncSender<Result<PruneStep, StoreError>>,
    },
}

/// How commands of one transaction are kept apart.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::store) enum Isolation {
    /// Decisions share the transaction: the fast path, as recording a
    /// decision fails only when the database does. Lifecycle events and
    /// timer runs, which are refused for cause, still get a savepoint each.
    Shared,
    /// Every command in a savepoint of its own, so one command's failure
    /// does not undo the others.
    SavepointEach,
}

/// Counts a batch that took `took` in `metrics` and answers its commands
/// with `result`: their outcomes, or why the batch failed (then nothing
/// of it was recorded). A batch that wrote something and succeeded says
/// the store is writing again (`/readyz`); a run of timers alone may
/// have had nothing to write.
pub(in crate::store) fn settle(
    batch: Vec<Command>,
    result: Result<Vec<Outcome>, StoreError>,
    metrics: &StoreMetrics,
    took: std::time::Duration,
) {
    use std::sync::atomic::Ordering;
    metrics.batch.observe(took);
    metrics
        .batched
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    let writes = batch
        .iter()
        .any(|command| !matches!(command, Command::Fire { .. }));
    match result {
        Ok(outcomes) => {
            if writes {
                metrics.failing.store(false, Ordering::Relaxed);
            }
            answer(batch, Some(outcomes), "");
        }
        Err(error) => {
            if let StoreError::AuditFileLost { .. } = error {
                // Logged once, when it was found.
                metrics.audit_file_lost.store(true, Ordering::Relaxed);
            } else {
                tracing::error!(%error, "store transaction failed; the requests in it are answered with the error");
            }
            metrics.failed(&error);
            answer(batch, None, &error.to_string());
        }
    }
}

/// What a command produced, answered after the commit.
pub(in crate::store) enum Outcome {
    Decide(Result<Vec<Recorded>, StoreError>),
    /// Boxed: lifecycle events are rare, decisions are the hot path.
    Apply(Box<Result<CaseView, LifecycleError>>),
    Fire(Result<Vec<Fired>, StoreError>),
    Keep(Result<(), StoreError>),
    Prune(Result<PruneStep, StoreError>),
}

impl Outcome {
    pub(in crate::store) fn is_ok(&self) -> bool {
        match self {
            Outcome::Decide(result) => result.is_ok(),
            Outcome::Apply(result) => result.is_ok(),
            Outcome::Fire(result) => result.is_ok(),
            Outcome::Keep(result) => result.is_ok(),
            Outcome::Prune(result) => result.is_ok(),
        }
    }

    /// The store error in it, if any (a lifecycle event refused for cause
    /// is not one).
    pub(in crate::store) fn store_error(&self) -> Option<&StoreError> {
        match self {
            Outcome::Decide(Err(error))
            | Outcome::Fire(Err(error))
            | Outcome::Keep(Err(error))
            | Outcome::Prune(Err(error)) => Some(error),
            Outcome::Apply(result) => match result.as_ref() {
                Err(LifecycleError::Store(error)) => Some(error),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Where callers put requests for the writer.
pub(in crate::store) struct WriterQueue {
    sender: Option<SyncSender<Command>>,
}

impl WriterQueue {
    /// A queue of at most `capacity` requests, and the writer's end of it.
    pub(in crate::store) fn new(capacity: usize) -> (Self, Receiver<Command>) {
        let (sender, receiver) = sync_channel(capacity);
        (
            WriterQueue {
                sender: Some(sender),
            },
            receiver,
        )
    }

    /// Stops taking requests; the writer ends once it has answered those
    /// queued.
    pub(in crate::store) fn close(&mut self) {
        self.sender = None;
    }

    fn send(&self, command: Command) -> Result<(), Command> {
        match &self.sender {
            Some(sender) => match sender.try_send(command) {
                Ok(()) => Ok(()),
                // A full queue waits: back-pressure reaches the caller.
                Err(TrySendError::Full(command)) => sender.send(command).map_err(|e| e.0),
                Err(TrySendError::Disconnected(command)) => Err(command),
            },
            None => Err(command),
        }
    }

    pub(in crate::store) fn decide(
        &self,
        items: Vec<Intake>,
    ) -> Pending<Result<Vec<Recorded>, StoreError>> {
        let (reply, pending) = oneshot::channel();
        if let Err(Command::Decide { reply, .. }) = self.send(Command::Decide { items, reply }) {
            let _ = reply.send(Err(StoreError::Closed));
        }
        pending
    }

    pub(in crate::store) fn apply(
        &self,
        case_id: String,
        event: LifecycleEvent,
        now: Timestamp,
    ) -> Pending<Result<CaseView, LifecycleError>> {
        let (reply, pending) = oneshot::channel();
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

    pub(in crate::store) fn fire(&self, now: Timestamp) -> Pending<Result<Vec<Fired>, StoreError>> {
        let (reply, pending) = oneshot::channel();
        if let Err(Command::Fire { reply, .. }) = self.send(Command::Fire { now, reply }) {
            let _ = reply.send(Err(StoreError::Closed));
        }
        pending
    }

    /// Keeps `record`, waiting until it is committed.
    pub(in crate::store) fn keep(&self, record: &SnapshotRecord) -> Result<(), StoreError> {
        let (reply, kept) = sync_channel(1);
        let command = Command::Keep {
            record: Box::new(record.clone()),
            reply,
        };
        if self.send(command).is_err() {
            return Err(StoreError::Closed);
        }
        kept.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Takes one step of retention, waiting until it is committed.
    pub(in crate::store) fn prune(&self, request: PruneRequest) -> Result<PruneStep, StoreError> {
        let (reply, pruned) = sync_channel(1);
        let command = Command::Prune {
            request: Box::new(request),
            reply,
        };
        if self.send(command).is_err() {
            return Err(StoreError::Closed);
        }
        pruned.recv().unwrap_or(Err(StoreError::Closed))
    }
}

/// The next batch: the first request (waiting for it) and whatever else
/// is queued, up to `max`; `None` once the queue is closed and empty.
pub(in crate::store) fn next_batch(
    commands: &Receiver<Command>,
    max: usize,
) -> Option<Vec<Command>> {
    let first = commands.recv().ok()?;
    let mut batch = vec![first];
    while batch.len() < max {
        match commands.try_recv() {
            Ok(command) => batch.push(command),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Answers each command of `batch` with its outcome; every one without
/// (the batch failed: `outcomes` is `None`) with `failure`, as not
/// committed.
pub(in crate::store) fn answer(batch: Vec<Command>, outcomes: Option<Vec<Outcome>>, failure: &str) {
    let mut outcomes = outcomes.map(Vec::into_iter);
    let failed = || StoreError::NotCommitted(failure.to_string());
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
            (Command::Keep { reply, .. }, Some(Outcome::Keep(result))) => {
                let _ = reply.send(result);
            }
            (Command::Prune { reply, .. }, Some(Outcome::Prune(result))) => {
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
            (Command::Keep { reply, .. }, _) => {
                let _ = reply.send(Err(failed()));
            }
            (Command::Prune { reply, .. }, _) => {
                let _ = reply.send(Err(failed()));
            }
        }
    }
}
