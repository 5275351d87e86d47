//! Durable state through the daemon: the audit log, cases and their
//! lifecycle, timers across crashes, and the offline `audit` and `report`
//! commands on the same data directory.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::support::{Daemon, redress_in, stderr, stdout};

/// Routes everything to one queue and promises a first response within a
/// second, so timers fall due while the test runs.
const QUICK_SLA: &str = r#"
[[route]]
name = "everything"
queue = "care"

[[sla]]
name = "quick"
first_response = "1s"
resolve = "1h"
follow_up = "1s"
on_breach = { escalate = "supervisor", notify = ["quality"] }
"#;

/// A daemon without plugins on the quick rules, checking timers often.
fn quick_daemon(extra: &str) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/quick.toml"), QUICK_SLA).unwrap();
    Daemon::start_in(
        dir,
        &format!("plugins = \"\"\n[store]\ntimer_interval = \"50ms\"\n{extra}"),
    )
}

/// Waits up to 20 s for `done` over the audit log.
fn wait_for_audit(
    daemon: &Daemon,
    what: &str,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let entries = daemon.audit_log();
        if done(&entries) {
            return entries;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; {} entries",
            entries.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn acknowledged_decisions_and_timers_survive_sigkill() {
    let mut daemon = quick_daemon("");
    let base = Arc::new(RwLock::new(daemon.base.clone()));
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let base = base.clone();
            let acknowledged = acknowledged.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(5)))
                    .build()
                    .into();
                // A bounded load: at most this many events per client.
                for n in 0..5_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = format!("crash-{client}-{n}");
                    let url = format!("{}/v1/complaints", base.read().unwrap());
                    let body = format!(
                        r#"{{"id": "{id}", "customer": {{"id": "cust-{client}"}}, "category": "product_quality"}}"#
                    );
                    let response = agent
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .send(&body);
                    match response {
                        Ok(response) if response.status().is_success() => {
                            acknowledged.lock().unwrap().push(id);
                        }
                        // Refused while the daemon is down, or cut off by
                        // the kill: not acknowledged, so not promised.
                        _ => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        })
        .collect();
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(400));
        daemon.crash_and_restart();
        *base.write().unwrap() = daemon.base.clone();
    }
    std::thread::sleep(Duration::from_millis(400));
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    daemon.crash_and_restart();
    let acknowledged = acknowledged.lock().unwrap().clone();
    eprintln!("{} events acknowledged across 5 kills", acknowledged.len());
    assert!(
        acknowledged.len() > 100,
        "the load did not run: {} acknowledged",
        acknowledged.len()
    );

    // Every complaint recorded, acknowledged or not, promised a first
    // response within a second that nobody gave: each breach fires once.
    let entries = wait_for_audit(&daemon, "every first-response timer", |entries| {
        field_of_kind(entries, "complaint", "case_id")
            == field_of_kind(entries, "sla_breach", "case_id")
    });
    // Every entry's decision reads back from the audit file, which holds
    // nothing of the batches the kills cut off.
    let unreadable: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|entry| entry["decision"].is_null())
        .map(|entry| &entry["seq"])
        .collect();
    assert!(
        unreadable.is_empty(),
        "decisions not read back: {unreadable:?}"
    );
    let lines = std::fs::read_to_string(daemon.path("data/decisions.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), entries.len(), "one line per entry");
    let recorded = field_of_kind(&entries, "complaint", "event_id");
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !recorded.contains(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged events are not in the audit log, e.g. {:?}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(5)]
    );
    let mut fired: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for entry in entries.iter().filter(|e| e["kind"] == "sla_breach") {
        *fired
            .entry((
                entry["case_id"].as_str().unwrap(),
                entry["decision"]["timer"].as_str().unwrap(),
            ))
            .or_default() += 1;
    }
    let twice: Vec<_> = fired.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "timers fired more than once: {twice:?}");
    let mut complaints: BTreeMap<&str, usize> = BTreeMap::new();
    for id in entries
        .iter()
        .filter(|e| e["kind"] == "complaint")
        .map(|e| e["event_id"].as_str().unwrap())
    {
        *complaints.entry(id).or_default() += 1;
    }
    assert!(
        complaints.values().all(|count| *count == 1),
        "an event was decided twice"
    );

    // A retry of an acknowledged event is answered from the log, not
    // decided again.
    let retried = &acknowledged[0];
    let client = retried.split('-').nth(1).unwrap();
    let (status, again) = daemon.post(
        "/v1/complaints",
        &format!(
            r#"{{"id": "{retried}", "customer": {{"id": "cust-{client}"}}, "category": "product_quality"}}"#
        ),
    );
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["event_id"], retried.as_str());
    // Another complaint under that id is refused, and the first stands.
    let (status, refused) = daemon.post(
        "/v1/complaints",
        &format!(r#"{{"id": "{retried}", "category": "price_billing"}}"#),
    );
    assert_eq!(status, 409, "{refused}");
    let case = daemon.get(&format!("/v1/cases/{retried}")).1;
    assert_eq!(
        case["category"], "product_quality",
        "the first decision stands"
    );

    // Every complaint decision of this history, kills and all, decides
    // again exactly (read while the daemon runs).
    let replayed = redress_in(daemon.dir.path(), &["replay", "--data", "data"]);
    assert!(
        replayed.status.success(),
        "{}{}",
        stdout(&replayed),
        stderr(&replayed)
    );
    let complaints = entries.iter().filter(|e| e["kind"] == "complaint").count();
    assert!(
        stdout(&replayed).starts_with(&format!("{complaints} identical, 0 different")),
        "{}",
        stdout(&replayed)
    );
}

