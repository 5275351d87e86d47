//! The store with a clock the tests move: SLA timers, follow-ups, control
//! lines, budgets, retries and restarts.

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

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: SqliteStore,
    clock: Arc<ManualClock>,
    rules: Arc<RuleSet>,
}

/// A connection of the test's own to the store's database file.
fn database(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path.join("redress.db")).unwrap()
}

/// Makes the database refuse the inserts into `table` that match `when`,
/// as a full disk or a broken index would; [`allow_inserts`] lifts it.
fn refuse_inserts(path: &Path, table: &str, when: &str) {
    database(path)
        .execute_batch(&format!(
            "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN {when}
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
        ))
        .unwrap();
}

fn allow_inserts(path: &Path, table: &str) {
    database(path)
        .execute_batch(&format!("DROP TRIGGER refuse_{table}"))
        .unwrap();
}

fn start() -> Timestamp {
    "2026-11-01T09:00:00Z".parse().unwrap()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let clock = Arc::new(ManualClock::new(start()));
    let store = SqliteStore::open(&path, StoreOptions::default(), clock.clone()).unwrap();
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
        store,
        clock,
        rules: Arc::new(outcome.ruleset.unwrap()),
    }
}

impl Fixture {
    /// A complaint received now, ready to decide and record.
    fn intake(&self, json: serde_json::Value) -> Intake {
        let mut event = crate::event::ComplaintEvent::from_value(json).unwrap();
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
        Intake::new(event, decide, levels).unwrap()
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

    /// Stops the store, runs `while_closed` on its data directory, and
    /// opens the store there again.
    fn reopen(self, while_closed: impl FnOnce(&Path)) -> Result<Fixture, StoreError> {
        let Fixture {
            _dir,
            path,
            mut store,
            clock,
            rules,
        } = self;
        store.close();
        drop(store);
        while_closed(&path);
        let store = SqliteStore::open(&path, StoreOptions::default(), clock.clone())?;
        Ok(Fixture {
            _dir,
            path,
            store,
            clock,
            rules,
        })
    }
}

#[test]
fn a_missed_first_response_escalates_once() {
    let f = fixture();
    f.complain(serde_json::json!({"id": "c-1"}));
    f.advance("23h");
    assert!(f.tick().is_empty(), "not yet due");
    f.advance("2h");
    let fired = f.tick();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].timer, TimerKind::FirstResponse);
    assert_eq!(fired[0].escalate.as_deref(), Some("supervisor"));
    assert!(f.tick().is_empty(), "fired once");
    let case = f.store.case("c-1").unwrap().unwrap();
    assert_eq!(case.escalation_level.as_deref(), Some("supervisor"));
    let breach = case
        .decisions
        .iter()
        .find(|d| d.kind == DecisionKind::SlaBreach)
        .unwrap();
    assert_eq!(breach.decision["notify"], serde_json::json!(["quality"]));
    assert_eq!(
        breach.ruleset_version, case.decisions[0].ruleset_version,
        "a breach answers to the ruleset that made the commitment"
    );
}

#[test]
fn a_timely_response_means_no_breach() {
    let f = fixture();
    f.complain(serde_json::json!({"id": "c-2"}));
    f.advance("3h");
    f.apply("c-2", LifecycleKind::Responded).unwrap();
    f.advance("30h");
    let fired = f.tick();
    assert!(fired.is_empty(), "{fired:?}");
    let case = f.store.case("c-2").unwrap().unwrap();
    assert_eq!(case.status, Status::Responded);
    let first = case
        .timers
        .iter()
        .find(|t| t.kind == TimerKind::FirstResponse)
        .unwrap();
    assert_eq!(first.state, TimerState::Cancelled);
}

