//! Every decision can be decided again exactly (`redress replay`), a rule
//! change can be judged on the logged complaints before it goes live
//! (`redress diff`, `POST /v1/diff`), and the reload gate holds a change
//! that would alter too much. The histories are made here, through a real
//! daemon.

use std::sync::Arc;

use crate::support::*;

/// Posts `events` (JSON objects) in batches of 1,000; every one must be
/// decided.
fn post_all(daemon: &Daemon, events: &[String]) {
    for batch in events.chunks(1000) {
        let (status, answer) = daemon.post("/v1/complaints", &format!("[{}]", batch.join(",")));
        assert_eq!(status, 200, "{answer}");
        for decision in answer["decisions"].as_array().unwrap() {
            assert!(decision.get("error").is_none(), "{decision}");
        }
    }
}

/// Replaces `from` by `to` in the daemon's rule file `file` (it must be
/// there), saved as editors do, and waits for the daemon to serve it.
fn edit_rules(daemon: &Daemon, file: &str, from: &str, to: &str) {
    let path = daemon.path(&format!("rules/{file}"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    let before = daemon.ruleset_version();
    save_atomically(&path, text.replace(from, to).as_bytes());
    daemon.wait_for("the edit to serve", |r| {
        r["ruleset_version"] != before.as_str() && r["last_reload"]["outcome"] == "loaded"
    });
}

fn replay(daemon: &Daemon, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["replay", "--data", "data"];
    args.extend_from_slice(extra);
    redress_in(daemon.dir.path(), &args)
}

/// A mixed history: customers with histories, control lines that cross,
/// authority budgets used, under three successive rule sets.
fn three_rule_sets() -> Daemon {
    let daemon = Daemon::start("[reload]\ndebounce = \"20ms\"\n");
    let event = |i: usize| {
        let (category, text) = match i % 4 {
            0 => ("product_quality", "The kettle broke after a day"),
            1 => ("price_billing", "I was charged twice"),
            2 => ("staff_attitude", "The cashier was very rude!"),
            _ => ("after_sales", "Nobody came to repair it"),
        };
        format!(
            r#"{{"id": "h-{i}", "text": "{text}", "category": "{category}", "product_line": "kettles", "location": "branch-{}", "amount": {}, "customer": {{"id": "c-{}", "deposits": {}, "tenure_days": {}}}}}"#,
            i % 3,
            10 + i % 40,
            i % 7,
            if i.is_multiple_of(5) { 250_000 } else { 1_000 },
            i * 13 % 2_500
        )
    };
    let first: Vec<String> = (0..120).map(event).collect();
    post_all(&daemon, &first);
    // Budgets in use: parking stamps and price differences spent.
    for i in (0..120).step_by(5) {
        let (status, answer) = daemon.post(
            &format!("/v1/complaints/h-{i}/events"),
            r#"{"type": "authority_used", "policy": "parking-validation", "cost": 5}"#,
        );
        assert_eq!(status, 200, "{answer}");
    }
    edit_rules(
        &daemon,
        "10-routing.toml",
        "queue = \"billing\"",
        "queue = \"billing-desk\"",
    );
    let second: Vec<String> = (120..240).map(event).collect();
    post_all(&daemon, &second);
    edit_rules(
        &daemon,
        "50-compensation.toml",
        "{ kind = \"coupon\", value = 10 }",
        "{ kind = \"coupon\", value = 25 }",
    );
    let third: Vec<String> = (240..360).map(event).collect();
    post_all(&daemon, &third);
    daemon
}

#[test]
fn a_history_under_three_rule_sets_replays_identically() {
    let daemon = three_rule_sets();
    let output = replay(&daemon, &[]);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).starts_with("360 identical, 0 different"),
        "{}",
        stdout(&output)
    );
    // The recorded plugins, run again on the recorded events, say the same.
    let output = replay(&daemon, &["--rerun-plugins"]);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("plugins run again: 0 with other outputs"),
        "{}",
        stdout(&output)
    );
    // And the history really had state in play.
    let lines = std::fs::read_to_string(daemon.path("data/decisions.jsonl")).unwrap();
    assert!(
        lines.contains("\"status\":\"crossed\""),
        "a control line crossed"
    );
    assert!(
        lines.contains("\"budgets\":[[\"parking-stamp\""),
        "budgets were read"
    );
    assert!(lines.contains("\"complaints_30d\":"), "histories were read");
}