#[test]
fn a_retry_is_answered_from_the_log_and_a_different_complaint_under_its_id_is_refused() {
    let daemon = quick_daemon("");
    let first = r#"{"id": "same-1", "customer": {"id": "c-1"}, "text": "the kettle leaks"}"#;
    let (status, decided) = daemon.post("/v1/complaints", first);
    assert_eq!(status, 200, "{decided}");

    // The same complaint, its keys in another order: a retry.
    let (status, again) = daemon.post(
        "/v1/complaints",
        r#"{"text": "the kettle leaks", "customer": {"id": "c-1"}, "id": "same-1"}"#,
    );
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, decided, "answered with the recorded decision");

    // Another complaint under the same id, alone and in a batch.
    let other = r#"{"id": "same-1", "customer": {"id": "c-2"}, "text": "the toaster burns"}"#;
    let (status, refused) = daemon.post("/v1/complaints", other);
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "event_id_reused", "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("same-1") && message.contains("audit entry"),
        "{message}"
    );
    let (status, batch) = daemon.post(
        "/v1/complaints",
        &format!(r#"[{other}, {{"id": "fresh-1", "text": "late"}}]"#),
    );
    assert_eq!(status, 200, "{batch}");
    assert_eq!(
        batch["decisions"][0]["error"]["code"], "event_id_reused",
        "{batch}"
    );
    assert_eq!(batch["decisions"][1]["event_id"], "fresh-1", "{batch}");

    let complaints: Vec<_> = daemon
        .audit_log()
        .into_iter()
        .filter(|entry| entry["kind"] == "complaint")
        .collect();
    assert_eq!(
        complaints.len(),
        2,
        "same-1 once, fresh-1 once: {complaints:?}"
    );
    let (status, case) = daemon.get("/v1/cases/same-1");
    assert_eq!(status, 200, "{case}");
    assert_eq!(
        case["customer_id"], "c-1",
        "the first complaint's case is untouched"
    );
}