#[test]
fn a_follow_up_is_due_after_resolution() {
    let f = fixture();
    f.complain(serde_json::json!({"id": "c-3"}));
    f.advance("2h");
    f.apply("c-3", LifecycleKind::Responded).unwrap();
    f.advance("10h");
    let case = f.apply("c-3", LifecycleKind::Resolved).unwrap();
    let follow_up = case
        .timers
        .iter()
        .find(|t| t.kind == TimerKind::FollowUp)
        .unwrap();
    assert_eq!(
        follow_up.due_at,
        start()
            .checked_add("12h".parse().unwrap())
            .unwrap()
            .checked_add("3d".parse().unwrap())
            .unwrap()
    );
    f.advance("2d");
    assert!(f.tick().is_empty());
    f.advance("1d");
    let fired = f.tick();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].timer, TimerKind::FollowUp);
    f.apply("c-3", LifecycleKind::FollowedUp).unwrap();
    f.apply("c-3", LifecycleKind::Confirmed).unwrap();
    let case = f.apply("c-3", LifecycleKind::Closed).unwrap();
    let kinds: Vec<&str> = case.history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "responded",
            "resolved",
            "follow_up_due",
            "followed_up",
            "confirmed",
            "closed"
        ]
    );
}

#[test]
fn lifecycle_conflicts_are_refused() {
    let f = fixture();
    f.complain(serde_json::json!({"id": "c-4"}));
    let error = f.apply("c-4", LifecycleKind::Confirmed).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`confirmed` is not possible now"),
        "{error}"
    );
    assert!(matches!(
        f.apply("nope", LifecycleKind::Responded),
        Err(LifecycleError::NoCase(_))
    ));
    f.apply("c-4", LifecycleKind::Closed).unwrap();
    assert!(f.apply("c-4", LifecycleKind::Responded).is_err());
    let reopened = f.apply("c-4", LifecycleKind::Reopened).unwrap();
    assert_eq!(reopened.status, Status::Open);
    let resolve = reopened
        .timers
        .iter()
        .find(|t| t.kind == TimerKind::Resolve)
        .unwrap();
    assert_eq!(resolve.state, TimerState::Pending);
}

#[test]
fn a_control_line_of_five_flags_the_sixth_not_the_fifth() {
    let f = fixture();
    for n in 1..=6 {
        let (recorded, decision) = f.complain(serde_json::json!({"id": format!("q-{n}"), "category": "product_quality", "product_line": "kettles"}));
        let line = &decision["control_lines"][0];
        assert_eq!(line["count"], n);
        let crossed = line["status"] == "crossed";
        assert_eq!(crossed, n == 6, "complaint {n}: {line}");
        assert_eq!(recorded.control_lines[0].3, n == 6);
        if n == 6 {
            assert_eq!(
                decision["flags"],
                serde_json::json!(["control_line_exceeded"])
            );
            assert_eq!(
                decision["notify"],
                serde_json::json!(["product-department"])
            );
        }
        f.advance("1d");
    }
    // Another product line is another cell.
    let (_, other) = f.complain(serde_json::json!({"id": "q-other", "category": "product_quality", "product_line": "irons"}));
    assert_eq!(other["control_lines"][0]["count"], 1);
    // A month later the window has moved on.
    f.advance("31d");
    let (_, later) = f.complain(serde_json::json!({"id": "q-later", "category": "product_quality", "product_line": "kettles"}));
    assert_eq!(later["control_lines"][0]["count"], 1);
}

