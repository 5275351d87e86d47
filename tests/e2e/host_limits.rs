//! A plugin cannot make the host itself spend unbounded memory or time,
//! nor make the loader hang: each hostile guest (built from source in
//! `tests/guests/`) or special file below is contained. The event is still
//! decided as `on_error` says, the error names the plugin and the cause,
//! the next event is fine, and the daemon stays up with its memory back
//! where it was.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use redress::plugin::{PluginRuntime, RuntimeOptions, load_plugins};

use crate::support::*;

fn guest(name: &str) -> PathBuf {
    Path::new(env!("REDRESS_GUESTS_DIR")).join(format!("{name}.wasm"))
}

fn runtime() -> Arc<PluginRuntime> {
    PluginRuntime::new(&RuntimeOptions {
        cache_dir: None,
        max_instances: 64,
    })
    .unwrap()
}

fn plugin_dir(name: &str, wasm: &Path, manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(wasm, dir.path().join(format!("{name}.wasm"))).unwrap();
    std::fs::write(dir.path().join(format!("{name}.toml")), manifest).unwrap();
    dir
}

fn complaint(id: &str) -> redress::plugin::bindings::Complaint {
    let event = redress::event::ComplaintEvent::from_json(
        format!(r#"{{"id": "{id}", "received_at": "2026-11-20T10:00:00Z", "text": "hello"}}"#)
            .as_bytes(),
    )
    .unwrap();
    redress::plugin::complaint(&event)
}

/// Calls the only plugin of `dir` twice; returns each call's error (empty
/// for none) and fuel used.
fn call_twice(dir: &Path) -> Vec<(String, u64)> {
    let load = load_plugins(dir, &runtime(), None);
    let set = load.set.unwrap();
    assert_eq!(set.plugins().len(), 1, "{:#?}", load.diagnostics);
    let plugin = set.plugins()[0].clone();
    ["first", "second"]
        .iter()
        .map(|id| {
            let (result, report) = plugin.call(&complaint(id));
            (
                result.err().map(|e| e.to_string()).unwrap_or_default(),
                report.fuel_used,
            )
        })
        .collect()
}

const FLOOD_OUTPUTS: &str = "[outputs]\ndone = { type = \"flag\" }\n";

/// These tests bound memory, fuel and copies, not time: the flooding guest
/// builds megabytes of text, which under a loaded CI machine can take more
/// than the default 100 ms timeout.
const NO_TIME_LIMIT: &str = "[limits]\ntimeout = \"30s\"\n";

#[test]
fn a_log_message_over_the_transfer_limit_fails_the_call_uncopied() {
    // 32 messages of 10 MB each, from a plugin capped at 16 MiB.
    let dir = plugin_dir(
        "flood",
        &guest("guest_log_flood"),
        &format!("{FLOOD_OUTPUTS}{NO_TIME_LIMIT}"),
    );
    for (error, _) in call_twice(dir.path()) {
        assert_eq!(
            error,
            "plugin `flood` sent more than its transfer limit of 1MiB to the host in one go (limits.transfer)"
        );
    }
}

#[test]
fn host_work_is_charged_to_the_calls_fuel() {
    // Under the transfer limit, but ten thousand lines of a megabyte: the
    // host's reading of them runs the call out of fuel long before.
    let dir = plugin_dir(
        "flood",
        &guest("guest_log_flood"),
        &format!("{FLOOD_OUTPUTS}{NO_TIME_LIMIT}[config]\nlines = 10000\nbytes = 1000000\n"),
    );
    for (error, fuel) in call_twice(dir.path()) {
        assert_eq!(error, "plugin `flood` ran out of fuel (limit 50000000)");
        assert_eq!(fuel, 50_000_000);
    }
    // Ten such lines succeed, and what they cost the host is in the fuel
    // the call reports (far more than the guest's own loop).
    let dir = plugin_dir(
        "flood",
        &guest("guest_log_flood"),
        &format!("{FLOOD_OUTPUTS}{NO_TIME_LIMIT}[config]\nlines = 10\nbytes = 1000000\n"),
    );
    for (error, fuel) in call_twice(dir.path()) {
        assert_eq!(error, "");
        assert!(fuel > 10 * 4 * 1_000_000, "{fuel}");
    }
}

#[test]
fn an_output_whose_items_alias_one_buffer_is_refused_before_it_is_copied() {
    let dir = plugin_dir(
        "alias",
        &guest("guest_alias_output"),
        "[outputs]\nitems = { type = \"list\" }\n[limits]\nmemory = \"32MiB\"\ntimeout = \"30s\"\n",
    );
    for (error, _) in call_twice(dir.path()) {
        assert_eq!(
            error,
            "plugin `alias` sent more than its transfer limit of 1MiB to the host in one go (limits.transfer)"
        );
    }
}

#[test]
fn a_component_with_the_wrong_export_types_is_refused_at_load() {
    let dir = plugin_dir("extra", &guest("guest_wrong_export"), "");
    let load = load_plugins(dir.path(), &runtime(), None);
    let set = load.set.unwrap();
    assert!(set.plugins().is_empty());
    let error = load.diagnostics[0].one_line();
    assert!(error.contains("extra.wasm does not start"), "{error}");
    assert!(
        error.contains("type mismatch with results: expected record of 2 fields, found 3 fields"),
        "{error}"
    );
    assert!(
        error.contains("rebuild it against this Redress's redress-sdk"),
        "{error}"
    );
}

#[test]
fn the_documented_minimum_memory_runs_an_sdk_plugin() {
    let dir = plugin_dir(
        "small",
        &guest("guest_log_flood"),
        &format!("{FLOOD_OUTPUTS}[config]\nlines = 1\nbytes = 100\n[limits]\nmemory = \"2MiB\"\n"),
    );
    for (error, _) in call_twice(dir.path()) {
        assert_eq!(error, "");
    }
    let dir = plugin_dir(
        "small",
        &guest("guest_log_flood"),
        "[limits]\nmemory = \"1MiB\"\n",
    );
    let load = load_plugins(dir.path(), &runtime(), None);
    let error = load.diagnostics[0].one_line();
    assert!(
        error.contains("`limits.memory` must be between 2MiB and 256MiB")
            && error.contains("needs 1088KiB to start"),
        "{error}"
    );
}

/// Runs `load` on a thread; fails the test if it has not returned after a
/// minute (the loader must never block on a file).
fn without_blocking<T: Send + 'static>(load: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(load());
    });
    receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("the loader blocked on a special file")
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn devices_fifos_and_sockets_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.wasm")).unwrap();
    std::fs::write(dir.path().join("zero.toml"), "").unwrap();
    mkfifo(&dir.path().join("pipe.wasm"));
    std::fs::write(dir.path().join("pipe.toml"), "").unwrap();
    mkfifo(&dir.path().join("manifest.toml"));
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("socket.wasm")).unwrap();
    std::fs::write(dir.path().join("socket.toml"), "").unwrap();
    let path = dir.path().to_path_buf();
    let load = without_blocking(move || load_plugins(&path, &runtime(), None));
    let errors: Vec<String> = load.diagnostics.iter().map(|d| d.one_line()).collect();
    let text = errors.join("\n");
    for expected in [
        "zero.wasm: not a regular file but a character device",
        "pipe.wasm: not a regular file but a FIFO (named pipe)",
        "manifest.toml: error: cannot read plugin manifest: not a regular file but a FIFO (named pipe)",
        "socket.wasm: not a regular file but a socket",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_eq!(load.set.unwrap().refused().len(), 4);
    // A FIFO among the rule files is refused the same way.
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("10-routing.toml"),
        "[[route]]\nname = \"all\"\nqueue = \"care\"\n",
    )
    .unwrap();
    mkfifo(&rules.path().join("20-pipe.toml"));
    let rules_path = rules.path().to_path_buf();
    let output =
        without_blocking(move || redress(&["check", rules_path.to_str().unwrap(), "--no-plugins"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .contains("cannot read rule file: not a regular file but a FIFO (named pipe)"),
        "{}",
        stderr(&output)
    );
}

/// A daemon on one route and the example plugins, plus `extra` files in
/// its plugins directory.
fn daemon_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/r.toml"),
        "[[route]]\nname = \"all\"\nqueue = \"care\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    for name in ["sentiment", "classify"] {
        for ext in ["toml", "wasm"] {
            std::fs::copy(
                repo().join(format!("plugins/{name}.{ext}")),
                dir.path().join(format!("plugins/{name}.{ext}")),
            )
            .unwrap();
        }
    }
    dir
}

