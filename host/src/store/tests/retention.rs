//! Retention on the embedded store: a simulated year and more, decided
//! through the store with the clock moved a day at a time, pruned as the
//! daemon's background task prunes, then checked against what the rules
//! still read and what the archive still holds.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use super::*;
use crate::store::sqlite::audit_archive::archive_dir;

/// Segments of `BYTES` and no syncing: a year of segments in seconds.
struct Segments<const BYTES: u64>;

impl<const BYTES: u64> Backend for Segments<BYTES> {
    fn name(&self) -> &'static str {
        "sqlite, small segments"
    }

    fn open(&self, directory: &Path, clock: Arc<dyn Clock>) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(SqliteStore::open(
            directory,
            StoreOptions {
                durability: Durability::Normal,
                segment_bytes: BYTES,
                ..StoreOptions::default()
            },
            clock,
        )?))
    }
}

const DAY: i64 = 86_400_000;
const DAYS: i64 = 400;
const PER_DAY: usize = 24;

fn options() -> RetentionOptions {
    RetentionOptions {
        decisions: "30d".parse().unwrap(),
        closed_cases: "60d".parse().unwrap(),
        tallies: "7d".parse().unwrap(),
        authority_uses: "1d".parse().unwrap(),
        step_rows: 100,
        ..RetentionOptions::default()
    }
}

/// Prunes until nothing is left, as the background task does.
fn prune(f: &Fixture) -> PruneReport {
    let mut total = PruneReport::default();
    loop {
        let cutoffs = Cutoffs::at(f.clock.now(), &options(), RuleWindows::of(&f.rules));
        let step = f.store.prune(&cutoffs).unwrap();
        total.add(&step);
        if !step.more {
            return total;
        }
    }
}

fn event(day: i64, n: usize) -> serde_json::Value {
    serde_json::json!({
        "id": format!("d{day}-{n}"),
        "text": "complaint",
        "category": if n.is_multiple_of(4) { "product_quality" } else { "service" },
        "product_line": format!("p{}", n % 3),
        "location": format!("branch-{}", n % 2),
        "customer": {"id": format!("k{}", n % 6)},
    })
}

fn lifecycle(kind: LifecycleKind) -> LifecycleEvent {
    LifecycleEvent {
        kind,
        at: None,
        by: Some("ana".into()),
        note: None,
        policy: (kind == LifecycleKind::AuthorityUsed).then(|| "parking-validation".into()),
        cost: (kind == LifecycleKind::AuthorityUsed).then_some(1.0),
    }
}

fn segment_files(f: &Fixture) -> Vec<(u64, PathBuf)> {
    crate::store::sqlite::audit_segments::segment_files_in(&f.path)
}

fn count(f: &Fixture, sql: &str) -> i64 {
    rusqlite::Connection::open(crate::store::database_path(&f.path))
        .unwrap()
        .query_row(sql, [], |row| row.get(0))
        .unwrap()
}

/// Decides `per_day` complaints a day for `days` days on `backend`,
/// closing every case two days after it opened but one every ten days,
/// using authority once a day, firing timers and pruning every day; the
/// store, the cases kept open and what was pruned.
fn simulate(
    backend: &'static dyn Backend,
    per_day: usize,
    days: i64,
) -> (Fixture, Vec<String>, PruneReport) {
    let f = fixture_on(backend);
    f.store
        .record_snapshot(&SnapshotRecord {
            version: f.rules.version.clone(),
            ruleset_version: f.rules.version.clone(),
            files: vec![RuleFileText {
                path: "rules.toml".into(),
                text: RULES.to_string(),
            }],
            plugins: Vec::new(),
        })
        .unwrap();
    let mut kept_open = Vec::new();
    let mut pruned = PruneReport::default();
    for day in 0..days {
        f.clock.set(Timestamp(start().millis() + day * DAY));
        let intakes = (0..per_day).map(|n| f.intake(event(day, n))).collect();
        let recorded = f
            .store
            .decide_and_record(intakes)
            .blocking_recv()
            .unwrap()
            .unwrap();
        assert!(recorded.iter().all(|r| !r.replayed()));
        if day % 10 == 0 {
            kept_open.push(format!("d{day}-0"));
        }
        // One use of authority a day; the cases of two days ago close.
        let mut pending = vec![
            f.store
                .apply(format!("d{day}-1"), lifecycle(LifecycleKind::AuthorityUsed)),
        ];
        if day >= 2 {
            for n in 0..per_day {
                let id = format!("d{}-{n}", day - 2);
                if kept_open.contains(&id) {
                    continue;
                }
                for kind in [
                    LifecycleKind::Responded,
                    LifecycleKind::Resolved,
                    LifecycleKind::Closed,
                ] {
                    pending.push(f.store.apply(id.clone(), lifecycle(kind)));
                }
            }
        }
        for reply in pending {
            reply.blocking_recv().unwrap().unwrap();
        }
        f.advance("12h");
        f.tick();
        pruned.add(&prune(&f));
    }
    (f, kept_open, pruned)
}

