//! `redress backup` of a daemon under load, `redress restore`, and a
//! daemon and `redress replay` on what was restored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Daemon, redress_in, stderr, stdout};

const RULES: &str = r#"
[[route]]
name = "everything"
queue = "care"

[[sla]]
name = "day"
first_response = "24h"
resolve = "72h"
"#;

fn rules_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/rules.toml"), RULES).unwrap();
    dir
}

const CONFIG: &str = "plugins = \"\"\n";

#[test]
fn a_backup_under_load_restores_to_a_daemon_that_answers_every_acknowledged_decision() {
    let daemon = Daemon::start_in(rules_dir(), CONFIG);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    // A bounded load: two clients, at most 2,000 complaints each.
    let clients: Vec<_> = (0..2)
        .map(|client| {
            let (base, acknowledged, stop) =
                (daemon.base.clone(), acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                for n in 0..2_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = format!("load-{client}-{n}");
                    let body = format!(r#"{{"id": "{id}", "customer": {{"id": "c-{n}"}}}}"#);
                    let response = agent
                        .post(format!("{base}/v1/complaints"))
                        .header("Content-Type", "application/json")
                        .send(&body)
                        .unwrap();
                    assert_eq!(response.status().as_u16(), 200, "{id}");
                    acknowledged.lock().unwrap().push(id);
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 200 {
        assert!(Instant::now() < deadline, "the load did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Everything acknowledged before the backup starts must be in it.
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    let taken = redress_in(daemon.dir.path(), &["backup", "--data", "data", "backup"]);
    assert!(taken.status.success(), "{}", stderr(&taken));
    assert!(stdout(&taken).contains("log entries"), "{}", stdout(&taken));
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }

    let restored = rules_dir();
    let backup = daemon.dir.path().join("backup");
    let put_back = redress_in(
        restored.path(),
        &["restore", backup.to_str().unwrap(), "data"],
    );
    assert!(put_back.status.success(), "{}", stderr(&put_back));

    let replayed = redress_in(restored.path(), &["replay", "--data", "data"]);
    assert!(
        replayed.status.success(),
        "{}\n{}",
        stdout(&replayed),
        stderr(&replayed)
    );
    assert!(
        stdout(&replayed).contains(" 0 different"),
        "{}",
        stdout(&replayed)
    );

    let again = Daemon::start_in(restored, CONFIG);
    for id in &before {
        let (status, case) = again.get(&format!("/v1/cases/{id}"));
        assert_eq!(
            status, 200,
            "{id} was acknowledged before the backup: {case}"
        );
    }
    // A retry of one of them is answered from the restored log.
    let (status, answer) = again.post(
        "/v1/complaints",
        &format!(r#"{{"id": "{}", "customer": {{"id": "c-0"}}}}"#, before[0]),
    );
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn a_damaged_backup_is_refused_and_nothing_is_restored() {
    let daemon = Daemon::start_in(rules_dir(), CONFIG);
    for n in 0..20 {
        let (status, _) = daemon.post("/v1/complaints", &format!(r#"{{"id": "d-{n}"}}"#));
        assert_eq!(status, 200);
    }
    let dir = daemon.dir.path();
    let taken = redress_in(dir, &["backup", "--data", "data", "good"]);
    assert!(taken.status.success(), "{}", stderr(&taken));

    // Taking a backup over another is refused.
    let over = redress_in(dir, &["backup", "--data", "data", "good"]);
    assert!(!over.status.success());
    assert!(stderr(&over).contains("already holds"), "{}", stderr(&over));

    let damage = |name: &str, spoil: &dyn Fn(&std::path::Path)| -> String {
        let copy = dir.join(name);
        std::fs::create_dir_all(&copy).unwrap();
        for file in ["redress.db", "decisions.jsonl", "backup.json"] {
            std::fs::copy(dir.join("good").join(file), copy.join(file)).unwrap();
        }
        spoil(&copy);
        let target = dir.join(format!("{name}-restored"));
        let output = redress_in(
            dir,
            &["restore", copy.to_str().unwrap(), target.to_str().unwrap()],
        );
        assert!(!output.status.success(), "{name} was restored");
        assert!(
            !target.join("redress.db").exists() && !target.join("decisions.jsonl").exists(),
            "{name}: something was restored"
        );
        stderr(&output)
    };
    let flipped = damage("flipped", &|copy| {
        let path = copy.join("decisions.jsonl");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[50] ^= 0x20;
        std::fs::write(&path, bytes).unwrap();
    });
    assert!(
        flipped.contains("is damaged") && flipped.contains("SHA-256"),
        "{flipped}"
    );
    let cut = damage("cut", &|copy| {
        let path = copy.join("decisions.jsonl");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    });
    assert!(cut.contains("is damaged") && cut.contains("bytes"), "{cut}");
    let database = damage("database", &|copy| {
        let path = copy.join("redress.db");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    });
    assert!(database.contains("is damaged"), "{database}");
    let no_manifest = damage("no-manifest", &|copy| {
        std::fs::remove_file(copy.join("backup.json")).unwrap();
    });
    assert!(
        no_manifest.contains("not a Redress backup"),
        "{no_manifest}"
    );

    // The good one restores.
    let target = dir.join("restored");
    let output = redress_in(dir, &["restore", "good", target.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("20 log entries"),
        "{}",
        stdout(&output)
    );
}

/// Retention that archives within a second, in small segments.
const ARCHIVING: &str = "plugins = \"\"\n\
[store.retention]\n\
decisions = \"1s\"\n\
segment_size = \"16KiB\"\n\
every = \"100ms\"\n";

#[test]
fn an_archived_log_is_backed_up_restored_and_replayed_whole() {
    let daemon = Daemon::start_in(rules_dir(), ARCHIVING);
    let total = 300;
    for n in 0..total {
        let (status, answer) = daemon.post(
            "/v1/complaints",
            &format!(r#"{{"id": "a-{n}", "customer": {{"id": "c-{}"}}}}"#, n % 7),
        );
        assert_eq!(status, 200, "{answer}");
    }
    // Retention runs in the background: wait until it archived most of it.
    let index_path = daemon.path("data/archive/index.json");
    let archived = || -> usize {
        std::fs::read(&index_path)
            .ok()
            .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
            .map_or(0, |index| index["segments"].as_array().map_or(0, Vec::len))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while archived() < 3 {
        assert!(Instant::now() < deadline, "nothing was archived");
        std::thread::sleep(Duration::from_millis(50));
    }

    let live_only = redress_in(daemon.dir.path(), &["audit", "--data", "data", "--json"]);
    assert!(live_only.status.success(), "{}", stderr(&live_only));
    assert!(
        stderr(&live_only).contains("--include-archive reads them too"),
        "{}",
        stderr(&live_only)
    );
    let everything = redress_in(
        daemon.dir.path(),
        &["audit", "--data", "data", "--json", "--include-archive"],
    );
    assert!(everything.status.success(), "{}", stderr(&everything));
    let ids: Vec<String> = stdout(&everything)
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["event_id"].to_string()
        })
        .collect();
    assert_eq!(ids.len(), total, "every entry, archived or live, once");
    assert!(stdout(&live_only).lines().count() < total);

    // A retry of an archived complaint is refused, not decided again.
    let (status, answer) = daemon.post(
        "/v1/complaints",
        r#"{"id": "a-0", "customer": {"id": "c-0"}}"#,
    );
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "decision_archived", "{answer}");

    let taken = redress_in(daemon.dir.path(), &["backup", "--data", "data", "backup"]);
    assert!(taken.status.success(), "{}", stderr(&taken));
    assert!(
        stdout(&taken).contains("archive file(s)"),
        "{}",
        stdout(&taken)
    );
    let restored = rules_dir();
    let backup = daemon.dir.path().join("backup");
    let put_back = redress_in(
        restored.path(),
        &["restore", backup.to_str().unwrap(), "data"],
    );
    assert!(put_back.status.success(), "{}", stderr(&put_back));
    let replayed = redress_in(
        restored.path(),
        &["replay", "--data", "data", "--include-archive"],
    );
    assert!(
        replayed.status.success(),
        "{}\n{}",
        stdout(&replayed),
        stderr(&replayed)
    );
    assert!(
        stdout(&replayed).contains(&format!("{total} identical, 0 different")),
        "{}",
        stdout(&replayed)
    );

    // A damaged archive file in a backup is refused before anything is
    // written.
    let copy = daemon.dir.path().join("damaged");
    crate::support::copy_dir(&backup, &copy);
    let archived_file = std::fs::read_dir(copy.join("archive"))
        .unwrap()
        .flatten()
        .find(|entry| entry.file_name().to_string_lossy().ends_with(".zst"))
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&archived_file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&archived_file, bytes).unwrap();
    let target = daemon.dir.path().join("from-damaged");
    let refused = redress_in(
        daemon.dir.path(),
        &["restore", copy.to_str().unwrap(), target.to_str().unwrap()],
    );
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("SHA-256"), "{}", stderr(&refused));
    assert!(!target.join("redress.db").exists());
}
