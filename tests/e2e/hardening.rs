//! The daemon under hostile clients and careless saves: no file read
//! through the API, no rule set half-saved into production, no plugin
//! quarantined from outside, bounded connections, every bound answering as
//! documented, and a lost audit file noticed and repaired.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::*;

/// A directory with one rule, a fallback route, and no plugins.
fn one_route() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/r.toml"),
        "[[route]]\nname = \"all\"\nqueue = \"care\"\n",
    )
    .unwrap();
    dir
}

/// The daemon's `host:port`.
fn address(daemon: &Daemon) -> String {
    daemon.base.trim_start_matches("http://").to_string()
}

/// Sends `request` as is and reads the answer until the daemon closes the
/// connection or `wait` passes.
fn raw(daemon: &Daemon, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(address(daemon)).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                answer.extend_from_slice(&buffer[..n]);
                if complete(&answer) {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Whether `answer` holds a whole response (head and its content-length).
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_string)
        })
        .and_then(|n| n.trim().parse::<usize>().ok())
        .is_some_and(|n| body.len() >= n)
}

/// The JSON body of a raw answer.
fn body(answer: &str) -> serde_json::Value {
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {answer:?}"))
}

#[test]
fn simulate_reads_no_file_outside_the_serving_rules() {
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(
        secret.path().join("redress.toml"),
        "[auth]\nadmin_tokens = [\"the-other-daemons-admin-token\"]\n",
    )
    .unwrap();
    let daemon = Daemon::start("[auth]\ntokens = [\"user\"]\nadmin_tokens = [\"admin\"]\n")
        .with_token("user");
    let (status, answer) = daemon.post(
        "/v1/simulate",
        &serde_json::json!({
            "event": {"id": "s-1"},
            "rules_dir": secret.path(),
        })
        .to_string(),
    );
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_request");
    assert!(!answer.to_string().contains("the-other-daemons-admin-token"));
    for name in ["../redress.toml", "/etc/passwd.toml", "a/b.toml"] {
        let (status, answer) = daemon.post(
            "/v1/simulate",
            &serde_json::json!({"event": {"id": "s-2"}, "rules": {name: "x = 1"}}).to_string(),
        );
        assert_eq!(status, 400, "{name}: {answer}");
    }
    // A changed file is tried against the serving rule set's own texts.
    let (status, answer) = daemon.post(
        "/v1/simulate",
        &serde_json::json!({
            "event": {"id": "s-3", "text": "The cashier was very rude!"},
            "rules": {"99-extra.toml": "[[escalate]]\nname = \"everyone\"\nto = \"supervisor\"\n"},
        })
        .to_string(),
    );
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["decisions"][0]["escalations"]
            .to_string()
            .contains("everyone"),
        "{answer}"
    );
}

