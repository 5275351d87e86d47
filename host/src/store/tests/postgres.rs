//! What only the PostgreSQL backend has: its schema versions, and errors
//! that say what the server said.

use super::*;

fn server(test: &str) -> Option<&'static postgres_server::PostgresServer> {
    postgres_server::server(test)
}

#[test]
fn a_database_of_a_newer_schema_is_refused_naming_both_versions() {
    let Some(server) = server("postgres::a_database_of_a_newer_schema_is_refused") else {
        return;
    };
    let url = server.fresh_database();
    let clock = Arc::new(ManualClock::new(start()));
    drop(PostgresStore::open(PostgresOptions::new(url.clone()), clock.clone()).unwrap());
    server.psql(
        &url,
        "INSERT INTO redress_schema_migrations (version) VALUES (99)",
    );
    let error = PostgresStore::open(PostgresOptions::new(url.clone()), clock).unwrap_err();
    assert!(
        matches!(error, StoreError::NewerSchema { found: 99, .. }),
        "{error}"
    );
    let error = PostgresReader::connect(&PostgresOptions::new(url))
        .err()
        .unwrap();
    assert!(error.to_string().contains("schema version 99"), "{error}");
}

#[test]
fn a_database_error_says_what_the_server_said() {
    let Some(server) = server("postgres::a_database_error_says_what_the_server_said") else {
        return;
    };
    let url = server.fresh_database();
    let clock = Arc::new(ManualClock::new(start()));
    drop(PostgresStore::open(PostgresOptions::new(url.clone()), clock).unwrap());
    let reader = PostgresReader::connect(&PostgresOptions::new(url.clone())).unwrap();
    server.psql(&url, "DROP TABLE cases CASCADE");
    let error = reader.case("c-1").unwrap_err().to_string();
    assert!(
        error.contains("relation \"cases\" does not exist"),
        "{error}"
    );
}

