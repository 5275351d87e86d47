//! The daemon: the real `redress serve`, real HTTP, files edited on disk the
//! way editors do.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sha2::Digest as _;

use crate::support::*;

const MILLER: &str = r#"{"id": "miller-001", "channel": "in_person", "location": "main-street-branch",
  "text": "I only came in to get my parking ticket stamped.", "customer": {"tier": "ordinary", "deposits": 4200000}}"#;

const BILLING: &str = r#"{"id": "b-1", "category": "price_billing", "amount": 20}"#;

/// A billing complaint with an id never used before: with durable state,
/// an id already decided is answered with its recorded decision.
fn billing() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        r#"{{"id": "b-{}-{n}", "category": "price_billing", "amount": 20}}"#,
        std::process::id()
    )
}

fn routing(daemon: &Daemon) -> PathBuf {
    daemon.path("rules/10-routing.toml")
}

#[test]
fn decides_complaints_and_batches() {
    let daemon = Daemon::start("");
    let (status, decision) = daemon.post("/v1/complaints", MILLER);
    assert_eq!(status, 200, "{decision}");
    assert_eq!(decision["route"]["queue"], "key-accounts");
    assert_eq!(decision["authority"][0]["policy"], "parking-validation");
    assert_eq!(
        decision["ruleset_version"],
        daemon.ruleset_version().as_str()
    );
    assert_eq!(decision["plugins"].as_array().unwrap().len(), 3);
    assert!(decision["received_at"].as_str().unwrap().ends_with('Z'));
    let (status, batch) = daemon.post(
        "/v1/complaints",
        &format!("[{MILLER}, {BILLING}, {{\"id\": \"\"}}]"),
    );
    assert_eq!(status, 200);
    let decisions = batch["decisions"].as_array().unwrap();
    assert_eq!(decisions[0]["event_id"], "miller-001");
    assert_eq!(decisions[1]["route"]["queue"], "billing");
    assert_eq!(decisions[2]["error"]["code"], "invalid_event");
    let (status, full) = daemon.post("/v1/complaints?trace=full", &billing());
    assert_eq!(status, 200);
    let (_, none) = daemon.post("/v1/complaints?trace=none", &billing());
    assert!(full["trace"].as_array().unwrap().len() > 10);
    assert!(none["trace"].as_array().unwrap().is_empty());
}