#[test]
fn authority_budgets_are_enforced_and_uses_recorded() {
    let f = fixture();
    let use_parking = |case: &str, cost: f64| {
        f.store
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
    };
    for n in 1..=2 {
        let (_, decision) =
            f.complain(serde_json::json!({"id": format!("p-{n}"), "location": "branch-1"}));
        assert_eq!(
            decision["authority"][0]["budget"]["status"], "within",
            "{decision}"
        );
        use_parking(&format!("p-{n}"), 2.0).unwrap();
    }
    let error = use_parking("p-1", 9.0).unwrap_err();
    assert!(error.to_string().contains("up to 5"), "{error}");
    let (_, third) = f.complain(serde_json::json!({"id": "p-3", "location": "branch-1"}));
    assert_eq!(third["authority"], serde_json::json!([]));
    let note = third["trace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["rule"] == "parking")
        .unwrap()["note"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        note.contains("budget for location:branch-1 used up"),
        "{note}"
    );
    // Another branch has its own budget; tomorrow the budget is back.
    let (_, elsewhere) = f.complain(serde_json::json!({"id": "p-4", "location": "branch-2"}));
    assert_eq!(elsewhere["authority"][0]["policy"], "parking-validation");
    f.advance("25h");
    let (_, tomorrow) = f.complain(serde_json::json!({"id": "p-5", "location": "branch-1"}));
    assert_eq!(tomorrow["authority"][0]["budget"]["used_count"], 0);
}

#[test]
fn returning_customers_are_seen_in_history() {
    let f = fixture();
    for n in 1..=3 {
        let (_, decision) =
            f.complain(serde_json::json!({"id": format!("h-{n}"), "customer": {"id": "cust-9"}}));
        let escalated = decision["escalation_level"] == "manager";
        assert_eq!(
            escalated,
            n == 3,
            "complaint {n}: complaints_30d = {}",
            n - 1
        );
        f.advance("1d");
    }
}

#[test]
fn a_retried_event_is_not_decided_twice() {
    let f = fixture();
    let (first, _) = f.complain(
        serde_json::json!({"id": "r-1", "category": "product_quality", "product_line": "tv"}),
    );
    f.advance("1h");
    let (again, _) = f.complain(
        serde_json::json!({"id": "r-1", "category": "product_quality", "product_line": "tv"}),
    );
    assert!(again.replayed);
    assert_eq!(again.seq, first.seq);
    assert_eq!(again.json, first.json);
    let page = f.log_after(0);
    assert_eq!(page.len(), 1);
}

#[test]
fn timers_survive_a_restart_and_overdue_ones_fire_once() {
    let f = fixture();
    f.complain(serde_json::json!({"id": "t-1"}));
    let clock = f.clock.clone();
    let f = f.reopen(|_| clock.advance("5d".parse().unwrap())).unwrap();
    let fired = f.tick();
    let timers: Vec<&str> = fired.iter().map(|t| t.timer.as_str()).collect();
    assert_eq!(timers, ["first_response", "resolve"]);
    assert!(f.tick().is_empty());
}

#[test]
fn the_audit_log_pages_by_cursor_and_the_report_sums_up() {
    let f = fixture();
    for n in 0..5 {
        f.complain(serde_json::json!({"id": format!("a-{n}"), "category": if n % 2 == 0 { "product_quality" } else { "price_billing" }, "product_line": "tv", "customer": {"tier": "ordinary"}}));
    }
    let first = f
        .store
        .decisions(&DecisionQuery {
            limit: 2,
            ..DecisionQuery::default()
        })
        .unwrap();
    assert_eq!(first.decisions.len(), 2);
    let second = f
        .store
        .decisions(&DecisionQuery {
            limit: 2,
            after: first.next.unwrap(),
            ..DecisionQuery::default()
        })
        .unwrap();
    assert_eq!(second.decisions[0].event_id, "a-2");
    f.apply("a-0", LifecycleKind::Resolved).unwrap();
    f.advance("2d");
    f.tick();
    let report = f.store.report(start(), f.clock.now()).unwrap();
    assert_eq!(report.totals.complaints, 5);
    let quality = report
        .rows
        .iter()
        .find(|r| r.category.as_deref() == Some("product_quality"))
        .unwrap();
    assert_eq!(quality.complaints, 3);
    assert_eq!(quality.resolved, 1);
    assert_eq!(quality.follow_ups_scheduled, 1);
    assert_eq!(
        report.totals.sla_breaches, 4,
        "first responses of the four unresolved cases"
    );
    assert!(report.render().contains("product_quality"));
}

#[test]
fn simulating_a_recorded_complaint_leaves_its_own_case_out_of_history() {
    let f = fixture();
    f.complain(serde_json::json!({"id": "s-1", "customer": {"id": "cust-s"}}));
    f.advance("1h");
    f.complain(serde_json::json!({"id": "s-2", "customer": {"id": "cust-s"}}));
    let history = f.history(serde_json::json!({"id": "s-2", "customer": {"id": "cust-s"}}));
    assert_eq!(history.complaints_30d, 1, "{history:?}");
    assert_eq!(history.open_cases, 1, "{history:?}");
}

#[test]
fn a_decision_that_fails_to_record_does_not_undo_the_others_in_its_batch() {
    let f = fixture();
    refuse_inserts(&f.path, "cases", "NEW.id = 'poison'");
    // Queued together, so the writer takes many of them into one batch.
    let pending: Vec<_> = (0..60)
        .map(|i| {
            let id = if i == 30 {
                "poison".to_string()
            } else {
                format!("c-{i}")
            };
            let intake = f.intake(serde_json::json!({
                "id": id, "text": "broken", "customer": {"id": format!("k-{i}")}
            }));
            (id, f.store.decide_and_record(vec![intake]))
        })
        .collect();
    for (id, pending) in pending {
        let result = pending.blocking_recv().unwrap();
        if id == "poison" {
            let error = result.unwrap_err().to_string();
            assert!(error.contains("refused by the test"), "{error}");
        } else {
            let recorded = result.unwrap();
            assert!(!recorded[0].replayed, "{id}");
            assert!(f.store.case(&id).unwrap().is_some(), "{id} has its case");
        }
    }
    assert!(f.store.case("poison").unwrap().is_none());
    let page = f.log_after(0);
    assert_eq!(
        page.len(),
        59,
        "every other decision is in the audit log once"
    );
}

/// The audit log as schema version 4 kept it: each decision in its row,
/// no audit file.
fn back_to_version_4(path: &Path) {
    let audit = super::audit_file::AuditFile::open_for_reading(path, 0).unwrap();
    let connection = database(path);
    let spans: Vec<(i64, i64, i64)> = connection
        .prepare("SELECT seq, payload_at, payload_len FROM decisions")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (seq, at, len) in spans {
        let decision = audit
            .read_decision(super::audit_file::Span { at, len })
            .unwrap()
            .unwrap();
        connection
            .execute(
                "UPDATE decisions SET decision = ?2 WHERE seq = ?1",
                rusqlite::params![seq, decision],
            )
            .unwrap();
    }
    connection
        .execute_batch(
            "ALTER TABLE decisions DROP COLUMN payload_at;
             ALTER TABLE decisions DROP COLUMN payload_len;
             DROP TABLE snapshots;
             DROP TABLE blobs;
             ALTER TABLE cases DROP COLUMN currency;
             DELETE FROM schema_migrations WHERE version >= 5;",
        )
        .unwrap();
    std::fs::remove_file(path.join(super::audit_file::FILE_NAME)).unwrap();
}

/// The cases table as migrations 1 and 2 left it: ids unique in the
/// database, the customer's history in an index; and the index of timers
/// by due time that migration 4 dropped.
const CASES_VERSION_2: &str = "
    ALTER TABLE cases RENAME TO cases_v3;
    CREATE TABLE cases (
        no INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, customer_id TEXT, status TEXT NOT NULL,
        opened_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, category TEXT, product_line TEXT,
        tier TEXT, location TEXT, queue TEXT NOT NULL, handler TEXT, escalation_level TEXT,
        escalation_rank INTEGER NOT NULL DEFAULT -1, goodwill REAL NOT NULL DEFAULT 0,
        resolve_ms INTEGER, follow_up_ms INTEGER, breach_escalate TEXT, breach_rank INTEGER,
        breach_notify TEXT, responded_at INTEGER, resolved_at INTEGER, confirmed_at INTEGER,
        closed_at INTEGER);
    INSERT INTO cases SELECT * FROM cases_v3;
    DROP TABLE cases_v3;
    CREATE INDEX cases_opened ON cases(opened_at);
    CREATE INDEX cases_customer ON cases(customer_id, opened_at, goodwill, status);
    CREATE INDEX timers_due ON timers(state, due_at);
    DELETE FROM schema_migrations WHERE version IN (3, 4);";

#[test]
fn a_version_1_database_is_migrated_and_keeps_its_cases() {
    let f = fixture();
    let (first, _) =
        f.complain(serde_json::json!({"id": "old-1", "text": "broken", "customer": {"id": "k-1"}}));
    // Back to version 1's tables and indexes, as a database written before
    // migrations 2, 3, 4 and 5.
    let f = f
        .reopen(|path| {
            back_to_version_4(path);
            database(path)
                .execute_batch(&format!(
                    "{CASES_VERSION_2}
                     DROP INDEX cases_customer;
                     CREATE INDEX cases_customer ON cases(customer_id, opened_at, goodwill);
                     CREATE INDEX cases_customer_open ON cases(customer_id) WHERE status != 'closed';
                     DELETE FROM schema_migrations WHERE version = 2;"
                ))
                .unwrap();
        })
        .unwrap();
    let connection = database(&f.path);
    let version: i64 = connection
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, 7);
    let indexes = |table: &str| -> Vec<String> {
        connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL")
            .unwrap()
            .query_map([table], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(
        indexes("cases"),
        ["cases_opened"],
        "no index on client-chosen ids"
    );
    assert!(
        indexes("timers").is_empty(),
        "due timers are found in memory"
    );
    let case = f.store.case("old-1").unwrap().expect("the case is kept");
    assert_eq!(case.decisions.len(), 1);
    let history = f.history(
        serde_json::json!({"id": "new-1", "text": "again", "received_at": "2026-11-01T10:00:00Z", "customer": {"id": "k-1"}}),
    );
    assert_eq!(
        history.open_cases, 1,
        "the migrated case counts in the history"
    );
    let (again, _) =
        f.complain(serde_json::json!({"id": "old-1", "text": "broken", "customer": {"id": "k-1"}}));
    assert!(
        again.replayed,
        "a migrated case's event is still recognised"
    );
    assert_eq!(again.seq, first.seq);
    f.advance("5d");
    let timers: Vec<String> = f.tick().into_iter().map(|t| t.timer.to_string()).collect();
    assert_eq!(
        timers,
        ["first_response", "resolve"],
        "the migrated case's timers are queued"
    );
}

#[test]
fn a_time_range_of_the_log_pages_the_same_whichever_way_it_is_read() {
    let f = fixture();
    // Decision times out of the order of arrival, as clients' `received_at`
    // can make them.
    let at = |hour: i64| Timestamp(start().millis() + hour * 3_600_000);
    let hours = [5, 1, 6, 2, 7, 3, 8, 4, 9, 0, 10, 5];
    for (i, hour) in hours.iter().enumerate() {
        f.clock.set(at(*hour));
        f.complain(serde_json::json!({"id": format!("when-{i}")}));
    }
    let connection = database(&f.path);
    let audit = super::audit_file::AuditFile::open_for_reading(&f.path, 0).unwrap();
    let everything = super::queries::read_log_page(
        &connection,
        &audit,
        &DecisionQuery {
            limit: 1000,
            ..DecisionQuery::default()
        },
        1000,
        i64::MAX,
    )
    .unwrap();
    assert_eq!(everything.len(), hours.len());
    for (since, until) in [
        (Some(at(4)), None),
        (None, Some(at(3))),
        (Some(at(2)), Some(at(7))),
        (Some(at(11)), None),
    ] {
        let expected: Vec<i64> = everything
            .iter()
            .filter(|d| since.is_none_or(|s| d.decided_at >= s))
            .filter(|d| until.is_none_or(|u| d.decided_at < u))
            .map(|d| d.seq)
            .collect();
        // Windows from one position (mostly by the time index) to all of
        // them (by sequence only); pages from one decision to all.
        for window in [1, 2, 3, 5, 100] {
            for limit in [1, 2, 3, 100] {
                let mut seen = Vec::new();
                let mut after = 0;
                loop {
                    let query = DecisionQuery {
                        after,
                        limit,
                        since,
                        until,
                        ..DecisionQuery::default()
                    };
                    let page =
                        super::queries::read_log_page(&connection, &audit, &query, limit, window)
                            .unwrap();
                    seen.extend(page.iter().map(|d| d.seq));
                    match page.last() {
                        Some(last) if page.len() == limit => after = last.seq,
                        _ => break,
                    }
                }
                assert_eq!(
                    seen, expected,
                    "since {since:?}, until {until:?}, window {window}, limit {limit}"
                );
            }
        }
    }
}

#[test]
fn a_timer_run_that_fails_leaves_its_timers_to_the_next_run() {
    let f = fixture();
    f.complain(serde_json::json!({"id": "late-1"}));
    refuse_inserts(&f.path, "decisions", "NEW.kind = 'sla_breach'");
    f.advance("5d");
    let error = f
        .store
        .fire_due_timers(f.clock.now())
        .blocking_recv()
        .unwrap()
        .unwrap_err();
    assert!(error.to_string().contains("refused by the test"), "{error}");
    allow_inserts(&f.path, "decisions");
    let timers: Vec<String> = f.tick().into_iter().map(|t| t.timer.to_string()).collect();
    assert_eq!(timers, ["first_response", "resolve"], "none was lost");
    assert!(f.tick().is_empty(), "and each fired once");
}

#[test]
fn many_due_timers_fire_a_thousand_a_run_and_none_is_lost() {
    let f = fixture();
    let pending: Vec<_> = (0..600)
        .map(|i| {
            let intake = f.intake(serde_json::json!({"id": format!("many-{i}")}));
            f.store.decide_and_record(vec![intake])
        })
        .collect();
    for pending in pending {
        pending.blocking_recv().unwrap().unwrap();
    }
    f.advance("5d");
    let runs: Vec<usize> = (0..3).map(|_| f.tick().len()).collect();
    assert_eq!(runs, [1000, 200, 0], "two timers for each of 600 cases");
}

#[test]
fn a_reopened_case_breaches_its_new_resolve_time_not_the_old_one() {
    let f = fixture();
    f.complain(serde_json::json!({"id": "again-1"}));
    f.apply("again-1", LifecycleKind::Responded).unwrap();
    f.apply("again-1", LifecycleKind::Resolved).unwrap();
    f.advance("1d");
    f.apply("again-1", LifecycleKind::Reopened).unwrap();
    // The first resolve time has passed, the new one (a full SLA from the
    // reopening) has not.
    f.advance("2d");
    let fired: Vec<String> = f.tick().into_iter().map(|t| t.timer.to_string()).collect();
    assert!(!fired.contains(&"resolve".to_string()), "{fired:?}");
    f.advance("5d");
    let fired: Vec<String> = f.tick().into_iter().map(|t| t.timer.to_string()).collect();
    assert!(fired.contains(&"resolve".to_string()), "{fired:?}");
    assert!(f.tick().is_empty());
}

#[test]
fn cases_and_histories_are_found_after_a_restart() {
    let f = fixture();
    for i in 0..3 {
        f.complain(serde_json::json!({"id": format!("h-{i}"), "customer": {"id": "cust-h"}}));
        f.advance("1h");
    }
    f.apply("h-0", LifecycleKind::Closed).unwrap();
    let history_now =
        |f: &Fixture| f.history(serde_json::json!({"id": "h-next", "customer": {"id": "cust-h"}}));
    let before = history_now(&f);
    assert_eq!((before.open_cases, before.complaints_30d), (2, 3));
    let f = f.reopen(|_| {}).unwrap();
    assert_eq!(
        history_now(&f),
        before,
        "the history is rebuilt from the cases"
    );
    assert_eq!(f.store.case("h-2").unwrap().unwrap().id, "h-2");
    let (again, _) = f.complain(serde_json::json!({"id": "h-1", "customer": {"id": "cust-h"}}));
    assert!(again.replayed);
}

#[test]
fn a_case_whose_decision_failed_to_record_is_not_remembered() {
    let f = fixture();
    // The case row is written, then the audit row is refused: the
    // transaction's changes to the case index must go with it.
    refuse_inserts(&f.path, "decisions", "NEW.event_id = 'lost'");
    let pending: Vec<_> = ["kept-1", "lost", "kept-2"]
        .iter()
        .map(|id| {
            let intake = f.intake(serde_json::json!({"id": id, "customer": {"id": "cust-l"}}));
            (*id, f.store.decide_and_record(vec![intake]))
        })
        .collect();
    for (id, pending) in pending {
        let result = pending.blocking_recv().unwrap();
        assert_eq!(result.is_ok(), id != "lost", "{id}: {result:?}");
    }
    assert!(f.store.case("lost").unwrap().is_none());
    let history = f.history(serde_json::json!({"id": "x", "customer": {"id": "cust-l"}}));
    assert_eq!(history.open_cases, 2, "only the recorded cases count");
    allow_inserts(&f.path, "decisions");
    let (retried, _) = f.complain(serde_json::json!({"id": "lost", "customer": {"id": "cust-l"}}));
    assert!(!retried.replayed, "decided now, as it never was before");
}

#[test]
fn a_database_from_a_newer_redress_is_refused() {
    let error = fixture()
        .reopen(|path| {
            database(path)
                .execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)",
                    [],
                )
                .unwrap();
        })
        .err()
        .expect("a newer schema is refused");
    assert!(
        matches!(error, StoreError::NewerSchema { found: 99, .. }),
        "{error}"
    );
}