#[test]
fn a_tampered_line_is_reported_as_different() {
    let daemon = Daemon::start("");
    let mut events: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#"{{"id": "t-{i}", "text": "I was charged twice", "category": "price_billing"}}"#
            )
        })
        .collect();
    // An attribute that looks like the line's own markers is read right.
    events.push(
        r#"{"id": "t-attrs", "attrs": {"nested": {"a": 1, "decision": {"event_id": "x"}}}}"#
            .to_string(),
    );
    post_all(&daemon, &events);
    let path = daemon.path("data/decisions.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("\"t-7\""))
        .unwrap()
        .to_string();
    // Same length, so every other line stays where the database says.
    let edited = line.replacen("\"queue\":\"billing\"", "\"queue\":\"BILLING\"", 1);
    assert_ne!(edited, line);
    std::fs::write(&path, text.replace(&line, &edited)).unwrap();
    let output = replay(&daemon, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.starts_with("20 identical, 1 different"), "{text}");
    assert!(
        text.contains("different: `t-7`")
            && text.contains("route.queue: recorded \"BILLING\", replayed \"billing\""),
        "{text}"
    );
}

/// The bar: a one-line change (the billing queue renamed) and a raised
/// coupon over 10,000 logged complaints; the diff knows the answer.
#[test]
fn diff_reports_exactly_what_a_known_edit_changes() {
    let daemon = Daemon::start("[limits]\nrequest_timeout = \"60s\"\n");
    let mut events = Vec::new();
    for i in 0..10_000 {
        events.push(match i % 10 {
            0..=3 => format!(r#"{{"id": "d-{i}", "text": "charged twice", "category": "price_billing", "location": "l-{}"}}"#, i % 9),
            4..=6 => format!(r#"{{"id": "d-{i}", "text": "rude", "category": "staff_attitude", "location": "l-{}", "customer": {{"lifetime_value": 1000}}}}"#, i % 9),
            _ => format!(r#"{{"id": "d-{i}", "text": "late", "category": "after_sales", "location": "l-{}"}}"#, i % 9),
        });
    }
    post_all(&daemon, &events);
    let candidate = daemon.path("candidate");
    copy_dir(&daemon.path("rules"), &candidate);
    for (file, from, to) in [
        (
            "10-routing.toml",
            "queue = \"billing\"",
            "queue = \"billing-desk\"",
        ),
        (
            "50-compensation.toml",
            "{ kind = \"coupon\", value = 10 }",
            "{ kind = \"coupon\", value = 25 }",
        ),
    ] {
        let path = candidate.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }
    let output = redress_in(
        daemon.dir.path(),
        &["diff", "candidate", "--data", "data", "--json"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["logged"], 10_000);
    assert_eq!(report["replayed"], 10_000);
    assert_eq!(report["not_replayable_count"], 0);
    assert_eq!(report["changed"], 4_000 + 3_000, "{report:#}");
    let routes = report["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 1, "{routes:#?}");
    assert_eq!(routes[0]["from"], "billing");
    assert_eq!(routes[0]["to"], "billing-desk");
    assert_eq!(routes[0]["count"], 4_000);
    // Each attitude complaint's coupon goes from 10 to 25: the ordinary
    // customers' ceiling is 5% of a lifetime value of 1,000, so no cap
    // binds.
    let coupon = report["compensation"]["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["what"] == "coupon")
        .unwrap()
        .clone();
    let increase = coupon["after"].as_f64().unwrap() - coupon["before"].as_f64().unwrap();
    assert!((increase - 3_000.0 * 15.0).abs() < 0.01, "{coupon}");
    let total = &report["compensation"]["totals"][0];
    let total_increase = total["after"].as_f64().unwrap() - total["before"].as_f64().unwrap();
    assert!((total_increase - 45_000.0).abs() < 0.01, "{total}");
    assert_eq!(
        report["compensation"]["largest_increases"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    // The text form, and one complaint side by side.
    let text = redress_in(daemon.dir.path(), &["diff", "candidate", "--data", "data"]);
    assert!(
        stdout(&text).contains("billing -> billing-desk: 4000"),
        "{}",
        stdout(&text)
    );
    let one = redress_in(
        daemon.dir.path(),
        &["diff", "candidate", "--data", "data", "--event", "d-1"],
    );
    assert!(one.status.success(), "{}", stderr(&one));
    let text = stdout(&one);
    assert!(
        text.contains("queue `billing`") && text.contains("queue `billing-desk`"),
        "{text}"
    );
    // A candidate that reads what was not recorded: counted and named.
    let path = candidate.join("40-control-lines.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("window = \"30d\"\nlimit = 3", "window = \"7d\"\nlimit = 3"),
    )
    .unwrap();
    let output = redress_in(
        daemon.dir.path(),
        &["diff", "candidate", "--data", "data", "--json"],
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        report["not_replayable_count"], 3_000,
        "{}",
        report["not_replayable"][0]
    );
    assert!(
        report["not_replayable"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("the count of control line `attitude-by-location`"),
        "{}",
        report["not_replayable"][0]
    );
}

#[test]
fn a_gated_reload_is_held_until_accepted() {
    let daemon = Arc::new(Daemon::start(
        "[reload]\ndebounce = \"20ms\"\n[reload.gate]\nreplay = 500\nmax_route_changes = 10\n[auth]\ntokens = [\"user\"]\nadmin_tokens = [\"admin\"]\n",
    ).with_token("admin"));
    post_all(
        &daemon,
        &(0..50)
            .map(|i| {
                format!(
                    r#"{{"id": "g-{i}", "text": "charged twice", "category": "price_billing"}}"#
                )
            })
            .collect::<Vec<_>>(),
    );
    let serving = daemon.ruleset_version();
    let path = daemon.path("rules/10-routing.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    save_atomically(
        &path,
        text.replace("queue = \"billing\"", "queue = \"billing-desk\"")
            .as_bytes(),
    );
    let ruleset = daemon.wait_for("the gate to hold", |r| {
        r["last_reload"]["outcome"] == "held"
    });
    assert_eq!(
        ruleset["ruleset_version"],
        serving.as_str(),
        "the old rules keep serving"
    );
    let held = ruleset["held"]["version"].as_str().unwrap().to_string();
    assert!(
        ruleset["held"]["exceeded"][0]
            .as_str()
            .unwrap()
            .contains("50 complaints would go to another queue, over max_route_changes = 10"),
        "{ruleset:#}"
    );
    assert_eq!(ruleset["held"]["diff"]["routes"][0]["count"], 50);
    let (_, decision) = daemon.post(
        "/v1/complaints",
        r#"{"id": "g-x", "category": "price_billing"}"#,
    );
    assert_eq!(decision["route"]["queue"], "billing");
    assert!(
        daemon
            .metrics()
            .contains("redress_reloads_total{outcome=\"held\"} 1\n")
    );
    assert!(daemon.metrics().contains("redress_reload_held 1\n"));
    // A user token may not accept; another version is not accepted.
    let (status, _) = daemon.request(
        "POST",
        "/v1/reload",
        Some(&format!(r#"{{"accept": "{held}"}}"#)),
        Some("user"),
    );
    assert_eq!(status, 403);
    let (status, answer) = daemon.post("/v1/reload", r#"{"accept": "0000000000000000"}"#);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "not_held");
    let (status, answer) = daemon.post("/v1/reload", &format!(r#"{{"accept": "{held}"}}"#));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "loaded");
    let (_, decision) = daemon.post(
        "/v1/complaints",
        r#"{"id": "g-y", "category": "price_billing"}"#,
    );
    assert_eq!(decision["route"]["queue"], "billing-desk");
    assert!(daemon.metrics().contains("redress_reload_held 0\n"));
    // The same change asked of POST /v1/diff, without saving anything.
    let (status, report) = daemon.post(
        "/v1/diff",
        &serde_json::json!({"rules": {"10-routing.toml": text}}).to_string(),
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["routes"][0]["from"], "billing-desk");
    assert_eq!(report["routes"][0]["to"], "billing");
    let (status, _) = daemon.request("POST", "/v1/diff", Some("{}"), Some("user"));
    assert_eq!(status, 403, "admin only");
}
