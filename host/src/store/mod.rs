//! Durable state: the audit log of decisions, cases and their lifecycle,
//! SLA timers and follow-ups, control-line counts and authority budgets.
//!
//! [`Store`] is the interface and [`StoreReader`] its reading half (what
//! the offline tools read); [`SqliteStore`] is the embedded backend (one
//! file in the data directory, WAL, with the audit file beside it), and
//! [`PostgresStore`] the one several daemons share. Deciding
//! and recording are one step: the store runs the rules stage against a
//! view of the state inside the same transaction that records the
//! decision, so counts and budgets are exact under concurrency, and answers
//! only after the transaction is durable.
//!
//! The layout keeps what is decided apart from where it is written:
//! - `domain/`: backend-neutral rules as pure functions (a case's
//!   lifecycle, what each lifecycle event stamps, cancels and arms, the
//!   case a decision opens, a use of authority against its grant and
//!   budget, the decision a due timer makes);
//! - beside it, what both backends share: the writer's queue and how a
//!   batch is answered (`writer_queue`), the audit log's line
//!   (`audit_line`), a kept snapshot's row (`snapshot`);
//! - `sqlite/`: the SQLite backend (writer and group commit, its queries,
//!   the audit file, the case index and timer queue it keeps in memory,
//!   migrations, repair);
//! - `postgres/`: the PostgreSQL backend (writer and group commit, the
//!   locks that keep counts exact across nodes, timers claimed with `SKIP
//!   LOCKED`, migrations);
//! - `copy`: moving a data directory's store onto PostgreSQL;
//! - `tests/`: the contract every backend must keep, run on each, and each
//!   backend's own tests.

mod audit_line;
mod backend;
mod copy;
mod domain;
mod error;
mod log_reader;
mod metrics;
mod postgres;
mod reader;
mod report;
mod retention;
mod scheduler;
mod snapshot;
mod sqlite;
mod timer;
mod writer_queue;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

pub use backend::{StoreBackend, open};
pub use copy::{CopyError, CopyReport, TableCount, copy_to_postgres};
pub use domain::lifecycle::{
    AuthorityUseError, LifecycleError, LifecycleEvent, LifecycleKind, Status,
};
pub use error::{DatabaseError, StoreError};
pub use log_reader::{AuditReader, LineParts, LogQuery, LoggedComplaint};
pub use metrics::StoreMetrics;
pub use postgres::{
    PostgresOptions, PostgresReader, PostgresStore, redacted as redacted_database_url,
};
pub use reader::StoreReader;
pub use report::{Amount, GridCell, Report, ReportRow};
pub use retention::{
    CUSTOMER_HISTORY_WINDOW, Cutoffs, PruneReport, RetentionOptions, RuleWindows, spawn_retention,
};
pub use scheduler::spawn_scheduler;
pub use snapshot::{PluginRecord, SnapshotRecord};
pub use sqlite::archive::Archive;
pub use sqlite::audit_archive::{ArchiveIndex, ArchivedSegment};
pub use sqlite::backup::{
    BackupError, BackupManifest, backup_data_dir, restore_data_dir, verify_backup,
};
pub use sqlite::lock::DataLock;
pub use sqlite::repair::{LostEntry, RepairReport, repair_data_dir};
pub use sqlite::with_archive::WithArchive;
pub use sqlite::{DEFAULT_SEGMENT_BYTES, Durability, SqliteStore, StoreOptions};
pub use timer::{TimerKind, TimerState};

/// The store's database in the data directory `directory`.
pub fn database_path(directory: &Path) -> PathBuf {
    directory.join("redress.db")
}

use crate::decision::Name;
use crate::engine::StateView;
use crate::event::ComplaintEvent;
use crate::intake::Decided;
use crate::time::Timestamp;

/// Runs the rules stage for the intake's event against the store's view of
/// the state just before it, recording what it read. `Fn`, not `FnOnce`:
/// the store may run it again when it retries a batch.
pub type DecideFn = Box<dyn Fn(&ComplaintEvent, &dyn StateView) -> Decided + Send>;