#[test]
fn a_simulated_year_stays_within_retention_and_keeps_what_rules_read() {
    let (f, kept_open, pruned) = simulate(&Segments::<{ 32 << 10 }>, PER_DAY, DAYS);
    let now = f.clock.now().millis();
    assert!(pruned.segments_archived > 100, "{pruned:?}");
    assert_eq!(
        pruned.segments_removed, pruned.segments_archived,
        "{pruned:?}"
    );

    // The live log holds the last 30 days and the segment in progress.
    let live_bytes: u64 = segment_files(&f)
        .iter()
        .map(|(_, path)| std::fs::metadata(path).unwrap().len())
        .sum();
    let metrics = f.store.metrics().unwrap();
    assert_eq!(
        metrics
            .audit_file_bytes
            .load(std::sync::atomic::Ordering::Relaxed),
        live_bytes,
        "the metric counts the live segments"
    );
    let oldest_live = count(&f, "SELECT MIN(decided_at) FROM decisions");
    assert!(
        oldest_live >= now - 32 * DAY,
        "{} days",
        (now - oldest_live) / DAY
    );
    let live_files = segment_files(&f).len() as i64;
    assert_eq!(live_files, count(&f, "SELECT COUNT(*) FROM audit_segments"));

    // Closed cases go after a year of history; open cases never do.
    assert_eq!(
        count(
            &f,
            &format!(
                "SELECT COUNT(*) FROM cases WHERE status = 'closed' AND opened_at < {}",
                now - 366 * DAY
            )
        ),
        0
    );
    let recent_days = (now - 364 * DAY - start().millis()).div_euclid(DAY) + 1;
    assert_eq!(
        count(
            &f,
            &format!(
                "SELECT COUNT(*) FROM cases WHERE opened_at >= {}",
                start().millis() + recent_days * DAY
            )
        ),
        (DAYS - recent_days) * PER_DAY as i64,
        "every case of the customer-history window is kept"
    );
    for id in &kept_open {
        assert!(
            f.store.case(id).unwrap().is_some(),
            "open case {id} is kept"
        );
    }
    // Control-line counts: pruned before the window, exact inside it.
    let oldest_day: i64 = count(
        &f,
        "SELECT MIN(bucket) FROM control_tallies WHERE level = 2",
    );
    assert!(
        oldest_day * DAY >= now - 33 * DAY,
        "{} days",
        (now - oldest_day * DAY) / DAY
    );
    let group = BTreeMap::from([(Arc::from("product_line"), "p0".to_string())]);
    let mut counted = None;
    f.store
        .with_view(&mut |view| {
            counted =
                view.control_line_count("quality", &group, "30d".parse().unwrap(), f.clock.now())
        })
        .unwrap();
    let last_30_days: i64 = (DAYS - 30..DAYS)
        .map(|_| (0..PER_DAY).filter(|n| n.is_multiple_of(12)).count() as i64)
        .sum();
    assert_eq!(counted, Some(last_30_days), "the window's counts are whole");
    let oldest_use = count(&f, "SELECT MIN(at) FROM authority_uses");
    assert!(oldest_use >= now - 3 * DAY);

    // Archive and live log together hold every entry once, in order, and
    // every complaint replays as decided.
    let everything = crate::store::open_reader_with_archive(&f.path).unwrap();
    assert!(everything.unavailable().is_empty());
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let page = everything
            .decisions(&DecisionQuery {
                after,
                limit: 5000,
                ..DecisionQuery::default()
            })
            .unwrap();
        seqs.extend(page.decisions.iter().map(|entry| entry.seq));
        match page.next {
            Some(next) => after = next,
            None => break,
        }
    }
    let last = count(&f, "SELECT MAX(seq) FROM decisions");
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
    let report =
        crate::replay::replay(&everything, &crate::replay::ReplayOptions::default()).unwrap();
    assert_eq!(report.replayed, (DAYS as u64) * PER_DAY as u64);
    assert!(
        report.all_identical() && report.not_replayable.is_empty(),
        "{report:?}"
    );
    let live_only = crate::store::open_reader(&f.path).unwrap();
    let mut live_complaints = 0;
    live_only
        .complaints(&LogQuery::default(), &mut |_| {
            live_complaints += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
    assert!(live_complaints < 40 * PER_DAY, "{live_complaints}");

    // A retry of a complaint whose decision is archived is not decided
    // again; the store opens again on its segments.
    let f = f.reopen(|_| {}).unwrap();
    let retry = f.intake(event(200, 3));
    let error = f
        .store
        .decide_and_record(vec![retry])
        .blocking_recv()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(error, StoreError::DecisionArchived { .. }),
        "{error}"
    );
    let (fresh, _) = f.complain(event(DAYS, 0));
    assert!(!fresh.replayed());

    // An archived file the operator deleted is named, not read as nothing.
    let index = ArchiveIndex::load(&f.path).unwrap();
    let first = &index.segments[0];
    std::fs::remove_file(archive_dir(&f.path).join(&first.file)).unwrap();
    let everything = crate::store::open_reader_with_archive(&f.path).unwrap();
    let gaps = everything.unavailable();
    assert_eq!(gaps.len(), 1);
    assert!(
        gaps[0].contains(&format!(
            "audit entries {} to {}",
            first.first_seq, first.last_seq
        )),
        "{gaps:?}"
    );
    let page = everything
        .decisions(&DecisionQuery {
            after: 0,
            limit: 1,
            ..DecisionQuery::default()
        })
        .unwrap();
    assert_eq!(page.decisions[0].seq, first.last_seq + 1);
}

