//! Plugins that misbehave are contained: each hostile guest below is built
//! from source (`tests/guests/`), loaded with a manifest in a temporary
//! directory, and must cost only its own contribution: the event still gets
//! a decision as `on_error` says, the error names the plugin and the cause,
//! and the next event works.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redress::decision::TraceLevel;
use redress::engine::Stateless;
use redress::event::ComplaintEvent;
use redress::plugin::{PluginRuntime, PluginSet, RuntimeOptions, load_plugins};
use redress::snapshot::Snapshot;

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

/// A plugins directory holding one plugin: `wasm` with `manifest`.
fn plugin_dir(name: &str, wasm: &Path, manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(wasm, dir.path().join(format!("{name}.wasm"))).unwrap();
    std::fs::write(dir.path().join(format!("{name}.toml")), manifest).unwrap();
    dir
}

fn load(dir: &Path) -> PluginSet {
    let load = load_plugins(dir, &runtime(), None);
    assert!(
        load.diagnostics.iter().all(|d| !d.is_error()),
        "{:#?}",
        load.diagnostics
    );
    load.set.unwrap()
}

/// The errors of a plugins directory whose plugins are all refused (each
/// alone: the set loads, without them).
fn load_error(dir: &Path) -> String {
    let load = load_plugins(dir, &runtime(), None);
    let set = load
        .set
        .expect("a refused plugin does not take the set with it");
    assert!(
        set.plugins().is_empty(),
        "the plugin should have been refused"
    );
    assert!(!set.refused().is_empty(), "and listed as refused");
    load.diagnostics
        .iter()
        .map(|d| d.one_line())
        .collect::<Vec<_>>()
        .join("\n")
}