fn complaint_json(id: &str) -> String {
    format!(r#"{{"id": "{id}", "text": "The kettle broke, I am furious!"}}"#)
}

#[test]
fn the_daemon_refuses_special_files_at_start_and_on_reload_and_still_stops() {
    let dir = daemon_dir();
    mkfifo(&dir.path().join("plugins/pipe.wasm"));
    std::fs::write(dir.path().join("plugins/pipe.toml"), "").unwrap();
    let daemon = Daemon::start_in(dir, "[reload]\ndebounce = \"10ms\"\n");
    let (_, ruleset) = daemon.get("/v1/ruleset");
    assert_eq!(ruleset["last_reload"]["outcome"], "partial", "{ruleset:#}");
    assert_eq!(ruleset["last_reload"]["refused_plugins"][0]["name"], "pipe");
    assert_eq!(
        ruleset["plugins"].as_array().unwrap().len(),
        2,
        "the others load"
    );
    let (status, decision) = daemon.post("/v1/complaints", &complaint_json("a"));
    assert_eq!(status, 200, "{decision}");
    let before = daemon.rss();
    // Through the watcher, without anyone calling reload.
    std::fs::remove_file(daemon.path("plugins/pipe.wasm")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", daemon.path("plugins/pipe.wasm")).unwrap();
    let ruleset = daemon.wait_for("the /dev/zero plugin refused", |r| {
        r["last_reload"]["trigger"] == "watch"
            && r["last_reload"]["refused_plugins"][0]["reason"]
                .as_str()
                .is_some_and(|m| m.contains("character device"))
    });
    assert_eq!(ruleset["last_reload"]["outcome"], "partial");
    assert!(
        daemon.rss() < before + (64 << 20),
        "nothing was read from /dev/zero"
    );
    let (status, _) = daemon.post("/v1/complaints", &complaint_json("b"));
    assert_eq!(status, 200);
    // The next reload is not stuck behind anything.
    let (status, reloaded) = daemon.request("POST", "/v1/reload", Some(""), None);
    assert_eq!(status, 200, "{reloaded}");
    let mut daemon = daemon;
    daemon.signal("TERM");
    let status = daemon.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_broken_plugin_is_refused_alone_and_its_last_good_version_keeps_serving() {
    let daemon = Daemon::start_in(daemon_dir(), "[reload]\ndebounce = \"10ms\"\n");
    let (_, first) = daemon.post("/v1/complaints", &complaint_json("a"));
    let digest = first["plugins"][0]["digest"].clone();
    assert_eq!(first["plugins"][0]["name"], "sentiment");
    // A broken build of sentiment: refused, the last good one serves.
    save_atomically(&daemon.path("plugins/sentiment.wasm"), b"not a component");
    let ruleset = daemon.wait_for("sentiment refused", |r| {
        r["last_reload"]["outcome"] == "partial"
    });
    // A rule edit goes live meanwhile.
    let version = daemon.ruleset_version();
    save_atomically(
        &daemon.path("rules/r.toml"),
        b"[[route]]\nname = \"all\"\nqueue = \"care-2\"\n",
    );
    daemon.wait_for("the rule edit", |r| {
        r["ruleset_version"] != version.as_str()
    });
    let refused = &ruleset["last_reload"]["refused_plugins"][0];
    assert_eq!(refused["name"], "sentiment");
    assert_eq!(refused["kept"], digest, "{ruleset:#}");
    let (_, second) = daemon.post("/v1/complaints", &complaint_json("b"));
    assert_eq!(
        second["route"]["queue"], "care-2",
        "the rule edit went live"
    );
    assert_eq!(second["plugins"][0]["name"], "sentiment");
    assert_eq!(
        second["plugins"][0]["digest"], digest,
        "the last good sentiment"
    );
    assert_eq!(second["plugins"][1]["name"], "classify", "the others load");
    assert!(
        daemon
            .metrics()
            .contains("redress_reloads_total{outcome=\"partial\"} ")
    );

    // A new plugin that never loaded, read by a rule: one clear error
    // naming it, and the last good rule set keeps serving.
    std::fs::write(daemon.path("plugins/fresh.wasm"), b"junk").unwrap();
    std::fs::write(
        daemon.path("plugins/fresh.toml"),
        "[outputs]\nscore = { type = \"number\" }\n",
    )
    .unwrap();
    save_atomically(
        &daemon.path("rules/r.toml"),
        b"[[route]]\nname = \"fresh\"\nwhen = 'plugins.fresh.score > 1.0'\nqueue = \"x\"\n\n[[route]]\nname = \"all\"\nqueue = \"care-3\"\n",
    );
    let ruleset = daemon.wait_for("the rules reading a refused plugin refused", |r| {
        r["last_reload"]["outcome"] == "failed"
    });
    let rendered = ruleset["last_reload"]["rendered"].as_str().unwrap();
    assert!(
        rendered.contains("plugin `fresh` was refused at load, so its outputs cannot be read"),
        "{rendered}"
    );
    assert!(!rendered.contains("no plugin named"), "{rendered}");
    let (_, third) = daemon.post("/v1/complaints", &complaint_json("c"));
    assert_eq!(third["route"]["queue"], "care-2");
}

#[test]
fn plugin_log_lines_are_escaped_cut_and_marked() {
    let dir = daemon_dir();
    std::fs::copy(
        guest("guest_log_flood"),
        dir.path().join("plugins/forger.wasm"),
    )
    .unwrap();
    let long = "y".repeat(5000);
    std::fs::write(
        dir.path().join("plugins/forger.toml"),
        format!(
            "{FLOOD_OUTPUTS}[config]\nlines = 40\nmessage = \"fake\\n2026-12-01T00:00:00.000000Z  INFO redress::cli::serve: stopped\\r\\u001b[2J{long}\"\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    let mut daemon = Daemon::start_logging(dir, "", Some(log.clone()));
    let (status, _) = daemon.post("/v1/complaints", &complaint_json("a"));
    assert_eq!(status, 200);
    daemon.signal("TERM");
    daemon.child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("fake")).collect();
    assert_eq!(lines.len(), 32, "limits.log_lines kept:\n{text}");
    for line in &lines {
        assert!(line.contains("redress::plugin::guest"), "{line}");
        assert!(line.contains("[forger] fake\\n2026-12-01"), "{line}");
        assert!(line.contains("\\r\\u{1b}[2J"), "{line}");
        assert!(line.len() < 1500, "cut to 1 KiB: {} bytes", line.len());
    }
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("2026-12-01T00:00:00.000000Z")),
        "a plugin forged a line:\n{text}"
    );
    assert!(text.contains("plugin log lines dropped"), "{text}");
    assert!(text.contains("dropped=8"), "{text}");
}

#[test]
fn an_inline_plugin_whose_time_goes_into_host_calls_counts_as_slow() {
    let dir = daemon_dir();
    std::fs::copy(
        guest("guest_log_flood"),
        dir.path().join("plugins/chatty.wasm"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("plugins/chatty.toml"),
        format!(
            "inline = true\n{FLOOD_OUTPUTS}{NO_TIME_LIMIT}[config]\nlines = 10\nbytes = 1000000\n"
        ),
    )
    .unwrap();
    let daemon = Daemon::start_in(dir, "");
    for i in 0..3 {
        let (status, decision) = daemon.post("/v1/complaints", &complaint_json(&format!("c{i}")));
        assert_eq!(status, 200);
        assert_eq!(decision["plugins"][2]["outcome"], "ok", "{decision}");
    }
    let metrics = daemon.metrics();
    assert!(
        metrics.contains("redress_plugin_slow_calls_total{plugin=\"chatty\"} 3\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("redress_plugin_off_worker{plugin=\"chatty\"} 1\n"),
        "{metrics}"
    );
}

/// The bar: 32 requests at once through a plugin that logs ten 1 MB lines
/// per call. The daemon's peak stays within the documented bound
/// (`plugin_threads` × (limits.memory + limits.transfer + the kept log
/// lines), above its baseline) and falls back to within 10% of the
/// baseline afterwards.
#[test]
fn a_log_flooding_plugin_cannot_grow_the_daemon() {
    let dir = daemon_dir();
    std::fs::copy(
        guest("guest_log_flood"),
        dir.path().join("plugins/flood.wasm"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("plugins/flood.toml"),
        format!("{FLOOD_OUTPUTS}{NO_TIME_LIMIT}[config]\nlines = 10\nbytes = 1000000\n"),
    )
    .unwrap();
    let threads = 4u64;
    let daemon = Arc::new(Daemon::start_in(
        dir,
        &format!("[limits]\nplugin_threads = {threads}\n"),
    ));
    for i in 0..50 {
        assert_eq!(
            daemon
                .post("/v1/complaints", &complaint_json(&format!("w{i}")))
                .0,
            200
        );
    }
    let baseline = daemon.rss();
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (daemon, peak, done) = (daemon.clone(), peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak.fetch_max(daemon.rss(), std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let senders: Vec<_> = (0..32)
        .map(|k| {
            let daemon = daemon.clone();
            std::thread::spawn(move || {
                for j in 0..5 {
                    let (status, decision) =
                        daemon.post("/v1/complaints", &complaint_json(&format!("c{k}-{j}")));
                    assert_eq!(status, 200, "{decision}");
                    assert_eq!(decision["plugins"][2]["outcome"], "ok", "{decision}");
                }
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = daemon.rss();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    let per_call = (16u64 << 20) + (1 << 20) + 32 * 1024;
    let bound = baseline + threads * per_call;
    assert!(
        peak <= bound,
        "peak {peak} over the bound {bound} (baseline {baseline})"
    );
    assert!(
        after <= baseline + baseline / 10,
        "after the burst {after}, baseline {baseline}"
    );
}