#[test]
fn a_version_4_log_reads_on_with_its_decisions_in_the_database() {
    let f = fixture();
    let (old, old_decision) = f.complain(serde_json::json!({"id": "v4-1"}));
    let f = f.reopen(back_to_version_4).unwrap();
    let (new, new_decision) = f.complain(serde_json::json!({"id": "v5-1"}));
    assert_eq!(new.seq, old.seq + 1);
    let page = f.log_after(0);
    let decisions: Vec<_> = page.iter().map(|d| &d.decision).collect();
    assert_eq!(decisions, [&old_decision, &new_decision]);
    let (again, _) = f.complain(serde_json::json!({"id": "v4-1"}));
    assert!(again.replayed);
    assert_eq!(again.json, old.json, "answered from the database's row");
    let archive = Archive::open(&f.path).unwrap();
    let case = archive.case("v5-1").unwrap().unwrap();
    assert_eq!(case.decisions[0].decision, new_decision);
}

#[test]
fn every_decision_is_a_line_of_the_audit_file_and_read_back_from_it() {
    let f = fixture();
    // The same event twice in one batch: the second is answered from the
    // first's line before the batch is written.
    let batch = vec![
        f.intake(serde_json::json!({"id": "line-1", "text": "first"})),
        f.intake(serde_json::json!({"id": "line-1", "text": "first"})),
    ];
    let recorded = f
        .store
        .decide_and_record(batch)
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert!(recorded[1].replayed);
    assert_eq!(recorded[1].json, recorded[0].json);
    f.advance("25h");
    assert_eq!(f.tick().len(), 1, "the first response is late");
    let text = std::fs::read_to_string(f.path.join(super::audit_file::FILE_NAME)).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["kind"], "complaint");
    assert_eq!(lines[0]["event"]["id"], "line-1");
    assert_eq!(
        lines[0]["decision"],
        serde_json::from_str::<serde_json::Value>(&recorded[0].json).unwrap()
    );
    assert_eq!(lines[1]["kind"], "sla_breach");
    assert_eq!(lines[1]["decision"]["timer"], "first_response");
    let case = f.store.case("line-1").unwrap().unwrap();
    let read: Vec<_> = case.decisions.iter().map(|d| d.decision.clone()).collect();
    assert_eq!(
        read,
        [lines[0]["decision"].clone(), lines[1]["decision"].clone()]
    );
}