#[test]
fn an_unreachable_server_is_named_without_its_password() {
    let error = PostgresReader::connect(&PostgresOptions::new(
        "postgres://redress:hunter2@127.0.0.1:1/redress",
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(
        error.contains("postgres://redress@127.0.0.1:1/redress") && error.contains("refused"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn a_version_1_database_gets_its_report_figures_from_its_timers_and_history() {
    let Some(server) = server("postgres::a_version_1_database_gets_its_report_figures") else {
        return;
    };
    let f = fixture_on(Box::leak(Box::new(Postgres(server))));
    f.case_with_each_report_figure();
    let f = f
        .reopen(|path| {
            server.psql(
                &Postgres(server).url_of(path),
                "DROP INDEX cases_report;
                 ALTER TABLE cases DROP COLUMN sla_breaches, DROP COLUMN follow_up_scheduled,
                                   DROP COLUMN follow_ups_done;
                 CREATE INDEX cases_opened ON cases (opened_at);
                 DROP INDEX control_tallies_age;
                 DROP INDEX authority_uses_age;
                 DELETE FROM redress_schema_migrations WHERE version >= 2;",
            );
        })
        .unwrap();
    assert_eq!(f.report_figures(), (1, 1, 1));
}

/// Retention on PostgreSQL prunes what no rule reads any more and keeps the
/// rest; the audit log stays whole.
#[test]
fn pruning_keeps_what_rules_read_and_the_whole_log() {
    let Some(server) = server("postgres::pruning_keeps_what_rules_read") else {
        return;
    };
    let f = fixture_on(Box::leak(Box::new(Postgres(server))));
    let url = Postgres(server).url_of(&f.path);
    let count = |sql: &'static str| -> i64 {
        crate::store::postgres::client::PgConnection::connect(&url, None)
            .unwrap()
            .query_one(sql, &[])
            .unwrap()
            .get(0)
    };
    f.complain(serde_json::json!({"id": "closed-1", "category": "product_quality", "location": "branch-1"}));
    f.use_parking("closed-1", 2.0).unwrap();
    for kind in [
        LifecycleKind::Responded,
        LifecycleKind::Resolved,
        LifecycleKind::FollowedUp,
        LifecycleKind::Confirmed,
        LifecycleKind::Closed,
    ] {
        f.apply("closed-1", kind).unwrap();
    }
    f.complain(serde_json::json!({"id": "open-1", "category": "product_quality"}));
    f.advance("400d");
    f.complain(serde_json::json!({"id": "fresh-1", "category": "product_quality"}));
    let tallies_before = count("SELECT COUNT(*) FROM control_tallies");
    let log_before = count("SELECT COUNT(*) FROM decisions");

    let options = RetentionOptions {
        closed_cases: "60d".parse().unwrap(),
        tallies: "7d".parse().unwrap(),
        authority_uses: "1d".parse().unwrap(),
        step_rows: 2,
        ..RetentionOptions::default()
    };
    let mut total = PruneReport::default();
    loop {
        let cutoffs = Cutoffs::at(f.clock.now(), &options, RuleWindows::of(&f.rules));
        let step = f.store.prune(&cutoffs).unwrap();
        total.add(&step);
        if !step.more {
            break;
        }
    }
    assert_eq!(total.cases, 1, "{total:?}");
    assert_eq!(total.authority_uses, 1, "{total:?}");
    assert!(f.store.case("closed-1").unwrap().is_none());
    assert!(
        f.store.case("open-1").unwrap().is_some(),
        "an open case stays"
    );
    assert!(f.store.case("fresh-1").unwrap().is_some());
    // The old complaints' counts went (a step of two rows at a time), the
    // fresh one's are kept: its control line still counts it.
    assert_eq!(
        total.tallies as i64 + count("SELECT COUNT(*) FROM control_tallies"),
        tallies_before
    );
    assert_eq!(
        total.tallies, 3,
        "the minute, hour and day the two old complaints share"
    );
    assert_eq!(count("SELECT COUNT(*) FROM decisions"), log_before);
    assert_eq!(
        count("SELECT COUNT(*) FROM case_events WHERE case_id = 'closed-1'"),
        0
    );
    let again = f
        .store
        .prune(&Cutoffs::at(
            f.clock.now(),
            &options,
            RuleWindows::of(&f.rules),
        ))
        .unwrap();
    assert!(!again.pruned_anything(), "{again:?}");
}

/// Positions come from a sequence, in the order transactions ask for
/// them; a reader paging with `after` must not move past a position a
/// transaction still open will commit.
#[test]
fn a_page_of_the_log_waits_for_a_position_still_being_written() {
    let Some(server) = server("postgres::a_page_of_the_log_waits_for_a_position") else {
        return;
    };
    let f = fixture_on(Box::leak(Box::new(Postgres(server))));
    let url = Postgres(server).url_of(&f.path);
    f.complain(serde_json::json!({"id": "first"}));
    let writer = open_log_writer(&url);
    // A later position, committed first.
    f.complain(serde_json::json!({"id": "second"}));
    let store = &*f.store;
    let (waited, page) = while_open(&url, writer, || {
        store
            .decisions(&DecisionQuery {
                after: 1,
                limit: 1000,
                ..DecisionQuery::default()
            })
            .unwrap()
            .decisions
    });
    assert!(waited, "the reader did not wait for the open writer");
    let ids: Vec<&str> = page.iter().map(|entry| entry.event_id.as_str()).collect();
    assert_eq!(ids, ["late", "second"], "a page skipped a late commit");
}

/// A case's page and its lifecycle events are not cursors: they do not
/// wait for another node's writer (a lifecycle event waiting in its batch
/// would hold that batch's locks meanwhile).
#[test]
fn a_case_is_read_and_moved_while_another_node_writes() {
    let Some(server) = server("postgres::a_case_is_read_and_moved_while_another_node_writes")
    else {
        return;
    };
    let f = fixture_on(Box::leak(Box::new(Postgres(server))));
    let url = Postgres(server).url_of(&f.path);
    f.complain(serde_json::json!({"id": "first"}));
    let writer = open_log_writer(&url);
    let (waited, case) = while_open(&url, writer, || {
        f.store.case("first").unwrap().unwrap();
        f.store
            .apply(
                "first".to_string(),
                LifecycleEvent {
                    kind: LifecycleKind::Responded,
                    at: None,
                    by: None,
                    note: None,
                    policy: None,
                    cost: None,
                },
            )
            .blocking_recv()
            .unwrap()
            .unwrap()
    });
    assert!(
        !waited,
        "a case read or lifecycle event waited for the writer"
    );
    assert_eq!(case.status, Status::Responded);
}

/// A writer on another node, handed the next position of the log and not
/// yet committed.
fn open_log_writer(url: &str) -> crate::store::postgres::client::PgConnection {
    let writer = crate::store::postgres::client::PgConnection::connect(url, None).unwrap();
    writer.batch("BEGIN").unwrap();
    writer
        .query_one(
            "SELECT pg_advisory_xact_lock_shared($1)::TEXT",
            &[&crate::store::postgres::locks::LOG_ORDER],
        )
        .unwrap();
    writer
        .query_one(
            "INSERT INTO decisions (event_id, case_id, kind, decided_at, ruleset_version, plugin_digests, decision)
             VALUES ('late', 'late', 'sla_breach', 0, 'v', '{}', '{}') RETURNING seq",
            &[],
        )
        .unwrap();
    writer
}

/// Runs `work` while `writer` is open; commits the writer once `work` is
/// seen waiting for an advisory lock in `pg_locks` (no clock involved) or
/// has finished. Whether it waited, and what it gave.
fn while_open<T: Send>(
    url: &str,
    writer: crate::store::postgres::client::PgConnection,
    work: impl FnOnce() -> T + Send,
) -> (bool, T) {
    let watcher = crate::store::postgres::client::PgConnection::connect(url, None).unwrap();
    std::thread::scope(|scope| {
        let working = scope.spawn(work);
        let mut waiting = false;
        for _ in 0..3000 {
            let row = watcher
                .query_one_unprepared(
                    "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                )
                .unwrap();
            if row.get::<_, i64>(0) > 0 {
                waiting = true;
                break;
            }
            if working.is_finished() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        writer.batch("COMMIT").unwrap();
        (waiting, working.join().unwrap())
    })
}

/// Everything a reader shows of `reader`, as JSON: the whole log, every
/// case of it, the report, and each complaint's line as replay reads it.
fn everything(
    reader: &dyn StoreReader,
    audit: &dyn AuditReader,
    to: Timestamp,
) -> serde_json::Value {
    let log = reader
        .decisions(&DecisionQuery {
            limit: 1000,
            ..DecisionQuery::default()
        })
        .unwrap()
        .decisions;
    let mut case_ids: Vec<&str> = log.iter().map(|entry| entry.case_id.as_str()).collect();
    case_ids.dedup();
    let cases: Vec<CaseView> = case_ids
        .iter()
        .map(|id| reader.case(id).unwrap().unwrap())
        .collect();
    let mut lines = Vec::new();
    audit
        .complaints(&LogQuery::default(), &mut |entry| {
            lines.push((entry.seq, String::from_utf8(entry.line.unwrap()).unwrap()));
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    serde_json::json!({
        "log": log,
        "cases": cases,
        "report": reader.report(start(), to).unwrap(),
        "lines": lines,
    })
}

#[test]
fn a_data_directory_copied_to_postgres_reads_and_decides_the_same() {
    let Some(server) = server("postgres::a_data_directory_copied_to_postgres") else {
        return;
    };
    let f = fixture();
    // A history with every kind of state: counted cells, a budget half
    // used, lifecycle events, a fired breach and pending timers.
    for n in 1..=5 {
        f.complain(serde_json::json!({"id": format!("q-{n}"), "category": "product_quality", "product_line": "kettles", "customer": {"id": "cust-1"}, "location": "branch-1"}));
        f.advance("1h");
    }
    f.use_parking("q-1", 2.0).unwrap();
    f.apply("q-2", LifecycleKind::Responded).unwrap();
    f.apply("q-2", LifecycleKind::Resolved).unwrap();
    f.advance("20h");
    assert_eq!(f.tick().len(), 1, "q-1's first response is missed");
    let snapshot = SnapshotRecord {
        version: "v-copied".into(),
        ruleset_version: f.rules.version.clone(),
        files: vec![RuleFileText {
            path: "rules.toml".into(),
            text: RULES.to_string(),
        }],
        plugins: Vec::new(),
    };
    f.store.record_snapshot(&snapshot).unwrap();

    let url = server.fresh_database();
    let error = copy_to_postgres(&f.path, &url, &mut |_| {}).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("in use by another Redress process"),
        "a running store's directory is not copied: {error}"
    );
    let Fixture {
        _dir,
        path,
        store,
        clock,
        rules,
        ..
    } = f;
    drop(store);
    let mut heard = Vec::new();
    let report = copy_to_postgres(&path, &url, &mut |table| heard.push(table.table)).unwrap();
    assert_eq!(heard.len(), 9, "{heard:?}");
    let count = |table: &str| {
        report
            .tables
            .iter()
            .find(|count| count.table == table)
            .map(|count| (count.source, count.copied))
            .unwrap()
    };
    assert_eq!(count("decisions"), (6, 6));
    assert_eq!(count("cases"), (5, 5));
    assert_eq!(count("authority_uses"), (1, 1));
    assert_eq!(count("snapshots"), (1, 1));
    assert_eq!(report.last_seq, 6);
    assert_eq!(report.lost_lines, 0);

    let sqlite = Archive::open(&path).unwrap();
    let postgres = PostgresReader::connect(&PostgresOptions::new(url.clone())).unwrap();
    assert_eq!(
        everything(&postgres, &postgres, clock.now()),
        everything(&sqlite, &sqlite, clock.now()),
        "PostgreSQL reads what the data directory held"
    );
    assert_eq!(
        postgres.snapshot("v-copied").unwrap().unwrap().files[0].text,
        RULES
    );

    // A daemon on the copy goes on where the data directory left off.
    let store = PostgresStore::open(PostgresOptions::new(url.clone()), clock.clone()).unwrap();
    let f = Fixture {
        _dir,
        path,
        backend: &Sqlite,
        store: Box::new(store),
        clock,
        rules,
    };
    let (again, _) = f.complain(serde_json::json!({"id": "q-3", "category": "product_quality", "product_line": "kettles", "customer": {"id": "cust-1"}, "location": "branch-1"}));
    assert!(again.replayed(), "a retry answers the copied decision");
    assert_eq!(again.seq, 3);
    let (sixth, decision) = f.complain(serde_json::json!({"id": "q-6", "category": "product_quality", "product_line": "kettles", "customer": {"id": "cust-1"}, "location": "branch-1"}));
    assert_eq!(sixth.seq, 7, "the log continues after the copied entries");
    assert_eq!(decision["control_lines"][0]["count"], 6, "{decision}");
    assert_eq!(decision["control_lines"][0]["status"], "crossed");
    assert_eq!(
        decision["escalation_level"], "manager",
        "the customer's copied cases count in their history"
    );
    assert_eq!(
        decision["authority"][0]["budget"]["used_count"], 1,
        "the copied use counts against the budget: {decision}"
    );
    f.advance("3d");
    let fired: Vec<(String, TimerKind)> = f
        .tick()
        .into_iter()
        .map(|fired| (fired.case_id, fired.timer))
        .collect();
    assert!(
        fired.contains(&("q-2".to_string(), TimerKind::FollowUp)),
        "a copied pending timer fires: {fired:?}"
    );
    assert!(
        !fired.contains(&("q-1".to_string(), TimerKind::FirstResponse)),
        "a copied fired timer does not fire again: {fired:?}"
    );

    let error = copy_to_postgres(&f.path, &url, &mut |_| {}).unwrap_err();
    assert!(
        matches!(error, CopyError::NotEmpty { .. })
            && error.to_string().contains("rows in decisions"),
        "{error}"
    );
}

#[test]
fn an_entry_lost_before_the_copy_stays_lost_and_is_not_decided_again() {
    let Some(server) = server("postgres::an_entry_lost_before_the_copy_stays_lost") else {
        return;
    };
    let f = fixture();
    f.complain(serde_json::json!({"id": "kept-1"}));
    f.complain(serde_json::json!({"id": "lost-1"}));
    let url = server.fresh_database();
    let f = f
        .reopen(|path| {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path.join(crate::store::sqlite::audit_file::FILE_NAME))
                .unwrap();
            let length = file.metadata().unwrap().len();
            file.set_len(length - 10).unwrap();
            let error = copy_to_postgres(path, &url, &mut |_| {}).unwrap_err();
            assert!(
                error.to_string().contains("redress store repair"),
                "a damaged audit file is not copied: {error}"
            );
            super::repair_data_dir(path).unwrap();
            let report = copy_to_postgres(path, &url, &mut |_| {}).unwrap();
            assert_eq!(report.lost_lines, 1);
        })
        .unwrap();
    let mut f = f;
    f.store = Box::new(PostgresStore::open(PostgresOptions::new(url), f.clock.clone()).unwrap());
    let log = f.log_after(0);
    assert_eq!(log[0].decision["route"]["queue"], "care");
    assert_eq!(log[1].decision, serde_json::Value::Null);
    let error = f
        .store
        .decide_and_record(vec![f.intake(serde_json::json!({"id": "lost-1"}))])
        .blocking_recv()
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, StoreError::DecisionLost { .. }), "{error}");
}
