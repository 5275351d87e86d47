//! The store with a clock the tests move: SLA timers, follow-ups, control
//! lines, budgets, retries and restarts.
//!
//! [`contract`] is what every backend promises, written against the
//! [`Store`] trait and run on each backend [`backends`] lists; [`sqlite`]
//! is what only the embedded backend has (its audit file, its migrations,
//! failures injected with SQLite triggers).

mod contract;
mod postgres;
#[path = "../../../../tests/support/postgres_server.rs"]
mod postgres_server;
mod retention;
mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::decision::TraceLevel;
use crate::engine::Enrichment;
use crate::expr::Env;
use crate::rules::{RuleFileText, RuleSet, load_files};
use crate::time::{Clock, ManualClock, Timestamp};

const RULES: &str = r#"
[[route]]
name = "all"
queue = "care"

[[sla]]
name = "standard"
first_response = "24h"
resolve = "72h"
follow_up = "3d"
on_breach = { escalate = "supervisor", notify = ["quality"] }

[[control_line]]
name = "quality"
when = 'category == "product_quality"'
group_by = ["product_line"]
window = "30d"
limit = 5
then = { notify = ["product-department"] }

[[authority]]
name = "parking"
policy = "parking-validation"
grant = "teller"
max_cost = 5
budget = { per = "location", window = "1d", count = 2 }

[[escalate]]
name = "returning"
when = 'customer.complaints_30d >= 2'
to = "manager"
"#;

/// A backend the tests run on: opens a store on the state in `directory`
/// (the same state again after a restart).
trait Backend {
    fn name(&self) -> &'static str;
    fn open(&self, directory: &Path, clock: Arc<dyn Clock>) -> Result<Box<dyn Store>, StoreError>;
}

struct Sqlite;

impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn open(&self, directory: &Path, clock: Arc<dyn Clock>) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(SqliteStore::open(
            directory,
            StoreOptions::default(),
            clock,
        )?))
    }
}

/// A database of the tests' PostgreSQL server per data directory, so that
/// a restart opens the same one.
struct Postgres(&'static postgres_server::PostgresServer);

impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn open(&self, directory: &Path, clock: Arc<dyn Clock>) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(PostgresStore::open(
            PostgresOptions::new(self.url_of(directory)),
            clock,
        )?))
    }
}

impl Postgres {
    /// The database of the data directory `directory`.
    fn url_of(&self, directory: &Path) -> String {
        let name = format!(
            "d{:x}",
            sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(
                directory.as_os_str().as_encoded_bytes()
            ))
        );
        self.0.database(&name[..20])
    }
}

/// Every backend the contract runs on: SQLite, and PostgreSQL where its
/// server binaries are installed (see `postgres_server`).
fn backends() -> Vec<&'static dyn Backend> {
    static POSTGRES: std::sync::OnceLock<Option<Postgres>> = std::sync::OnceLock::new();
    let mut backends: Vec<&'static dyn Backend> = vec![&Sqlite];
    if let Some(postgres) = POSTGRES
        .get_or_init(|| postgres_server::server("the store contract on PostgreSQL").map(Postgres))
    {
        backends.push(postgres);
    }
    backends
}

struct Fixture {
    _dir: tempfile::TempDir,
    /// The data directory (SQLite's database and audit file).
    path: PathBuf,
    backend: &'static dyn Backend,
    store: Box<dyn Store>,
    clock: Arc<ManualClock>,
    rules: Arc<RuleSet>,
}

fn start() -> Timestamp {
    "2026-11-01T09:00:00Z".parse().unwrap()
}

/// A fresh store on SQLite.
fn fixture() -> Fixture {
    fixture_on(&Sqlite)
}

/// A fresh store on `backend`.
fn fixture_on(backend: &'static dyn Backend) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let clock = Arc::new(ManualClock::new(start()));
    let store = backend.open(&path, clock.clone()).unwrap();
    let outcome = load_files(
        vec![RuleFileText {
            path: "rules.toml".into(),
            text: RULES.to_string(),
        }],
        &Env::standard(),
    );
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    Fixture {
        _dir: dir,
        path,
        backend,
        store,
        clock,
        rules: Arc::new(outcome.ruleset.unwrap()),
    }
}