fn event(id: &str) -> ComplaintEvent {
    ComplaintEvent::from_json(
        format!(r#"{{"id": "{id}", "received_at": "2026-11-20T10:00:00Z"}}"#).as_bytes(),
    )
    .unwrap()
}

/// Runs `set` on two events with the default rules; returns the first
/// decision's run record of `plugin` (outcome, error).
fn decide_twice(set: PluginSet, plugin: &str) -> (String, String) {
    // The default rules read the example plugins' outputs; decide with the
    // hostile plugin alone against a minimal rule set instead.
    let outcome = Snapshot::from_rule_files(
        vec![redress::rules::RuleFileText {
            path: "rules.toml".into(),
            text: "[[route]]\nname = \"all\"\nqueue = \"care\"\n".into(),
        }],
        set,
    );
    let snapshot = outcome.snapshot.unwrap();
    let mut first = None;
    for id in ["first", "second"] {
        let decision = redress::intake::evaluate(
            &snapshot,
            &event(id),
            &BTreeMap::new(),
            &Stateless,
            TraceLevel::Compact,
        )
        .unwrap_or_else(|error| panic!("{id}: {error}"));
        assert_eq!(
            &*decision.route.queue, "care",
            "the event still gets a decision"
        );
        let run = decision
            .plugins
            .iter()
            .find(|r| &*r.name == plugin)
            .unwrap()
            .clone();
        first.get_or_insert((run.outcome.to_string(), run.error.unwrap_or_default()));
    }
    first.unwrap()
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let dir = plugin_dir("spin", &guest("guest_loop"), "[limits]\nfuel = 5_000_000\n");
    let (outcome, error) = decide_twice(load(dir.path()), "spin");
    assert_eq!(outcome, "skipped");
    assert_eq!(error, "ran out of fuel (limit 5000000)");
}

#[test]
fn an_infinite_loop_with_plenty_of_fuel_hits_the_deadline() {
    let dir = plugin_dir(
        "spin",
        &guest("guest_loop"),
        "[limits]\nfuel = 1_000_000_000_000\ntimeout = \"20ms\"\n",
    );
    let started = std::time::Instant::now();
    let (outcome, error) = decide_twice(load(dir.path()), "spin");
    assert_eq!(outcome, "skipped");
    assert_eq!(error, "timed out after 20ms");
    // Two events, each stopped by the deadline rather than running on.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn a_memory_bomb_hits_the_cap() {
    let dir = plugin_dir(
        "bomb",
        &guest("guest_memory_bomb"),
        "[limits]\nmemory = \"4MiB\"\n",
    );
    let (outcome, error) = decide_twice(load(dir.path()), "bomb");
    assert_eq!(outcome, "skipped");
    assert_eq!(error, "exceeded its memory limit of 4 MiB");
}

#[test]
fn deep_recursion_overflows_the_stack_and_is_contained() {
    let dir = plugin_dir(
        "deep",
        &guest("guest_stack_overflow"),
        "[outputs]\ndepth = { type = \"number\" }\n",
    );
    let (outcome, error) = decide_twice(load(dir.path()), "deep");
    assert_eq!(outcome, "skipped");
    // Where the stack lives decides the trap: wasmtime's own stack limit,
    // or the bottom of linear memory for Rust's shadow stack.
    assert!(
        error == "overflowed its stack (deep recursion)"
            || error
                == "trapped: out of bounds memory access (often deep recursion overflowing the plugin's stack)",
        "{error}"
    );
}

#[test]
fn a_panic_is_reported_with_its_message() {
    let dir = plugin_dir(
        "oops",
        &guest("guest_panic"),
        "on_error = \"default\"\n[outputs]\nvalue = { type = \"number\", default = -1 }\n",
    );
    let set = load(dir.path());
    let (outcome, error) = decide_twice(set.clone(), "oops");
    assert_eq!(outcome, "defaults");
    assert!(error.starts_with("panicked: "), "{error}");
    assert!(error.contains("index out of bounds: the len is 0 but the index is 3 (at tests/guests/panic/src/lib.rs:"), "{error}");
    // on_error = "default": the declared default stands in.
    let enrichment = set.enrich(&event("x"), &BTreeMap::new()).unwrap();
    assert_eq!(
        enrichment.by_plugin["oops"]["value"],
        redress::annotation::AnnotationValue::Number(-1.0)
    );
}

#[test]
fn an_enormous_output_is_refused() {
    // Over the transfer limit, it is not even copied.
    let dir = plugin_dir(
        "spam",
        &guest("guest_huge_output"),
        "[outputs]\nlanguage = { type = \"text\" }\n[limits]\nmemory = \"32MiB\"\n",
    );
    let (outcome, error) = decide_twice(load(dir.path()), "spam");
    assert_eq!(outcome, "skipped");
    assert_eq!(
        error,
        "sent more than its transfer limit of 1MiB to the host in one go (limits.transfer)"
    );
    // Within a raised transfer limit, it is copied and refused as too long.
    let dir = plugin_dir(
        "spam",
        &guest("guest_huge_output"),
        "[outputs]\nlanguage = { type = \"text\" }\n[limits]\nmemory = \"32MiB\"\ntransfer = \"16MiB\"\n",
    );
    let (outcome, error) = decide_twice(load(dir.path()), "spam");
    assert_eq!(outcome, "skipped");
    assert!(
        error.starts_with("returned a bad output: output `language` is 83886"),
        "{error}"
    );
    assert!(error.ends_with("bytes of text (at most 4096)"), "{error}");
}

#[test]
fn an_output_of_the_wrong_type_is_refused() {
    let dir = plugin_dir(
        "liar",
        &guest("guest_wrong_type"),
        "[outputs]\nanger = { type = \"number\" }\n",
    );
    let (outcome, error) = decide_twice(load(dir.path()), "liar");
    assert_eq!(outcome, "skipped");
    assert_eq!(
        error,
        "returned a bad output: output `anger` is a text, but the manifest declares it a number"
    );
}

#[test]
fn on_error_reject_refuses_the_event_and_names_the_plugin() {
    let dir = plugin_dir(
        "strict",
        &guest("guest_wrong_type"),
        "on_error = \"reject\"\n[outputs]\nanger = { type = \"number\" }\n",
    );
    let error = load(dir.path())
        .enrich(&event("x"), &BTreeMap::new())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "plugin `strict` returned a bad output: output `anger` is a text, but the manifest declares it a number"
    );
}