#[test]
fn lines_of_a_batch_that_did_not_commit_are_not_in_the_log() {
    let f = fixture();
    let (kept, _) = f.complain(serde_json::json!({"id": "kept"}));
    let file = f.path.join(super::audit_file::FILE_NAME);
    let length = || std::fs::metadata(&file).unwrap().len();
    let before = length();
    refuse_inserts(&f.path, "decisions", "NEW.event_id = 'refused'");
    let refused = f
        .store
        .decide_and_record(vec![f.intake(serde_json::json!({"id": "refused"}))])
        .blocking_recv()
        .unwrap();
    assert!(refused.is_err());
    allow_inserts(&f.path, "decisions");
    assert_eq!(length(), before, "a refused decision writes no line");
    // A timer run refused after its breach decision's line was appended.
    f.advance("25h");
    refuse_inserts(&f.path, "case_events", "1");
    let failed = f
        .store
        .fire_due_timers(f.clock.now())
        .blocking_recv()
        .unwrap();
    assert!(failed.is_err());
    allow_inserts(&f.path, "case_events");
    assert_eq!(length(), before, "a refused timer run writes no line");
    assert_eq!(f.tick().len(), 1);
    let before = length();
    // A crash after the lines were written, before the commit: the next
    // start cuts them off.
    let f = f
        .reopen(|path| {
            use std::io::Write as _;
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(path.join(super::audit_file::FILE_NAME))
                .unwrap();
            file.write_all(b"{\"kind\":\"complaint\",\"decision\":{\"half\":")
                .unwrap();
        })
        .unwrap();
    assert_eq!(length(), before, "cut off at the next start");
    let (next, decision) = f.complain(serde_json::json!({"id": "after-crash"}));
    let page = f.log_after(kept.seq);
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].kind, DecisionKind::SlaBreach);
    assert_eq!(page[1].seq, next.seq);
    assert_eq!(page[1].decision, decision);
}