/// The figures of BENCHMARKS.md ("Retention"): a simulated 400 days at
/// `REDRESS_SIM_PER_DAY` complaints a day (default 1,000) with 8 MiB
/// segments, and the sizes the store keeps live and archived.
#[test]
#[ignore = "a figure for BENCHMARKS.md, not a check: run with --ignored --nocapture"]
fn simulated_year_sizes() {
    let per_day = std::env::var("REDRESS_SIM_PER_DAY")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1000);
    let (f, _, pruned) = simulate(&Segments::<{ 8 << 20 }>, per_day, DAYS);
    let size = |path: PathBuf| std::fs::metadata(path).map_or(0, |m| m.len());
    let database = size(crate::store::database_path(&f.path)) + size(f.path.join("redress.db-wal"));
    let live_segments: u64 = segment_files(&f)
        .iter()
        .map(|(_, path)| size(path.clone()))
        .sum();
    let index = ArchiveIndex::load(&f.path).unwrap();
    let archived_entries: u64 = index.segments.iter().map(|s| s.entries).sum();
    let archived_live_bytes: u64 = index.segments.iter().map(|s| s.live_bytes).sum();
    let archived_bytes: u64 = index.segments.iter().map(|s| s.compressed_bytes).sum();
    let live_entries = count(&f, "SELECT COUNT(*) FROM decisions");
    let cases = count(&f, "SELECT COUNT(*) FROM cases");
    println!("per_day {per_day} days {DAYS}: pruned {pruned:?}");
    println!(
        "live: {live_entries} entries, {cases} cases, database {database} bytes, segments {live_segments} bytes"
    );
    println!(
        "archived: {archived_entries} entries, {archived_live_bytes} bytes as lines, {archived_bytes} bytes compressed, {} files",
        index.segments.len()
    );
}

/// The whole log of `reader`, page by page: (position, event id, decision).
fn whole_log(reader: &dyn StoreReader) -> Vec<(i64, String, serde_json::Value)> {
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let page = reader
            .decisions(&DecisionQuery {
                after,
                limit: 1000,
                ..DecisionQuery::default()
            })
            .unwrap();
        entries.extend(
            page.decisions
                .into_iter()
                .map(|entry| (entry.seq, entry.event_id, entry.decision)),
        );
        match page.next {
            Some(next) => after = next,
            None => return entries,
        }
    }
}

#[test]
fn a_copy_to_postgres_takes_the_archived_log_too() {
    let Some(server) =
        postgres_server::server("retention::a_copy_to_postgres_takes_the_archived_log_too")
    else {
        return;
    };
    let f = fixture_on(&Segments::<4096>);
    for day in 0..40 {
        for n in 0..4 {
            f.complain(event(day, n));
        }
        f.advance("1d");
    }
    let pruned = prune(&f);
    assert!(pruned.entries > 0, "{pruned:?}");
    let Fixture {
        _dir, path, store, ..
    } = f;
    drop(store);
    let read_with_archive =
        || WithArchive::open(&path, Box::new(Archive::open(&path).unwrap())).unwrap();
    let directory = whole_log(&read_with_archive());
    assert_eq!(
        directory.len(),
        160,
        "the archive and the live log hold it all"
    );

    let url = server.fresh_database();
    let report = copy_to_postgres(&path, &url, &mut |_| {}).unwrap();
    assert_eq!(report.archived_entries, pruned.entries as u64);
    assert!(report.unavailable.is_empty());
    let postgres = PostgresReader::connect(&PostgresOptions::new(url)).unwrap();
    assert_eq!(
        whole_log(&postgres),
        directory,
        "PostgreSQL holds the archived entries and the live ones"
    );

    // An archived file an operator deleted is named, and its entries are
    // counted out on both sides.
    let index = ArchiveIndex::load(&path).unwrap();
    let gone = &index.segments[0];
    std::fs::remove_file(archive_dir(&path).join(&gone.file)).unwrap();
    let url = server.fresh_database();
    let report = copy_to_postgres(&path, &url, &mut |_| {}).unwrap();
    assert_eq!(report.unavailable.len(), 1, "{:?}", report.unavailable);
    assert!(
        report.unavailable[0].contains(&gone.file),
        "{:?}",
        report.unavailable
    );
    let postgres = PostgresReader::connect(&PostgresOptions::new(url)).unwrap();
    assert_eq!(
        whole_log(&postgres).len() as u64,
        160 - gone.entries,
        "the deleted file's entries are in neither place"
    );
}