impl Fixture {
    /// A complaint received now, ready to decide and record.
    fn intake(&self, json: serde_json::Value) -> Intake {
        let mut event = crate::event::ComplaintEvent::from_value(json).unwrap();
        let digest = crate::intake::event_digest(&event);
        event.received_at = Some(self.clock.now());
        let rules = self.rules.clone();
        let levels = rules.settings.level_names();
        let decide: DecideFn = Box::new(move |event, view| {
            crate::intake::pipeline::decide_with(
                &rules,
                &rules.version,
                event,
                &Enrichment::none(),
                view,
                TraceLevel::Compact,
            )
        });
        Intake::new(event, decide, levels).unwrap().sent_as(digest)
    }

    /// Decides and records one complaint received now.
    /// The history the store shows rules for this event (received now,
    /// unless it says when), as a simulation sees it.
    fn history(&self, json: serde_json::Value) -> crate::expr::CustomerHistory {
        let mut event = crate::event::ComplaintEvent::from_value(json).unwrap();
        event.received_at = event.received_at.or(Some(self.clock.now()));
        let mut seen = None;
        self.store
            .with_view(&mut |view| seen = view.history(&event, "USD"))
            .unwrap();
        seen.unwrap()
    }

    fn complain(&self, json: serde_json::Value) -> (Recorded, serde_json::Value) {
        let intake = self.intake(json);
        let mut recorded = self
            .store
            .decide_and_record(vec![intake])
            .blocking_recv()
            .unwrap()
            .unwrap();
        let recorded = recorded.remove(0);
        let decision = serde_json::from_str(&recorded.json).unwrap();
        (recorded, decision)
    }

    /// The audit log after position `after` (up to 1,000 entries).
    fn log_after(&self, after: i64) -> Vec<StoredDecision> {
        self.store
            .decisions(&DecisionQuery {
                after,
                limit: 1000,
                ..DecisionQuery::default()
            })
            .unwrap()
            .decisions
    }

    fn apply(&self, case: &str, kind: LifecycleKind) -> Result<CaseView, LifecycleError> {
        self.store
            .apply(
                case.to_string(),
                LifecycleEvent {
                    kind,
                    at: None,
                    by: Some("ana".into()),
                    note: None,
                    policy: None,
                    cost: None,
                },
            )
            .blocking_recv()
            .unwrap()
    }

    /// A teller's use of the parking-validation grant on `case`.
    fn use_parking(&self, case: &str, cost: f64) -> Result<CaseView, LifecycleError> {
        self.store
            .apply(
                case.to_string(),
                LifecycleEvent {
                    kind: LifecycleKind::AuthorityUsed,
                    at: None,
                    by: Some("teller-3".into()),
                    note: None,
                    policy: Some("parking-validation".into()),
                    cost: Some(cost),
                },
            )
            .blocking_recv()
            .unwrap()
    }

    fn tick(&self) -> Vec<Fired> {
        self.store
            .fire_due_timers(self.clock.now())
            .blocking_recv()
            .unwrap()
            .unwrap()
    }

    fn advance(&self, duration: &str) {
        self.clock.advance(duration.parse().unwrap());
    }

    /// A case with one SLA breach, a follow-up scheduled and one done.
    fn case_with_each_report_figure(&self) {
        self.complain(serde_json::json!({"id": "figures-1"}));
        self.advance("25h");
        self.tick();
        self.apply("figures-1", LifecycleKind::Responded).unwrap();
        self.apply("figures-1", LifecycleKind::Resolved).unwrap();
        self.apply("figures-1", LifecycleKind::FollowedUp).unwrap();
    }

    /// The report's (breaches, follow-ups scheduled, follow-ups done) since
    /// the fixture's start.
    fn report_figures(&self) -> (i64, i64, i64) {
        let totals = self.store.report(start(), self.clock.now()).unwrap().totals;
        (
            totals.sla_breaches,
            totals.follow_ups_scheduled,
            totals.follow_ups_done,
        )
    }

    /// Stops the store, runs `while_closed` on its data directory, and
    /// opens the store there again.
    fn reopen(self, while_closed: impl FnOnce(&Path)) -> Result<Fixture, StoreError> {
        let Fixture {
            _dir,
            path,
            backend,
            store,
            clock,
            rules,
        } = self;
        // Dropping a store stops it after it has committed what it took.
        drop(store);
        while_closed(&path);
        let store = backend.open(&path, clock.clone())?;
        Ok(Fixture {
            _dir,
            path,
            backend,
            store,
            clock,
            rules,
        })
    }
}