#[test]
fn bad_requests_get_json_errors() {
    let daemon = Daemon::start("[limits]\nbody = \"2KiB\"\nbatch = 2\n");
    let (status, error) = daemon.post(
        "/v1/complaints",
        r#"{"id": "x", "customer": {"deposits": "lots"}}"#,
    );
    assert_eq!(status, 422);
    assert_eq!(error["error"]["code"], "invalid_event");
    assert_eq!(error["error"]["details"]["field"], "customer.deposits");
    let (status, error) = daemon.post("/v1/complaints", r#"{"id": "#);
    assert_eq!(status, 400);
    assert_eq!(error["error"]["code"], "invalid_json");
    let big = format!(r#"{{"id": "x", "text": "{}"}}"#, "a".repeat(4096));
    let (status, error) = daemon.post("/v1/complaints", &big);
    assert_eq!(status, 413);
    assert_eq!(error["error"]["code"], "payload_too_large");
    let (status, error) = daemon.post(
        "/v1/complaints",
        &format!("[{BILLING}, {BILLING}, {BILLING}]"),
    );
    assert_eq!(status, 413);
    assert_eq!(error["error"]["code"], "batch_too_large");
    let (status, error) = daemon.post("/v1/complaints?trace=al", &billing());
    assert_eq!(status, 400);
    assert_eq!(error["error"]["code"], "invalid_request");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("none`, `compact`, `full`"), "{message}");
    let (status, error) = daemon.get("/v2/nothing");
    assert_eq!(status, 404);
    assert_eq!(error["error"]["code"], "not_found");
    let (status, error) = daemon.get("/v1/complaints");
    assert_eq!(status, 405);
    assert_eq!(error["error"]["code"], "method_not_allowed");
}

#[test]
fn tokens_are_enforced() {
    let daemon =
        Daemon::start("[auth]\ntokens = [\"user-token\"]\nadmin_tokens = [\"admin-token\"]\n");
    assert_eq!(daemon.get("/healthz").0, 200);
    let (status, error) = daemon.get("/v1/ruleset");
    assert_eq!(status, 401);
    assert_eq!(error["error"]["code"], "unauthorized");
    assert_eq!(
        daemon.request("GET", "/metrics", None, Some("wrong")).0,
        401
    );
    assert_eq!(
        daemon
            .request("POST", "/v1/complaints", Some(MILLER), Some("user-token"))
            .0,
        200
    );
    assert_eq!(
        daemon
            .request("GET", "/v1/ruleset", None, Some("admin-token"))
            .0,
        200
    );
    let (status, error) = daemon.request("POST", "/v1/reload", None, Some("user-token"));
    assert_eq!(status, 403);
    assert_eq!(error["error"]["code"], "forbidden");
    assert_eq!(
        daemon
            .request("POST", "/v1/reload", None, Some("admin-token"))
            .0,
        200
    );
}

#[test]
fn a_rule_change_takes_effect_and_a_broken_one_is_kept_out() {
    let daemon = Daemon::start("");
    let first = daemon.ruleset_version();
    assert_eq!(
        daemon.post("/v1/complaints", &billing()).1["route"]["queue"],
        "billing"
    );
    let original = std::fs::read_to_string(routing(&daemon)).unwrap();

    save_atomically(
        &routing(&daemon),
        original
            .replace("queue = \"billing\"", "queue = \"billing-team\"")
            .as_bytes(),
    );
    let ruleset = daemon.wait_for("the good edit", |r| r["ruleset_version"] != first.as_str());
    assert_eq!(ruleset["last_reload"]["outcome"], "loaded");
    let second = daemon.ruleset_version();
    let (_, decision) = daemon.post("/v1/complaints", &billing());
    assert_eq!(decision["route"]["queue"], "billing-team");
    assert_eq!(decision["ruleset_version"], second.as_str());

    save_atomically(
        &routing(&daemon),
        original
            .replace("queue = \"billing\"", "qeue = \"billing\"")
            .as_bytes(),
    );
    let ruleset = daemon.wait_for("the broken edit", |r| {
        r["last_reload"]["outcome"] == "failed"
    });
    let rendered = ruleset["last_reload"]["rendered"].as_str().unwrap();
    assert!(rendered.contains("unknown key `qeue`"), "{rendered}");
    assert!(rendered.contains("did you mean `queue`?"), "{rendered}");
    assert_eq!(
        ruleset["last_reload"]["diagnostics"][0]["location"]["line"],
        43
    );
    let (_, decision) = daemon.post("/v1/complaints", &billing());
    assert_eq!(
        decision["route"]["queue"], "billing-team",
        "the last good rules keep serving"
    );
    assert_eq!(decision["ruleset_version"], second.as_str());
    let metrics = daemon.metrics();
    assert!(
        metrics.contains("redress_reloads_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("redress_reload_last_failed 1"),
        "{metrics}"
    );

    save_atomically(&routing(&daemon), original.as_bytes());
    daemon.wait_for("the fixed edit", |r| {
        r["last_reload"]["outcome"] == "loaded" && r["ruleset_version"] == first.as_str()
    });
    assert_eq!(
        daemon.post("/v1/complaints", &billing()).1["route"]["queue"],
        "billing"
    );
}

#[test]
fn editors_that_save_in_odd_ways_are_followed() {
    let daemon = Daemon::start("");
    let file = routing(&daemon);
    let original = std::fs::read_to_string(&file).unwrap();
    let mut version = daemon.ruleset_version();
    let expect_queue = |queue: &str, version: &mut String| {
        let seen = daemon.wait_for(queue, |r| {
            r["ruleset_version"] != version.as_str() && r["last_reload"]["outcome"] == "loaded"
        });
        *version = seen["ruleset_version"].as_str().unwrap().to_string();
        assert_eq!(
            daemon.post("/v1/complaints", &billing()).1["route"]["queue"],
            queue
        );
    };
    // vim: swap file, rename the original to a backup, write anew, remove the backup.
    std::fs::write(daemon.path("rules/.10-routing.toml.swp"), "swap").unwrap();
    std::fs::rename(&file, daemon.path("rules/10-routing.toml~")).unwrap();
    std::fs::write(
        &file,
        original.replace("queue = \"billing\"", "queue = \"vim\""),
    )
    .unwrap();
    std::fs::remove_file(daemon.path("rules/10-routing.toml~")).unwrap();
    std::fs::remove_file(daemon.path("rules/.10-routing.toml.swp")).unwrap();
    expect_queue("vim", &mut version);
    // In place.
    std::fs::write(
        &file,
        original.replace("queue = \"billing\"", "queue = \"in-place\""),
    )
    .unwrap();
    expect_queue("in-place", &mut version);
    // Deleted and created again.
    std::fs::remove_file(&file).unwrap();
    std::fs::write(
        &file,
        original.replace("queue = \"billing\"", "queue = \"recreated\""),
    )
    .unwrap();
    expect_queue("recreated", &mut version);
    // The whole directory replaced: built beside, old one moved away.
    let staging = daemon.path("rules.new");
    copy_dir(&daemon.path("rules"), &staging);
    std::fs::write(
        staging.join("10-routing.toml"),
        original.replace("queue = \"billing\"", "queue = \"new-directory\""),
    )
    .unwrap();
    std::fs::rename(daemon.path("rules"), daemon.path("rules.old")).unwrap();
    std::fs::rename(&staging, daemon.path("rules")).unwrap();
    expect_queue("new-directory", &mut version);
    // And the new directory is watched too.
    std::fs::write(
        daemon.path("rules/10-routing.toml"),
        original.replace("queue = \"billing\"", "queue = \"after\""),
    )
    .unwrap();
    expect_queue("after", &mut version);
}

#[test]
fn a_plugin_replaced_on_disk_is_used_for_the_next_event() {
    let daemon = Daemon::start("");
    let (_, before) = daemon.post("/v1/complaints", MILLER);
    let old_digest = before["plugins"][0]["digest"].as_str().unwrap().to_string();
    let replacement = std::fs::read(
        std::path::Path::new(env!("REDRESS_GUESTS_DIR")).join("guest_wrong_type.wasm"),
    )
    .unwrap();
    let new_digest = format!("sha256:{:x}", sha2::Sha256::digest(&replacement));
    save_atomically(&daemon.path("plugins/sentiment.wasm"), &replacement);
    daemon.wait_for("the new plugin", |r| {
        r["plugins"][0]["digest"] == new_digest.as_str()
    });
    // A new event: the first one's id is already decided and would be
    // answered from the audit log.
    let (status, after) = daemon.post(
        "/v1/complaints",
        &MILLER.replace("miller-001", "miller-002"),
    );
    assert_eq!(status, 200);
    let run = &after["plugins"][0];
    assert_eq!(run["name"], "sentiment");
    assert_eq!(run["digest"], new_digest.as_str());
    assert_ne!(old_digest, new_digest);
    // The replacement misbehaves; its manifest says on_error = "default".
    assert_eq!(run["outcome"], "defaults");
    assert!(
        run["error"].as_str().unwrap().contains("`anger` is a text"),
        "{run}"
    );
}

#[test]
fn sighup_and_the_api_reload_when_watching_is_off() {
    let daemon = Daemon::start("[reload]\nwatch = false\n[auth]\nadmin_tokens = [\"boss\"]\n")
        .with_token("boss");
    let first = daemon.ruleset_version();
    let original = std::fs::read_to_string(routing(&daemon)).unwrap();
    save_atomically(
        &routing(&daemon),
        original
            .replace("queue = \"billing\"", "queue = \"hup\"")
            .as_bytes(),
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        daemon.ruleset_version(),
        first,
        "not watching: nothing changes by itself"
    );
    daemon.signal("HUP");
    daemon.wait_for("SIGHUP", |r| {
        r["last_reload"]["trigger"] == "signal" && r["ruleset_version"] != first.as_str()
    });
    save_atomically(
        &routing(&daemon),
        original
            .replace("queue = \"billing\"", "qeue = \"x\"")
            .as_bytes(),
    );
    let (status, error) = daemon.post("/v1/reload", "");
    assert_eq!(status, 422);
    assert_eq!(error["error"]["code"], "reload_failed");
    assert!(
        error["error"]["details"]["rendered"]
            .as_str()
            .unwrap()
            .contains("unknown key `qeue`")
    );
    assert_eq!(
        daemon.post("/v1/complaints", &billing()).1["route"]["queue"],
        "hup"
    );
}

#[test]
fn simulate_tries_a_change_without_saving_it() {
    let daemon = Daemon::start("");
    let original = std::fs::read_to_string(routing(&daemon)).unwrap();
    let changed = original.replace("queue = \"billing\"", "queue = \"trial\"");
    let request = serde_json::json!({
        "event": serde_json::from_str::<serde_json::Value>(BILLING).unwrap(),
        "rules": { "10-routing.toml": changed },
    });
    let (status, answer) = daemon.post("/v1/simulate", &request.to_string());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["decisions"][0]["route"]["queue"], "trial");
    assert_ne!(answer["ruleset_version"], daemon.ruleset_version().as_str());
    assert_eq!(
        daemon.post("/v1/complaints", &billing()).1["route"]["queue"],
        "billing",
        "nothing was saved"
    );
    let broken = serde_json::json!({
        "event": serde_json::from_str::<serde_json::Value>(BILLING).unwrap(),
        "rules": { "10-routing.toml": original.replace("customer.lifetime_value >=", "customer.lifetime_valeu >=") },
    });
    let (status, error) = daemon.post("/v1/simulate", &broken.to_string());
    assert_eq!(status, 422);
    assert_eq!(error["error"]["code"], "invalid_rules");
    assert!(
        error["error"]["details"]["rendered"]
            .as_str()
            .unwrap()
            .contains("did you mean `customer.lifetime_value`?")
    );
}

/// A directory with one route and one plugin, `slow`, that spins until its
/// deadline on every event; `manifest` is its manifest.
fn with_spinning_plugin(manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/r.toml"),
        "[[route]]\nname = \"all\"\nqueue = \"care\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        std::path::Path::new(env!("REDRESS_GUESTS_DIR")).join("guest_loop.wasm"),
        dir.path().join("plugins/slow.wasm"),
    )
    .unwrap();
    std::fs::write(dir.path().join("plugins/slow.toml"), manifest).unwrap();
    dir
}