#[test]
fn a_plugin_that_keeps_failing_is_quarantined() {
    let dir = plugin_dir(
        "flaky",
        &guest("guest_panic"),
        "[limits]\nquarantine_after = 3\nquarantine_for = \"1h\"\n",
    );
    let set = load(dir.path());
    let plugin = set.get("flaky").unwrap().clone();
    for _ in 0..3 {
        let enrichment = set.enrich(&event("x"), &BTreeMap::new()).unwrap();
        assert!(
            enrichment.runs[0]
                .error
                .as_deref()
                .unwrap()
                .starts_with("panicked")
        );
    }
    assert!(plugin.is_quarantined());
    let enrichment = set.enrich(&event("x"), &BTreeMap::new()).unwrap();
    let error = enrichment.runs[0].error.as_deref().unwrap();
    assert!(
        error.starts_with("is quarantined after 3 failures in a row"),
        "{error}"
    );
    assert_eq!(
        plugin
            .stats
            .quarantines
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn wasi_filesystem_and_sockets_are_refused_at_load() {
    for guest_name in ["guest_wasi_files", "guest_wasi_sockets"] {
        let dir = plugin_dir("sneaky", &guest(guest_name), "");
        let error = load_error(dir.path());
        assert!(error.contains("imports `wasi:"), "{error}");
        assert!(error.contains("which plugins are not given"), "{error}");
        assert!(
            error.contains("plugins get no filesystem, network, clock or environment"),
            "{error}"
        );
    }
}

#[test]
fn a_plugin_for_another_contract_version_is_refused_with_the_version() {
    let dir = plugin_dir("future", &guest("guest_old_version"), "");
    let error = load_error(dir.path());
    assert!(
        error.contains(
            "was built for redress:plugin@0.2.0, but this Redress speaks redress:plugin@0.1.0"
        ),
        "{error}"
    );
}

#[test]
fn a_file_that_is_not_wasm_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fake.wasm"), "#!/bin/sh\necho not wasm\n").unwrap();
    std::fs::write(dir.path().join("fake.toml"), "").unwrap();
    let error = load_error(dir.path());
    assert!(
        error.contains("fake.wasm is not a WebAssembly file"),
        "{error}"
    );
    // A missing component says how to build one.
    std::fs::remove_file(dir.path().join("fake.wasm")).unwrap();
    let error = load_error(dir.path());
    assert!(
        error.contains("cannot read") && error.contains("wasm32-wasip2"),
        "{error}"
    );
}

#[test]
fn good_plugins_keep_working_next_to_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("plugins"), dir.path());
    std::fs::copy(guest("guest_panic"), dir.path().join("oops.wasm")).unwrap();
    std::fs::write(dir.path().join("oops.toml"), "order = 1\n").unwrap();
    let set = load(dir.path());
    let event = ComplaintEvent::from_json(
        r#"{"id": "x", "text": "The cashier was very rude!"}"#.as_bytes(),
    )
    .unwrap();
    for _ in 0..3 {
        let enrichment = set.enrich(&event, &BTreeMap::new()).unwrap();
        let outcomes: Vec<(&str, &str)> = enrichment
            .runs
            .iter()
            .map(|r| (&*r.name, r.outcome.as_str()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("oops", "skipped"),
                ("sentiment", "ok"),
                ("classify", "ok"),
                ("goodwill", "ok")
            ]
        );
        assert_eq!(enrichment.category.as_deref(), Some("staff_attitude"));
    }
}

#[test]
fn per_event_isolation_gives_a_fresh_instance_every_time() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("plugins/sentiment.wasm"),
        dir.path().join("sentiment.wasm"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(repo().join("plugins/sentiment.toml")).unwrap();
    std::fs::write(
        dir.path().join("sentiment.toml"),
        format!("isolation = \"per-event\"\n{manifest}"),
    )
    .unwrap();
    let set = load(dir.path());
    for _ in 0..3 {
        let enrichment = set.enrich(&event("x"), &BTreeMap::new()).unwrap();
        assert_eq!(enrichment.runs[0].outcome.as_str(), "ok");
    }
    let plugin = set.get("sentiment").unwrap();
    assert_eq!(
        plugin
            .stats
            .instances_created
            .load(std::sync::atomic::Ordering::Relaxed),
        1 + 3,
        "one to check the component at load, then one per event"
    );
    assert_eq!(plugin.warm_instances(), 0);
}

