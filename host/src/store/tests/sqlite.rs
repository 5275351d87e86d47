//! What only the embedded backend has: its audit file beside the
//! database, its schema migrations, and failures injected with SQLite
//! triggers.

use super::*;

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
            assert!(!recorded[0].replayed(), "{id}");
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

/// Schema version 10 undone: no report figures on the cases.
const UNDO_VERSION_10: &str = "
    DROP INDEX cases_report;
    ALTER TABLE cases DROP COLUMN sla_breaches;
    ALTER TABLE cases DROP COLUMN follow_up_scheduled;
    ALTER TABLE cases DROP COLUMN follow_ups_done;
    CREATE INDEX cases_opened ON cases(opened_at);";

/// The audit log as schema version 4 kept it: each decision in its row,
/// no audit file, no report figures on the cases.
fn back_to_version_4(path: &Path) {
    let audit =
        crate::store::sqlite::audit_file::AuditFile::open_for_reading(path, 0, &[0]).unwrap();
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
            .read_decision(crate::store::sqlite::audit_file::Span { at, len })
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
        .execute_batch(&format!(
            "{UNDO_VERSION_10}
             ALTER TABLE decisions DROP COLUMN payload_at;
             ALTER TABLE decisions DROP COLUMN payload_len;
             DROP TABLE snapshots;
             DROP TABLE blobs;
             ALTER TABLE cases DROP COLUMN currency;
             ALTER TABLE decisions DROP COLUMN event_digest;
             DROP TABLE audit_segments;
             DELETE FROM schema_migrations WHERE version >= 5;"
        ))
        .unwrap();
    std::fs::remove_file(path.join(crate::store::sqlite::audit_file::FILE_NAME)).unwrap();
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
fn a_version_9_database_gets_its_report_figures_from_its_timers_and_history() {
    let f = fixture();
    f.case_with_each_report_figure();
    let f = f
        .reopen(|path| {
            database(path)
                .execute_batch(&format!(
                    "{UNDO_VERSION_10}
                     DELETE FROM schema_migrations WHERE version = 10;"
                ))
                .unwrap();
        })
        .unwrap();
    assert_eq!(f.report_figures(), (1, 1, 1));
}

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
    assert_eq!(version, 10);
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
        ["cases_report"],
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
        again.replayed(),
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
    let audit =
        crate::store::sqlite::audit_file::AuditFile::open_for_reading(&f.path, 0, &[0]).unwrap();
    let everything = crate::store::sqlite::queries::read_log_page(
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
                    let page = crate::store::sqlite::queries::read_log_page(
                        &connection,
                        &audit,
                        &query,
                        limit,
                        window,
                    )
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
    assert!(!retried.replayed(), "decided now, as it never was before");
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
    assert!(again.replayed());
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
    assert!(recorded[1].replayed());
    assert_eq!(recorded[1].json, recorded[0].json);
    f.advance("25h");
    assert_eq!(f.tick().len(), 1, "the first response is late");
    let text =
        std::fs::read_to_string(f.path.join(crate::store::sqlite::audit_file::FILE_NAME)).unwrap();
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
    let file = f.path.join(crate::store::sqlite::audit_file::FILE_NAME);
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
                .open(path.join(crate::store::sqlite::audit_file::FILE_NAME))
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
                .open(path.join(crate::store::sqlite::audit_file::FILE_NAME))
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
            let text =
                std::fs::read_to_string(path.join(crate::store::sqlite::audit_file::FILE_NAME))
                    .unwrap();
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