/// One complaint to decide and record.
pub struct Intake {
    /// The event, with `received_at` set.
    pub event: ComplaintEvent,
    /// The event as the audit log keeps it, written by [`Intake::new`] on
    /// the caller's thread rather than by the store's single writer.
    event_json: String,
    pub decide: DecideFn,
    /// Position of each escalation level (`[ruleset] escalation_levels`),
    /// so breaches only ever raise a case.
    pub levels: Vec<Name>,
    /// An import of history: SLA timers already due at this moment are
    /// recorded as cancelled instead of firing at once.
    pub lapse_before: Option<Timestamp>,
    /// The digest of the event as sent
    /// ([`event_digest`](crate::intake::event_digest)): a retry under a
    /// recorded id must carry the same one. `None` checks nothing.
    pub digest: Option<String>,
}

impl Intake {
    /// An intake for `event`; fails only if the event cannot be written as
    /// JSON for the audit log.
    pub fn new(
        event: ComplaintEvent,
        decide: DecideFn,
        levels: Vec<Name>,
    ) -> Result<Self, StoreError> {
        Ok(Intake {
            event_json: serde_json::to_string(&event)?,
            event,
            decide,
            levels,
            lapse_before: None,
            digest: None,
        })
    }

    /// The intake of an event sent with this digest.
    pub fn sent_as(mut self, digest: String) -> Self {
        self.digest = Some(digest);
        self
    }

    /// The intake of a complaint from history: its SLA timers that are
    /// already due at `now` do not fire (they are recorded as cancelled).
    pub fn importing(mut self, now: Timestamp) -> Self {
        self.lapse_before = Some(now);
        self
    }
}

/// A recorded decision.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Position in the audit log.
    pub seq: i64,
    /// The decision as stored and answered (JSON).
    pub json: String,
    pub queue: Name,
    /// The highest escalation level the decision reached.
    pub escalation_level: Option<Name>,
    /// Decided now, or found in the log.
    pub answered: Answered,
    /// Control lines this complaint was counted by: (rule, group, count, crossed).
    pub control_lines: Vec<(Name, String, i64, bool)>,
}

impl Recorded {
    /// The answer to a complaint whose id is in the log already: its
    /// recorded decision `json` at `seq`. `sent` and `recorded` are the
    /// digests of the event sent now and of the one recorded; both known
    /// and different means another complaint under a recorded id.
    /// Decisions from before digests were kept, and intakes that carry
    /// none, are not checked.
    pub(in crate::store) fn from_log(
        seq: i64,
        json: String,
        sent: Option<&str>,
        recorded: Option<&str>,
    ) -> Result<Self, StoreError> {
        let parsed: serde_json::Value = serde_json::from_str(&json)?;
        let queue = Name::from(parsed["route"]["queue"].as_str().unwrap_or_default());
        let escalation_level = parsed["escalation_level"].as_str().map(Name::from);
        Ok(Recorded {
            seq,
            json,
            queue,
            escalation_level,
            answered: match (sent, recorded) {
                (Some(sent), Some(recorded)) if sent != recorded => Answered::IdReused,
                _ => Answered::FromLog,
            },
            control_lines: Vec::new(),
        })
    }
}

/// Where a recorded answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// Decided now, and recorded with this answer.
    Decided,
    /// The event was decided before (a retry): this is that decision.
    FromLog,
    /// The event's id was decided before, but for a different body: this
    /// is that decision, and this complaint was not recorded.
    IdReused,
}

impl Recorded {
    /// Whether the answer is an earlier decision from the log.
    pub fn replayed(&self) -> bool {
        self.answered != Answered::Decided
    }
}

/// A time-based decision the scheduler made.
#[derive(Debug, Clone, Serialize)]
pub struct Fired {
    pub seq: i64,
    pub case_id: String,
    pub timer: TimerKind,
    pub due_at: Timestamp,
    pub escalate: Option<String>,
}

/// A case and everything that happened to it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseView {
    pub id: String,
    pub customer_id: Option<String>,
    pub status: Status,
    pub opened_at: Timestamp,
    pub updated_at: Timestamp,
    pub category: Option<String>,
    pub product_line: Option<String>,
    pub tier: Option<String>,
    pub location: Option<String>,
    pub queue: String,
    pub handler: Option<String>,
    pub escalation_level: Option<String>,
    pub goodwill: f64,
    pub timers: Vec<TimerView>,
    pub history: Vec<CaseEventView>,
    pub decisions: Vec<StoredDecision>,
}