#[test]
fn an_audit_file_shorter_than_the_log_is_refused_then_repaired_and_reads_null_for_what_it_lost() {
    let f = fixture();
    let (_, first_decision) = f.complain(serde_json::json!({"id": "kept-1"}));
    let (lost, _) = f.complain(serde_json::json!({"id": "lost-1"}));
    let clock = f.clock.clone();
    let f = f
        .reopen(|path| {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path.join(super::audit_file::FILE_NAME))
                .unwrap();
            let length = file.metadata().unwrap().len();
            file.set_len(length - 10).unwrap();
            // With durability = "full" every committed line was synced: a
            // short file was damaged, and the store refuses it.
            let refused =
                SqliteStore::open(path, StoreOptions::default(), clock.clone()).unwrap_err();
            assert!(
                matches!(refused, StoreError::AuditFileShort { .. }),
                "{refused}"
            );
            assert!(
                refused.to_string().contains("redress store repair"),
                "{refused}"
            );
            let report = super::repair_data_dir(path).unwrap();
            assert_eq!((report.entries, report.intact), (2, 1));
            assert_eq!(report.lost[0].event_id, "lost-1");
            let text = std::fs::read_to_string(path.join(super::audit_file::FILE_NAME)).unwrap();
            for line in text.lines() {
                serde_json::from_str::<serde_json::Value>(line).unwrap();
            }
        })
        .unwrap();
    let page = f.log_after(0);
    assert_eq!(page[0].decision, first_decision);
    assert_eq!(page[1].seq, lost.seq);
    assert_eq!(page[1].decision, serde_json::Value::Null);
    let error = f
        .store
        .decide_and_record(vec![f.intake(serde_json::json!({"id": "lost-1"}))])
        .blocking_recv()
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, StoreError::DecisionLost { .. }), "{error}");
}