#[test]
fn a_case_moves_through_its_lifecycle_over_http() {
    let daemon = quick_daemon("");
    let (status, decision) = daemon.post(
        "/v1/complaints",
        r#"{"id": "life-1", "customer": {"id": "c-9", "tier": "vip"}, "category": "product_quality", "product_line": "kettles"}"#,
    );
    assert_eq!(status, 200, "{decision}");
    assert_eq!(decision["route"]["queue"], "care");
    let (status, case) = daemon.post(
        "/v1/complaints/life-1/events",
        r#"{"type": "responded", "by": "ana"}"#,
    );
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["status"], "responded");
    let first = case["timers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "first_response")
        .unwrap();
    assert_eq!(first["state"], "cancelled", "responded in time");

    // A misspelt type is named, with the one meant.
    let (status, refused) = daemon.post("/v1/complaints/life-1/events", r#"{"type": "resolvd"}"#);
    assert_eq!(status, 422, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("unknown `type` `resolvd`")
            && message.contains("did you mean `resolved`?"),
        "{message}"
    );
    let (status, refused) = daemon.post("/v1/complaints/life-1/events", r#"{"by": "ana"}"#);
    assert_eq!(status, 422, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("missing field `type`") && message.contains("authority_used"),
        "{message}"
    );

    // Closing before resolving is not a step a case can take.
    let (status, refused) = daemon.post("/v1/complaints/life-1/events", r#"{"type": "confirmed"}"#);
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("responded"),
        "{refused}"
    );

    let (status, case) = daemon.post("/v1/complaints/life-1/events", r#"{"type": "resolved"}"#);
    assert_eq!(status, 200, "{case}");
    assert!(
        case["timers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "follow_up" && t["state"] == "pending"),
        "a follow-up call is scheduled after resolution: {case:#}"
    );
    wait_for_audit(&daemon, "the follow-up", |entries| {
        entries.iter().any(|e| e["kind"] == "follow_up_due")
    });
    let (_, case) = daemon.post("/v1/complaints/life-1/events", r#"{"type": "followed_up"}"#);
    let (status, case_after) =
        daemon.post("/v1/complaints/life-1/events", r#"{"type": "confirmed"}"#);
    assert_eq!(status, 200, "{case} {case_after}");
    let (status, case) = daemon.get("/v1/cases/life-1");
    assert_eq!(status, 200);
    assert_eq!(case["status"], "confirmed");
    let history: Vec<&str> = case["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "opened",
            "responded",
            "resolved",
            "follow_up_due",
            "followed_up",
            "confirmed"
        ]
    );

    let (status, missing) = daemon.get("/v1/cases/nobody");
    assert_eq!(status, 404, "{missing}");
    let (status, missing) = daemon.post("/v1/complaints/nobody/events", r#"{"type": "responded"}"#);
    assert_eq!(status, 404, "{missing}");
    let (status, bad) = daemon.post("/v1/complaints/life-1/events", r#"{"type": "shrugged"}"#);
    assert_eq!(status, 422, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("responded")
    );
}

#[test]
fn the_audit_log_pages_and_the_cli_reads_it_offline() {
    let daemon = quick_daemon("");
    for n in 0..7 {
        let (status, _) = daemon.post(
            "/v1/complaints",
            &format!(
                r#"{{"id": "page-{n}", "category": "price_billing", "product_line": "plans", "customer": {{"tier": "gold"}}}}"#
            ),
        );
        assert_eq!(status, 200);
    }
    let metrics = daemon.metrics();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from\n{metrics}"))
    };
    assert_eq!(value("redress_store_cases_indexed"), 7.0);
    assert!(value("redress_store_batched_requests_total") >= 7.0);
    assert!(value("redress_store_batch_seconds_count") >= 1.0);
    assert!(value("redress_store_batch_seconds_sum") > 0.0);
    // Timers may add lines after the metrics were read, never take any.
    let audit_file = std::fs::metadata(daemon.path("data/decisions.jsonl")).unwrap();
    let audit_bytes = value("redress_store_audit_file_bytes");
    assert!(audit_bytes > 7.0 * 100.0, "{audit_bytes}");
    assert!(audit_bytes <= audit_file.len() as f64);
    let (_, first) = daemon.get("/v1/decisions?limit=3");
    assert_eq!(first["decisions"].as_array().unwrap().len(), 3);
    let next = first["next"].as_i64().unwrap();
    let (_, second) = daemon.get(&format!("/v1/decisions?limit=3&after={next}"));
    let second = second["decisions"].as_array().unwrap();
    assert!(second[0]["seq"].as_i64().unwrap() > next);
    let entry = &first["decisions"][0];
    assert_eq!(entry["event_id"], "page-0");
    assert!(entry["ruleset_version"].as_str().unwrap().len() >= 16);
    assert_eq!(entry["decision"]["route"]["queue"], "care");
    let (_, only) = daemon.get("/v1/decisions?case=page-4");
    assert!(
        only["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["case_id"] == "page-4")
    );

    let (status, report) = daemon.get("/v1/report");
    assert_eq!(status, 200);
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["category"] == "price_billing")
        .unwrap();
    assert_eq!(row["complaints"], 7);
    assert_eq!(row["product_line"], "plans");
    assert_eq!(row["tier"], "gold");

    // The CLI reads the same data directory while the daemon runs.
    let audit = redress_in(daemon.dir.path(), &["audit", "--case", "page-2"]);
    assert!(audit.status.success(), "{}", stderr(&audit));
    assert!(stdout(&audit).contains("page-2"), "{}", stdout(&audit));
    let lines = redress_in(daemon.dir.path(), &["audit", "--json", "--limit", "5"]);
    let parsed: Vec<serde_json::Value> = stdout(&lines)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(parsed.len(), 5);
    assert!(parsed[0]["decision"]["route"].is_object());
    let report = redress_in(daemon.dir.path(), &["report"]);
    assert!(report.status.success(), "{}", stderr(&report));
    let text = stdout(&report);
    assert!(
        text.contains("price_billing") && text.contains("plans"),
        "{text}"
    );

    let empty = tempfile::tempdir().unwrap();
    let missing = redress_in(empty.path(), &["audit"]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("no store here"),
        "{}",
        stderr(&missing)
    );
}

/// `field` of every audit entry of `kind`.
fn field_of_kind<'a>(
    entries: &'a [serde_json::Value],
    kind: &str,
    field: &str,
) -> BTreeSet<&'a str> {
    entries
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e[field].as_str().unwrap())
        .collect()
}

#[test]
fn without_a_store_the_state_endpoints_say_so() {
    let daemon = quick_daemon("enabled = false\n");
    let (status, decision) = daemon.post("/v1/complaints", r#"{"id": "x-1"}"#);
    assert_eq!(status, 200, "{decision}");
    for path in ["/v1/decisions", "/v1/cases/x-1", "/v1/report"] {
        let (status, error) = daemon.get(path);
        assert_eq!(status, 501, "{path}: {error}");
        assert_eq!(error["error"]["code"], "store_disabled");
    }
}

/// A coupon for every complaint, in the rule set's currency.
fn coupon_rules(currency: &str) -> String {
    format!(
        r#"
[ruleset]
currency = "{currency}"

[[route]]
name = "everything"
queue = "care"

[[compensate]]
name = "coupon"
offers = [{{ kind = "coupon", value = 10.0 }}]
"#
    )
}

#[test]
fn the_report_keeps_currencies_apart_and_the_daemon_refuses_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/quick.toml"), coupon_rules("USD")).unwrap();
    let daemon = Daemon::start_in(dir, "plugins = \"\"\n");
    let (status, decision) = daemon.post("/v1/complaints", r#"{"id": "usd-1"}"#);
    assert_eq!(status, 200, "{decision}");
    assert_eq!(decision["offers"][0]["currency"], "USD");

    // No rate from CNY: refused, named, and nothing recorded.
    let (status, error) = daemon.post(
        "/v1/complaints",
        r#"{"id": "cny-1", "amount": 200.0, "currency": "CNY"}"#,
    );
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "unknown_currency", "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("CNY") && message.contains("USD"),
        "{message}"
    );
    let (status, _) = daemon.get("/v1/cases/cny-1");
    assert_eq!(status, 404);
    // A simulation refuses it the same way: one intake path.
    let (status, simulated) = daemon.post(
        "/v1/simulate",
        r#"{"events": [{"id": "cny-sim", "amount": 200.0, "currency": "CNY"}, {"id": "usd-sim"}]}"#,
    );
    assert_eq!(status, 200, "{simulated}");
    assert_eq!(
        simulated["decisions"][0]["error"]["code"], "unknown_currency",
        "{simulated}"
    );
    assert_eq!(
        simulated["decisions"][1]["event_id"], "usd-sim",
        "{simulated}"
    );

    let before = daemon.ruleset_version();
    std::fs::write(daemon.path("rules/quick.toml"), coupon_rules("CNY")).unwrap();
    daemon.wait_for("the rule set in CNY", |r| r["ruleset_version"] != before);
    let (status, decision) = daemon.post("/v1/complaints", r#"{"id": "cny-2"}"#);
    assert_eq!(status, 200, "{decision}");
    assert_eq!(decision["offers"][0]["currency"], "CNY");

    let (status, report) = daemon.get("/v1/report");
    assert_eq!(status, 200, "{report}");
    let mut totals: Vec<(String, f64)> = report["totals"]["compensation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sum| {
            (
                sum["currency"].as_str().unwrap().to_string(),
                sum["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    totals.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        totals,
        vec![("CNY".to_string(), 10.0), ("USD".to_string(), 10.0)]
    );
    let table = redress_in(daemon.dir.path(), &["report"]);
    assert!(table.status.success(), "{}", stderr(&table));
    let text = stdout(&table);
    let total = text.lines().find(|l| l.starts_with("total")).unwrap();
    assert!(
        total.contains("10.00 CNY") && total.contains("10.00 USD") && !total.contains("20.00"),
        "{text}"
    );
}

/// `received_at` this long before now, as RFC 3339.
fn ago(duration: chrono::Duration) -> String {
    (chrono::Utc::now() - duration).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Each timer's kind and state in a case view.
fn timer_states(case: &serde_json::Value) -> BTreeMap<String, String> {
    case["timers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap().to_string(),
                t["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn history_imported_fires_no_past_breach_while_a_plain_backfill_does() {
    let daemon = quick_daemon("");
    let three_days_ago = ago(chrono::Duration::days(3));
    let half_an_hour_ago = ago(chrono::Duration::minutes(30));
    for (id, received_at) in [
        ("imported-old", &three_days_ago),
        ("imported-recent", &half_an_hour_ago),
    ] {
        let (status, decision) = daemon.post(
            "/v1/complaints?import=true",
            &format!(r#"{{"id": "{id}", "customer": {{"id": "c-{id}"}}, "received_at": "{received_at}"}}"#),
        );
        assert_eq!(status, 200, "{decision}");
    }
    let (status, decision) = daemon.post(
        "/v1/complaints",
        &format!(r#"{{"id": "backfilled", "received_at": "{three_days_ago}"}}"#),
    );
    assert_eq!(status, 200, "{decision}");

    // The plain backfill's two timers were due three days ago: both fire.
    // Once they have, the timer check has run over the imported cases too.
    let entries = wait_for_audit(&daemon, "the backfill's breaches", |entries| {
        entries
            .iter()
            .filter(|e| e["kind"] == "sla_breach" && e["case_id"] == "backfilled")
            .count()
            == 2
    });
    let imported_breaches: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["kind"] == "sla_breach" && e["case_id"] != "backfilled")
        .collect();
    assert!(
        imported_breaches.is_empty(),
        "imported history fired: {imported_breaches:?}"
    );

    let (_, old) = daemon.get("/v1/cases/imported-old");
    assert_eq!(
        timer_states(&old),
        BTreeMap::from([
            ("first_response".to_string(), "cancelled".to_string()),
            ("resolve".to_string(), "cancelled".to_string()),
        ]),
        "{old:#}"
    );
    // Half an hour ago: the one-second first response has passed, the
    // one-hour resolution is still ahead and armed.
    let (_, recent) = daemon.get("/v1/cases/imported-recent");
    assert_eq!(
        timer_states(&recent),
        BTreeMap::from([
            ("first_response".to_string(), "cancelled".to_string()),
            ("resolve".to_string(), "pending".to_string()),
        ]),
        "{recent:#}"
    );
    let (_, backfilled) = daemon.get("/v1/cases/backfilled");
    assert_eq!(
        timer_states(&backfilled),
        BTreeMap::from([
            ("first_response".to_string(), "fired".to_string()),
            ("resolve".to_string(), "fired".to_string()),
        ]),
        "{backfilled:#}"
    );
}

#[test]
fn timestamps_outside_the_window_are_refused_and_the_window_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/quick.toml"), QUICK_SLA).unwrap();
    let daemon = Daemon::start_in(
        dir,
        "plugins = \"\"\n[limits]\ntimestamp_past = \"2d\"\ntimestamp_future = \"1h\"\n",
    );
    let refused = [
        (
            "far-ahead",
            r#""received_at": "9999-12-31T23:59:59Z""#.to_string(),
            "received_at",
        ),
        (
            "too-old",
            format!(r#""received_at": "{}""#, ago(chrono::Duration::days(3))),
            "received_at",
        ),
        (
            "occurred-ahead",
            format!(r#""occurred_at": "{}""#, ago(-chrono::Duration::hours(2))),
            "occurred_at",
        ),
    ];
    for (id, field, name) in &refused {
        let (status, error) =
            daemon.post("/v1/complaints", &format!(r#"{{"id": "{id}", {field}}}"#));
        assert_eq!(status, 422, "{id}: {error}");
        assert_eq!(error["error"]["code"], "timestamp_out_of_range", "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(name), "{id}: {message}");
        let (status, _) = daemon.get(&format!("/v1/cases/{id}"));
        assert_eq!(status, 404, "{id} was recorded");
    }
    // Inside the window, either side of the clock.
    for (id, at) in [
        ("yesterday", ago(chrono::Duration::days(1))),
        ("a-minute-ahead", ago(-chrono::Duration::minutes(1))),
    ] {
        let (status, decision) = daemon.post(
            "/v1/complaints",
            &format!(r#"{{"id": "{id}", "received_at": "{at}"}}"#),
        );
        assert_eq!(status, 200, "{id}: {decision}");
    }
}