#[test]
fn pooled_instances_are_reused() {
    let set = load(&repo().join("plugins"));
    for _ in 0..5 {
        set.enrich(&event("x"), &BTreeMap::new()).unwrap();
    }
    let plugin = set.get("sentiment").unwrap();
    assert_eq!(
        plugin
            .stats
            .instances_created
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(plugin.warm_instances(), 1);
}

#[test]
fn plugin_run_reports_outputs_fuel_memory_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, r#"{"id": "x", "text": "质量太差了，我非常生气！"}"#).unwrap();
    let output = redress(&[
        "plugin",
        "run",
        "plugins/sentiment.wasm",
        event.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "language = \"zh-Hans\"",
        "anger = ",
        "fuel used:",
        "peak memory:",
        "first call:",
        "warm call:",
    ] {
        assert!(text.contains(expected), "missing {expected}:\n{text}");
    }
    let failing = redress(&[
        "plugin",
        "run",
        guest("guest_panic").to_str().unwrap(),
        event.to_str().unwrap(),
    ]);
    assert_eq!(failing.status.code(), Some(1));
    assert!(
        stdout(&failing).contains("failed: plugin `guest_panic` panicked: index out of bounds"),
        "{}",
        stdout(&failing)
    );
    let refused = redress(&[
        "plugin",
        "run",
        guest("guest_wasi_files").to_str().unwrap(),
        event.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("imports `wasi:"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn rules_using_plugin_outputs_are_type_checked_against_manifests() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.toml"),
        "[[route]]\nname = \"angry\"\nwhen = 'plugins.sentiment.anger == \"high\" || plugins.sentiment.angr > 0.5'\nqueue = \"q\"\n\n[[route]]\nname = \"all\"\nqueue = \"care\"\n",
    )
    .unwrap();
    let output = redress(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("cannot compare double with string using `==`"),
        "{text}"
    );
    assert!(
        text.contains("plugin `sentiment` declares no output `angr`"),
        "{text}"
    );
    assert!(text.contains("did you mean `anger`?"), "{text}");
    let without = redress(&["check", dir.path().to_str().unwrap(), "--no-plugins"]);
    assert!(
        stderr(&without).contains("no plugin named `sentiment` is loaded"),
        "{}",
        stderr(&without)
    );
}

/// An author's first five minutes: `redress plugin new`, the plugin's own
/// tests, `plugin build` (which runs the fixtures), `plugin test`, and a run.
#[test]
fn plugin_new_gives_a_plugin_that_tests_builds_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let output = redress_in(dir.path(), &["plugin", "new", "refunds"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let crate_dir = dir.path().join("refunds");
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "refunds.toml",
        "README.md",
        "fixtures/cases.toml",
    ] {
        assert!(crate_dir.join(file).is_file(), "missing {file}");
    }
    // Share compiled dependencies between runs of this test.
    let target = repo().join("target/plugin-new-test");
    // `program` in the crate, building into the shared target directory.
    let in_crate = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .unwrap()
    };
    let cargo = |args: &[&str]| in_crate(env!("CARGO"), args);
    let tested = cargo(&["test", "--release"]);
    assert!(
        tested.status.success(),
        "{}",
        String::from_utf8_lossy(&tested.stderr)
    );
    assert!(
        String::from_utf8_lossy(&tested.stdout).contains("3 passed"),
        "{}",
        String::from_utf8_lossy(&tested.stdout)
    );
    // `plugin build`: the component, next to the manifest, checked, and the
    // template's fixtures run.
    let redress_here = |args: &[&str]| in_crate(env!("CARGO_BIN_EXE_redress"), args);
    let built = redress_here(&["plugin", "build"]);
    assert!(
        built.status.success(),
        "{}{}",
        stdout(&built),
        stderr(&built)
    );
    let text = stdout(&built);
    assert!(
        text.contains("built ./refunds.wasm")
            && text.contains("plugin refunds: 2 passed, 0 failed"),
        "{text}"
    );
    // The template's profile keeps the component small (it was 1 MiB with
    // line tables; the example plugins are under 120 KiB).
    let size = std::fs::metadata(crate_dir.join("refunds.wasm"))
        .unwrap()
        .len();
    assert!(size < 256 * 1024, "refunds.wasm is {size} bytes");
    // A fixture that expects something else fails, and says what and where.
    let fixtures = crate_dir.join("fixtures/cases.toml");
    let text = std::fs::read_to_string(&fixtures).unwrap();
    std::fs::write(&fixtures, text.replace("words = 5", "words = 6")).unwrap();
    let tested = redress_here(&["plugin", "test", "."]);
    assert_eq!(tested.status.code(), Some(1), "{}", stdout(&tested));
    let text = stdout(&tested);
    assert!(
        text.contains("FAIL a refund is mentioned (./fixtures/cases.toml:4)")
            && text.contains("outputs.words: expected 6, found 5")
            && text.contains("1 passed, 1 failed"),
        "{text}"
    );
    let event = crate_dir.join("event.json");
    std::fs::write(&event, r#"{"id": "x", "text": "I want a refund for this"}"#).unwrap();
    let run = redress_in(&crate_dir, &["plugin", "run", "refunds.wasm", "event.json"]);
    assert!(run.status.success(), "{}{}", stdout(&run), stderr(&run));
    let text = stdout(&run);
    assert!(text.contains("mentions_keyword = true"), "{text}");
    assert!(text.contains("words = 6.0"), "{text}");
    // It loads as a plugin of a plugins directory, too.
    let set = load(&crate_dir);
    assert_eq!(set.plugins()[0].spec.name, "refunds");
}

#[test]
fn plugin_run_prints_the_guests_log_lines() {
    let dir = plugin_dir(
        "flood",
        &guest("guest_log_flood"),
        "name = \"flood\"\n[outputs]\ndone = { type = \"flag\" }\n[config]\nlines = 2\nmessage = \"checked the receipt\"\n",
    );
    let event = dir.path().join("event.json");
    std::fs::write(&event, r#"{"id": "x", "text": "hello"}"#).unwrap();
    let wasm = dir.path().join("flood.wasm");
    let run = redress(&[
        "plugin",
        "run",
        wasm.to_str().unwrap(),
        event.to_str().unwrap(),
        "--repeat",
        "3",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    // Once per line of the first call, not again for the timed repeats.
    let logged = stderr(&run).matches("[flood] checked the receipt").count();
    assert_eq!(logged, 2, "{}", stderr(&run));
}

#[test]
fn eval_warns_of_a_plugin_output_that_breaks_its_manifest_and_strict_fails() {
    // The manifest says the flag `done` is a number: the output is refused,
    // and the rules that read it would silently never fire.
    let dir = plugin_dir(
        "flood",
        &guest("guest_log_flood"),
        "name = \"flood\"\non_error = \"default\"\n[outputs]\ndone = { type = \"number\", default = 0 }\n[config]\nlines = 0\n",
    );
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"id": "e-1", "received_at": "2026-11-20T10:00:00Z"}"#,
    )
    .unwrap();
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("rules.toml"),
        "[[route]]\nname = \"all\"\nqueue = \"care\"\n\n[[escalate]]\nname = \"flooded\"\nwhen = 'plugins.flood.done > 0.5'\nto = \"supervisor\"\n",
    )
    .unwrap();
    let args = [
        "eval",
        rules.path().to_str().unwrap(),
        event.to_str().unwrap(),
        "--plugins",
        dir.path().to_str().unwrap(),
    ];
    let output = redress(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("warning: plugin `flood` failed on complaint `e-1`"),
        "{text}"
    );
    assert!(
        text.contains("output `done` is a flag, but the manifest declares it a number"),
        "{text}"
    );
    assert!(text.contains("its manifest's defaults stand in"), "{text}");
    let strict = redress(&[&args[..], &["--strict"]].concat());
    assert_eq!(strict.status.code(), Some(1), "{}", stderr(&strict));
}

/// The example plugins' fixtures (the source documents' phrases) pass on
/// the components `cargo build` made.
#[test]
fn the_example_plugins_pass_their_fixtures() {
    for plugin in ["classify", "sentiment", "goodwill"] {
        let output = redress(&["plugin", "test", &format!("plugins/{plugin}")]);
        assert!(
            output.status.success(),
            "{}{}",
            stdout(&output),
            stderr(&output)
        );
        assert!(
            stdout(&output).contains(&format!("plugin {plugin}: ")),
            "{}",
            stdout(&output)
        );
        assert!(stdout(&output).contains(" passed, 0 failed"));
    }
}