/// The bar: under load, a compensation file truncated and then written
/// (100 ms apart), or deleted and restored (200 ms apart), is never served
/// without its rules: every complaint keeps its apology.
#[test]
fn a_rule_file_caught_mid_save_never_goes_live() {
    let daemon = Arc::new(Daemon::start("[reload]\ndebounce = \"20ms\"\n"));
    let compensation = daemon.path("rules/50-compensation.toml");
    let text = std::fs::read(&compensation).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let decided = Arc::new(AtomicUsize::new(0));
    let load = {
        let (daemon, stop, decided) = (daemon.clone(), stop.clone(), decided.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let (status, decision) = daemon.post(
                    "/v1/simulate",
                    &format!(
                        r#"{{"event": {{"id": "m-{i}", "text": "late again"}}, "trace": "none"}}"#
                    ),
                );
                assert_eq!(status, 200, "{decision}");
                let offers = decision["decisions"][0]["offers"].to_string();
                assert!(
                    offers.contains("\"apology\""),
                    "a rule set without 50-compensation.toml served: {decision}"
                );
                decided.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    for round in 0..5 {
        // Truncate, then write, 100 ms apart.
        std::fs::write(&compensation, b"").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        std::fs::write(&compensation, &text).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        // Delete, then restore, 200 ms apart.
        std::fs::remove_file(&compensation).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        std::fs::write(&compensation, &text).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        assert!(!load.is_finished(), "round {round}");
    }
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    assert!(decided.load(Ordering::Relaxed) > 0);
    let metrics = daemon.metrics();
    assert!(
        metrics.contains("redress_reload_removals_total{what=\"file\"} 0\n"),
        "{metrics}"
    );
    // A deletion that is meant goes live after the wait, said loudly.
    std::fs::remove_file(&compensation).unwrap();
    let ruleset = daemon.wait_for("the deletion", |r| {
        !r["last_reload"]["removed"]["files"].is_null()
    });
    let removed = &ruleset["last_reload"]["removed"];
    assert_eq!(
        removed["files"][0]["file"], "50-compensation.toml",
        "{ruleset:#}"
    );
    assert!(
        removed["files"][0]["rules"]
            .to_string()
            .contains("compensate apologise"),
        "{ruleset:#}"
    );
    assert_eq!(removed["kinds"][0], "compensate");
    let metrics = daemon.metrics();
    assert!(
        metrics.contains("redress_reload_removals_total{what=\"file\"} 1\n"),
        "{metrics}"
    );
}

#[test]
fn long_complaints_cannot_quarantine_the_plugins() {
    let daemon = Daemon::start("");
    let text = "The kettle I bought is broken and I am angry. ".repeat(21_000);
    assert!(text.len() > 960_000);
    for i in 0..6 {
        let event = serde_json::json!({"id": format!("long-{i}"), "text": text}).to_string();
        assert!(event.len() < 1 << 20, "under the body limit");
        let (status, decision) = daemon.post("/v1/complaints?trace=none", &event);
        assert_eq!(status, 200, "{decision}");
        for run in decision["plugins"].as_array().unwrap() {
            assert_eq!(run["outcome"], "ok", "{run}");
        }
        assert_eq!(decision["category"], "product_quality", "{decision}");
    }
    let metrics = daemon.metrics();
    assert!(
        metrics.contains("redress_plugin_quarantined{plugin=\"sentiment\"} 0\n"),
        "{metrics}"
    );
}

#[test]
fn bounds_answer_as_documented_with_json() {
    let daemon = Daemon::start(
        "[limits]\nbody_timeout = \"1s\"\nbatch = 100000\nbody = \"32MiB\"\nrequest_timeout = \"1s\"\n",
    );
    // A body declared over the limit is refused at once, however slowly
    // the rest would come.
    let answer = raw(
        &daemon,
        b"POST /v1/complaints HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n{",
        Duration::from_secs(30),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(body(&answer)["error"]["code"], "payload_too_large");
    // A body that does not arrive: 408.
    let answer = raw(
        &daemon,
        b"POST /v1/complaints HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
        Duration::from_secs(30),
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(body(&answer)["error"]["code"], "body_timeout");
    // What hyper refuses by itself has a JSON body too.
    let headers: String = (0..150).map(|i| format!("X-Header-{i}: y\r\n")).collect();
    let answer = raw(
        &daemon,
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n").as_bytes(),
        Duration::from_secs(30),
    );
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert_eq!(body(&answer)["error"]["code"], "headers_too_large");
    let answer = raw(&daemon, b"NOT HTTP AT ALL\r\n\r\n", Duration::from_secs(30));
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(body(&answer)["error"]["code"], "malformed_request");
    let answer = raw(
        &daemon,
        b"GET /v1/cases/%FF HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(30),
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(body(&answer)["error"]["code"], "invalid_request");
    // An event must be an object, and so must its customer.
    let (status, answer) = daemon.post("/v1/complaints", r#"{"id": "c-1", "customer": []}"#);
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["details"]["field"], "customer");
    // A batch that cannot be decided within request_timeout is answered
    // when the time is up, not when it is done.
    let batch: Vec<String> = (0..100_000)
        .map(|i| format!(r#"{{"id": "b-{i}", "text": "late"}}"#))
        .collect();
    let started = Instant::now();
    let (status, answer) = daemon.post("/v1/complaints", &format!("[{}]", batch.join(",")));
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"]["code"], "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the answer waited for the batch"
    );
}

/// The bar: a daemon limited to 1,024 open files, under 2,000 connections
/// that send a header byte now and then, still answers real requests.
#[test]
fn slow_connections_cannot_starve_real_requests() {
    let daemon = Arc::new(Daemon::launch(
        one_route(),
        "plugins = \"\"\n[limits]\nheader_timeout = \"2s\"\nidle_timeout = \"3s\"\n",
        Launch {
            open_files: Some(1024),
            ..Launch::default()
        },
    ));
    raise_own_open_files();
    let stop = Arc::new(AtomicBool::new(false));
    let slow = {
        let (daemon, stop) = (daemon.clone(), stop.clone());
        std::thread::spawn(move || {
            let address = address(&daemon);
            let mut sockets: Vec<Option<TcpStream>> = (0..2000).map(|_| None).collect();
            while !stop.load(Ordering::Relaxed) {
                for socket in sockets.iter_mut() {
                    let alive = match socket {
                        Some(stream) => stream.write_all(b"X").is_ok(),
                        None => false,
                    };
                    if !alive {
                        *socket = TcpStream::connect(&address).ok().and_then(|mut s| {
                            s.set_nonblocking(true).ok()?;
                            s.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ").ok()?;
                            Some(s)
                        });
                    }
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    for i in 0..20 {
        let (status, answer) = daemon.post(
            "/v1/complaints",
            &format!(r#"{{"id": "real-{i}", "text": "late"}}"#),
        );
        assert_eq!(status, 200, "{answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    slow.join().unwrap();
    let metrics = daemon.metrics();
    let evicted_or_timed_out = [
        "redress_connections_evicted_total",
        "redress_connections_timed_out_total",
    ]
    .iter()
    .map(|name| counter(&metrics, name))
    .sum::<u64>();
    assert!(evicted_or_timed_out > 0, "{metrics}");
}

/// A counter's value in Prometheus text.
fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

/// Raises this test process's soft limit on open files to its hard limit,
/// for the slow connections it opens.
fn raise_own_open_files() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `limit`.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    assert!(
        limit.rlim_cur >= 4096,
        "this test needs 4,096 open files: {}",
        limit.rlim_cur
    );
}

#[test]
fn a_lost_audit_file_stops_acknowledgements_and_is_repaired() {
    let mut daemon = Daemon::start("");
    for i in 0..3 {
        let (status, _) = daemon.post("/v1/complaints", &format!(r#"{{"id": "kept-{i}"}}"#));
        assert_eq!(status, 200);
    }
    std::fs::remove_file(daemon.path("data/decisions.jsonl")).unwrap();
    let (status, answer) = daemon.post("/v1/complaints", r#"{"id": "after-loss"}"#);
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was lost while the daemon was running (it was deleted)"),
        "{answer}"
    );
    let (status, ready) = daemon.get("/readyz");
    assert_eq!(status, 503, "{ready}");
    assert!(
        daemon
            .metrics()
            .contains("redress_store_audit_file_lost 1\n")
    );
    daemon.signal("TERM");
    assert!(daemon.child.wait().unwrap().success());
    // It does not start on the damaged directory, and says what to do.
    let refused = redress_in(daemon.dir.path(), &["serve", "--config", "redress.toml"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("redress store repair"),
        "{}",
        stderr(&refused)
    );
    let repaired = redress_in(daemon.dir.path(), &["store", "repair", "--data", "data"]);
    assert!(repaired.status.success(), "{}", stderr(&repaired));
    let text = stdout(&repaired);
    assert!(text.contains("checked 3 entries"), "{text}");
    assert!(text.contains("0 intact, 3 lost"), "{text}");
    assert!(
        text.contains("lost: entry 1 (complaint `kept-0`)"),
        "{text}"
    );
    // One JSON value per line, as documented.
    let file = std::fs::read_to_string(daemon.path("data/decisions.jsonl")).unwrap();
    assert_eq!(file.lines().count(), 3);
    for line in file.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["lost"], true);
    }
    daemon.crash_and_restart();
    let (status, answer) = daemon.post("/v1/complaints", r#"{"id": "kept-1"}"#);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "decision_lost");
    let (status, _) = daemon.post("/v1/complaints", r#"{"id": "new-one"}"#);
    assert_eq!(status, 200);
    let (status, page) = daemon.get("/v1/decisions");
    assert_eq!(status, 200);
    assert_eq!(page["decisions"].as_array().unwrap().len(), 4, "{page}");
}

/// Unmounts a tmpfs when dropped.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_makes_the_daemon_unready_and_says_so() {
    let dir = one_route();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&data)
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!(
            "skipped a_full_disk_makes_the_daemon_unready_and_says_so: mounting a small tmpfs needs root"
        );
        return;
    }
    let _mounted = Mounted(data.clone());
    let daemon = Daemon::start_in(dir, "plugins = \"\"\n");
    let big = "x".repeat(60_000);
    let mut full = None;
    for i in 0..200 {
        let (status, answer) = daemon.post(
            "/v1/complaints?trace=full",
            &format!(r#"{{"id": "f-{i}", "text": "{big}"}}"#),
        );
        if status != 200 {
            full = Some(answer);
            break;
        }
    }
    let answer = full.expect("the 2 MiB disk never filled");
    assert_eq!(answer["error"]["code"], "store_unavailable", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("disk is full") || message.contains("No space left on device"),
        "{message}"
    );
    let (status, ready) = daemon.get("/readyz");
    assert_eq!(status, 503, "{ready}");
    assert!(daemon.metrics().contains("redress_store_failing 1\n"));
}

#[test]
fn a_read_only_data_directory_is_named_and_can_still_be_read() {
    let mut daemon = Daemon::start_in(one_route(), "plugins = \"\"\n");
    let (status, _) = daemon.post("/v1/complaints", r#"{"id": "ro-1"}"#);
    assert_eq!(status, 200);
    daemon.signal("TERM");
    assert!(daemon.child.wait().unwrap().success());
    let read_only = daemon.dir.path().join("read-only");
    std::fs::create_dir_all(&read_only).unwrap();
    let bound = std::process::Command::new("mount")
        .arg("--bind")
        .arg(daemon.path("data"))
        .arg(&read_only)
        .output();
    if !bound.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!(
            "skipped a_read_only_data_directory_is_named_and_can_still_be_read: a read-only bind mount needs root"
        );
        return;
    }
    let _mounted = Mounted(read_only.clone());
    let remounted = std::process::Command::new("mount")
        .args(["-o", "remount,ro,bind"])
        .arg(&read_only)
        .status()
        .unwrap();
    assert!(remounted.success());
    let serve = redress_in(
        daemon.dir.path(),
        &["serve", "--config", "redress.toml", "--data", "read-only"],
    );
    assert_eq!(serve.status.code(), Some(1));
    assert!(
        stderr(&serve).contains("the data directory is on a read-only file system"),
        "{}",
        stderr(&serve)
    );
    let audit = redress_in(daemon.dir.path(), &["audit", "--data", "read-only"]);
    assert!(audit.status.success(), "{}", stderr(&audit));
    assert!(stdout(&audit).contains("ro-1"), "{}", stdout(&audit));
}