/// A case in a list: what finding cases shows before one is opened.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseSummary {
    pub id: String,
    pub status: Status,
    pub opened_at: Timestamp,
    pub category: Option<String>,
    pub queue: String,
    pub escalation_level: Option<String>,
}

/// A timer of a case.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimerView {
    pub kind: TimerKind,
    pub due_at: Timestamp,
    pub state: TimerState,
    pub fired_at: Option<Timestamp>,
}

/// One lifecycle event of a case.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseEventView {
    pub kind: String,
    pub at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// What an entry of the audit log decided.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DecisionKind {
    /// A complaint, through plugins and rules.
    Complaint,
    /// A missed SLA commitment (a first-response or resolve timer fired).
    SlaBreach,
    /// The follow-up after resolution is due.
    FollowUpDue,
}

impl DecisionKind {
    /// The kind as the audit log and the `decisions` table name it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StoredDecision {
    pub seq: i64,
    pub event_id: String,
    pub case_id: String,
    pub kind: DecisionKind,
    /// A complaint's `received_at` (the moment its rules and SLAs count
    /// from), or the moment a timer fired.
    pub decided_at: Timestamp,
    pub ruleset_version: String,
    pub plugin_digests: BTreeMap<String, String>,
    pub decision: serde_json::Value,
}

/// Which part of the audit log to read.
#[derive(Debug, Clone, Default)]
pub struct DecisionQuery {
    /// Entries after this position (the previous page's `next`).
    pub after: i64,
    pub limit: usize,
    pub case_id: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// A page of the audit log.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct DecisionPage {
    pub decisions: Vec<StoredDecision>,
    /// Pass as `after` for the next page; absent at the end.
    pub next: Option<i64>,
}

/// A reply that arrives once the store's transaction is durable.
pub type Pending<T> = oneshot::Receiver<T>;

/// Opens the store of the data directory `directory` to read it, while a
/// daemon runs there or not.
pub fn open_reader(directory: &Path) -> Result<Box<dyn StoreReader>, StoreError> {
    Ok(Box::new(Archive::open(directory)?))
}

/// [`open_reader`] with the directory's archive: archived entries first,
/// then the live ones (`--include-archive`).
pub fn open_reader_with_archive(directory: &Path) -> Result<WithArchive, StoreError> {
    WithArchive::open(directory, open_reader(directory)?)
}

/// Durable state behind one interface.
pub trait Store: StoreReader + Send + Sync {
    /// Decides (with each intake's `decide`, against the state just before
    /// it) and records complaints; the reply comes once they are durable.
    /// An event already recorded is not decided again: its decision is
    /// returned with `replayed` set.
    fn decide_and_record(&self, items: Vec<Intake>) -> Pending<Result<Vec<Recorded>, StoreError>>;

    /// Applies a lifecycle event to a case.
    fn apply(
        &self,
        case_id: String,
        event: LifecycleEvent,
    ) -> Pending<Result<CaseView, LifecycleError>>;

    /// Fires the timers due at `now`, each exactly once, recording a
    /// time-based decision for each.
    fn fire_due_timers(&self, now: Timestamp) -> Pending<Result<Vec<Fired>, StoreError>>;

    /// Runs `read` against a read-only view of the state (simulations).
    fn with_view(&self, read: &mut dyn FnMut(&dyn StateView)) -> Result<(), StoreError>;

    /// What the store measures about itself, if anything.
    fn metrics(&self) -> Option<&StoreMetrics> {
        None
    }

    /// Keeps a snapshot before it serves, so that the decisions naming it
    /// can be decided again (a no-op for a version already kept). Blocks
    /// until it is committed: call it off the async runtime.
    fn record_snapshot(&self, record: &SnapshotRecord) -> Result<(), StoreError>;

    /// The store's audit log, for replay, diff and the reload gate.
    fn reader(&self) -> &dyn AuditReader;

    /// One step of retention: prunes, within `cutoffs.step_rows` rows a
    /// table, what lies before the cutoffs (docs/retention.md). Blocks:
    /// call it off the async runtime. A backend that does not prune keeps
    /// everything.
    fn prune(&self, cutoffs: &Cutoffs) -> Result<PruneReport, StoreError> {
        let _ = cutoffs;
        retention::keeps_everything()
    }
}

#[cfg(test)]
mod tests;