#[test]
fn overload_is_refused_with_retry_after() {
    // Spins until its 300 ms deadline on every event.
    let dir = with_spinning_plugin("[limits]\nfuel = 1_000_000_000_000\ntimeout = \"300ms\"\n");
    let daemon = Arc::new(Daemon::start_in(dir, "[limits]\nmax_in_flight = 1\n"));
    let slow = {
        let daemon = daemon.clone();
        std::thread::spawn(move || daemon.post("/v1/complaints", &billing()))
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (status, error) = daemon.post("/v1/complaints", &billing());
    assert_eq!(status, 503, "{error}");
    assert_eq!(error["error"]["code"], "overloaded");
    let metrics = daemon.metrics();
    assert!(
        metrics.contains("redress_requests_in_flight 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("redress_overloaded_total 1\n"),
        "{metrics}"
    );
    let (status, decision) = slow.join().unwrap();
    assert_eq!(status, 200);
    assert_eq!(decision["plugins"][0]["error"], "timed out after 300ms");
}

/// An inline plugin's call that times out (or uses over 10,000,000 fuel)
/// moves that plugin's calls off the async workers: with more slow
/// complaints being decided at once than the machine has cores, the daemon
/// still answers everything else.
#[test]
fn an_inline_plugin_that_turns_slow_runs_off_the_async_workers() {
    // Declared inline, but spins until its deadline on every event; never
    // quarantined here.
    let dir = with_spinning_plugin(
        "inline = true\n[limits]\nfuel = 1_000_000_000_000\ntimeout = \"1s\"\nquarantine_after = 1000\n",
    );
    let daemon = Arc::new(Daemon::start_in(dir, ""));
    let metrics = daemon.metrics();
    // A newly loaded plugin runs off the workers for its first calls,
    // `inline` or not.
    assert!(
        metrics.contains("redress_plugin_off_worker{plugin=\"slow\"} 1\n"),
        "{metrics}"
    );

    // The first slow call marks the plugin.
    let (status, decision) = daemon.post("/v1/complaints", &billing());
    assert_eq!(status, 200, "{decision}");
    assert_eq!(decision["plugins"][0]["error"], "timed out after 1s");
    let metrics = daemon.metrics();
    assert!(
        metrics.contains("redress_plugin_off_worker{plugin=\"slow\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("redress_plugin_slow_calls_total{plugin=\"slow\"} 1\n"),
        "{metrics}"
    );

    // More slow complaints at once than there are async workers.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let slow_requests = cores + 2;
    let posts: Vec<_> = (0..slow_requests)
        .map(|_| {
            let daemon = daemon.clone();
            std::thread::spawn(move || daemon.post("/v1/complaints", &billing()))
        })
        .collect();
    let in_flight = format!("redress_requests_in_flight {slow_requests}\n");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !daemon.metrics().contains(&in_flight) {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow requests never were all in flight: {}",
            daemon.metrics()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Answered while every slow request is still being worked on.
    let (status, _) = daemon.get("/healthz");
    assert_eq!(status, 200);
    let metrics = daemon.metrics();
    assert!(metrics.contains(&in_flight), "{metrics}");
    for post in posts {
        let (status, decision) = post.join().unwrap();
        assert_eq!(status, 200, "{decision}");
        assert_eq!(decision["plugins"][0]["error"], "timed out after 1s");
    }
    let metrics = daemon.metrics();
    assert!(
        metrics.contains(&format!(
            "redress_plugin_slow_calls_total{{plugin=\"slow\"}} {}\n",
            slow_requests + 1
        )),
        "{metrics}"
    );
}

/// `inline` vouches for a component, but a component replaced on disk has
/// not shown yet that it is fast: a newly loaded plugin runs off the async
/// workers for its first 100 calls.
#[test]
fn an_inline_plugin_runs_on_the_async_workers_only_after_its_first_calls() {
    let daemon = Daemon::start("");
    assert!(
        daemon
            .metrics()
            .contains("redress_plugin_off_worker{plugin=\"sentiment\"} 1\n")
    );
    let batch: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"id": "p-{i}", "text": "late again"}}"#))
        .collect();
    let (status, _) = daemon.post("/v1/complaints", &format!("[{}]", batch.join(",")));
    assert_eq!(status, 200);
    let metrics = daemon.metrics();
    for plugin in ["sentiment", "classify", "goodwill"] {
        assert!(
            metrics.contains(&format!(
                "redress_plugin_off_worker{{plugin=\"{plugin}\"}} 0\n"
            )),
            "{metrics}"
        );
    }
}

#[test]
fn sigterm_stops_the_daemon_cleanly() {
    let mut daemon = Daemon::start("");
    assert_eq!(daemon.post("/v1/complaints", MILLER).0, 200);
    daemon.signal("TERM");
    let status = daemon.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// The bar: under a steady stream of requests, 100 edits alternating
/// between good and broken produce no failed request, and every response
/// names a version that was valid (a good edit, or the starting rules).
#[test]
fn alternating_good_and_broken_edits_under_load_lose_nothing() {
    let daemon = Arc::new(Daemon::start(""));
    let file = routing(&daemon);
    let original = std::fs::read_to_string(&file).unwrap();
    let mut valid: BTreeSet<String> = BTreeSet::new();
    valid.insert(daemon.ruleset_version());

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let seen: Arc<std::sync::Mutex<BTreeSet<String>>> = Arc::default();
    let failures: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (daemon, stop, sent, seen, failures) = (
                daemon.clone(),
                stop.clone(),
                sent.clone(),
                seen.clone(),
                failures.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (status, decision) = daemon.post("/v1/complaints?trace=none", &billing());
                    sent.fetch_add(1, Ordering::Relaxed);
                    if status == 200 {
                        seen.lock().unwrap().insert(
                            decision["ruleset_version"]
                                .as_str()
                                .unwrap_or("?")
                                .to_string(),
                        );
                    } else {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{status}: {decision}"));
                    }
                }
            })
        })
        .collect();

    for edit in 0..100 {
        if edit % 2 == 0 {
            let text = original.replace(
                "queue = \"billing\"",
                &format!("queue = \"billing-{edit}\""),
            );
            let version = expected_version(&daemon, "10-routing.toml", &text);
            valid.insert(version.clone());
            save_atomically(&file, text.as_bytes());
            daemon.wait_for("a good edit", |r| r["ruleset_version"] == version.as_str());
        } else {
            let text = original.replace("queue = \"billing\"", &format!("queue = billing-{edit}"));
            save_atomically(&file, text.as_bytes());
            daemon.wait_for("a broken edit", |r| r["last_reload"]["outcome"] == "failed");
        }
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {:?}",
        failures.len(),
        sent.load(Ordering::Relaxed),
        &failures[..failures.len().min(5)]
    );
    let seen = seen.lock().unwrap();
    let invalid: Vec<&String> = seen.iter().filter(|v| !valid.contains(*v)).collect();
    assert!(
        invalid.is_empty(),
        "responses named versions never valid: {invalid:?}"
    );
    assert!(sent.load(Ordering::Relaxed) > 100, "the load kept running");
    assert!(
        seen.len() > 10,
        "responses came from many versions: {}",
        seen.len()
    );
}

/// The rule-set version the daemon will report once `name` holds `text`.
fn expected_version(daemon: &Daemon, name: &str, text: &str) -> String {
    let mut files = redress::rules::read_rule_files(&daemon.path("rules")).unwrap();
    for file in &mut files {
        if file.name() == std::path::Path::new(name) {
            file.text = text.to_string();
        }
    }
    redress::rules::version_of(&files)
}

#[test]
fn metrics_parse_as_the_prometheus_text_format_with_every_family() {
    let daemon = Daemon::start("");
    let (status, _) = daemon.post("/v1/complaints", &billing());
    assert_eq!(status, 200);
    let text = daemon.metrics();
    let lines = text.lines().map(|line| Ok(line.to_string()));
    let parsed = prometheus_parse::Scrape::parse(lines).unwrap();
    let names: BTreeSet<&str> = parsed.samples.iter().map(|s| s.metric.as_str()).collect();
    // Families with samples on a daemon that decided one complaint; those
    // that count events not seen yet (timers fired, control lines
    // crossed, plugin failures) are left out until they have one.
    for name in [
        "redress_decisions_total",
        "redress_decision_seconds",
        "redress_overloaded_total",
        "redress_requests_in_flight",
        "redress_ruleset_info",
        "redress_reloads_total",
        "redress_reload_last_failed",
        "redress_reload_held",
        "redress_reload_removals_total",
        "redress_plugin_calls_total",
        "redress_plugin_fuel_total",
        "redress_plugin_quarantined",
        "redress_plugin_instances_created_total",
        "redress_plugin_slow_calls_total",
        "redress_plugin_off_worker",
        "redress_store_batch_seconds",
        "redress_store_batched_requests_total",
        "redress_store_info",
        "redress_store_cases_indexed",
        "redress_store_timers_queued",
        "redress_store_audit_file_bytes",
        "redress_store_audit_file_lost",
        "redress_store_failing",
        "redress_connections_open",
        "redress_connections_accepted_total",
        "redress_connections_evicted_total",
        "redress_connections_timed_out_total",
        "redress_connections_refused_total",
        "redress_connection_accept_errors_total",
    ] {
        assert!(names.contains(name), "{name} missing from:\n{text}");
    }
    assert!(
        text.contains("redress_decisions_total{queue=\"billing\",outcome=\"decided\"} 1\n"),
        "{text}"
    );
    let documented = std::fs::read_to_string(repo().join("docs/daemon.md")).unwrap();
    for name in &names {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        assert!(
            documented.contains(family),
            "`{name}` is served but not documented in docs/daemon.md"
        );
    }
}
