//! The CLI as an operator uses it: check, test, eval, schema.

use crate::support::*;

#[test]
fn check_accepts_the_default_rules() {
    let output = redress(&["check", "rules"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("ok: "), "{}", stdout(&output));
}

#[test]
fn check_names_the_version_decisions_carry_and_the_one_with_plugins() {
    let checked = stdout(&redress(&["check", "rules"]));
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("miller.json");
    std::fs::write(&event, MILLER).unwrap();
    let decided = redress(&["eval", "rules", event.to_str().unwrap()]);
    let decision: serde_json::Value = serde_json::from_slice(&decided.stdout).unwrap();
    let ruleset_version = decision["ruleset_version"].as_str().unwrap();
    assert!(
        checked.contains(&format!(
            "ruleset_version {ruleset_version} (rules), version "
        )),
        "{checked}"
    );
    assert!(checked.contains(" (rules and plugins)"), "{checked}");
    let explained = stdout(&redress(&[
        "eval",
        "rules",
        event.to_str().unwrap(),
        "--explain",
    ]));
    assert!(
        explained.contains(&format!("decided by ruleset_version {ruleset_version}")),
        "{explained}"
    );
}

#[test]
fn check_reports_unknown_key_unknown_field_and_type_error_together() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("10-rules.toml"),
        r#"[[route]]
name = "key"
when = 'customer.teir == "key"'
queue = "key-accounts"
handlr = "manager"

[[escalate]]
name = "odd"
when = '"gold" > 3'
to = "manager"

[[route]]
name = "fallback"
queue = "care"
"#,
    )
    .unwrap();
    let output = redress(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("error: unknown key `handlr` in `[[route]]`"),
        "{text}"
    );
    assert!(text.contains("10-rules.toml:5:1"), "{text}");
    assert!(text.contains("did you mean `handler`?"), "{text}");
    assert!(
        text.contains("error: unknown field `customer.teir`"),
        "{text}"
    );
    assert!(text.contains("10-rules.toml:3:9"), "{text}");
    assert!(text.contains("did you mean `customer.tier`?"), "{text}");
    assert!(
        text.contains("error: cannot compare string with int using `>`"),
        "{text}"
    );
    assert!(text.contains("10-rules.toml:9:9"), "{text}");
    assert!(text.contains("3 errors and 0 warnings found"), "{text}");
}

#[test]
fn check_explains_a_missing_directory() {
    let output = redress(&["check", "no/such/dir"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot read the rules directory"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn rule_tests_pass_on_the_default_rules() {
    let output = redress(&["test", "rules"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    let summary = text.lines().last().unwrap();
    let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 15, "{summary}");
    assert!(summary.ends_with(", 0 failed"), "{summary}");
    // The sequences run against a store of their own: control line, budget
    // and SLA timer, offline.
    for sequence in [
        "sixth-quality-complaint-in-a-cell-crosses-the-control-line",
        "fee-waiver-budget-runs-out",
        "first-response-breach-at-24-hours-unless-responded",
    ] {
        assert!(text.contains(&format!("pass {sequence}\n")), "{text}");
    }
}

#[test]
fn a_broken_sequence_step_fails_at_its_step() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&default_rules(), dir.path());
    let tests = dir.path().join("tests/sequences.toml");
    let text = std::fs::read_to_string(&tests)
        .unwrap()
        .replace(r#"after = "1m""#, r#"after = "0s""#);
    std::fs::write(&tests, text).unwrap();
    let output = redress(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("FAIL first-response-breach-at-24-hours-unless-responded"),
        "{text}"
    );
    assert!(
        text.contains("at step 5 (at 24 hours the unanswered one breaches)"),
        "{text}"
    );
    assert!(text.contains("+ found:    0 item(s): []"), "{text}");
}

#[test]
fn a_broken_expectation_fails_with_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&default_rules(), dir.path());
    let tests = dir.path().join("tests/routing.toml");
    let text = std::fs::read_to_string(&tests).unwrap().replace(
        r#"expect.route = { queue = "billing", rule = "price-billing" }"#,
        r#"expect.route = { queue = "payments", rule = "price-billing" }"#,
    );
    std::fs::write(&tests, text).unwrap();
    let output = redress(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("FAIL overcharge-goes-to-billing"), "{text}");
    assert!(text.contains("at route.queue"), "{text}");
    assert!(text.contains(r#"- expected: "payments""#), "{text}");
    assert!(text.contains(r#"+ found:    "billing""#), "{text}");
    assert!(text.contains(", 1 failed"), "{text}");
}

const MILLER: &str = r#"{
  "id": "miller-001",
  "received_at": "2026-11-20T09:15:00Z",
  "channel": "in_person",
  "location": "main-street-branch",
  "text": "I only came in to get my parking ticket stamped.",
  "customer": {"tier": "ordinary", "deposits": 4200000}
}"#;

#[test]
fn eval_explains_why_mr_miller_gets_his_parking_stamp() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("miller.json");
    std::fs::write(&event, MILLER).unwrap();
    let output = redress(&["eval", "rules", event.to_str().unwrap(), "--explain"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("a teller may waive `parking-validation` for this customer, up to 5 USD"),
        "{text}"
    );
    assert!(text.contains("by authority `parking-stamp`"), "{text}");
    assert!(
        text.contains("because customer.deposits = 4200000.0"),
        "{text}"
    );
    assert!(
        text.contains("Route: queue `key-accounts`, answered by a manager"),
        "{text}"
    );
}

#[test]
fn eval_prints_the_same_json_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("miller.json");
    std::fs::write(&event, MILLER).unwrap();
    let first = redress(&["eval", "rules", event.to_str().unwrap()]);
    let second = redress(&["eval", "rules", event.to_str().unwrap()]);
    assert!(first.status.success());
    assert_eq!(first.stdout, second.stdout);
    let decision: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(decision["authority"][0]["policy"], "parking-validation");
    assert!(decision["trace"].as_array().unwrap().len() > 10);
}

#[test]
fn eval_names_the_bad_field_of_a_bad_event() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("bad.json");
    std::fs::write(&event, r#"{"id": "x", "customer": {"deposits": "a lot"}}"#).unwrap();
    let output = redress(&["eval", "rules", event.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("invalid event field `customer.deposits`"),
        "{text}"
    );
    assert!(text.contains("line 1"), "{text}");
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    let command = ci.lines().last().unwrap().trim();
    assert!(command.starts_with("cargo "), "{command}");
    let setup = readme
        .split("## Set up")
        .nth(1)
        .unwrap()
        .split("##")
        .next()
        .unwrap();
    assert!(
        setup.contains(command),
        "the README's set-up section must show `{command}`"
    );
}

#[test]
fn every_rule_file_key_is_documented() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/rules.schema.json")).unwrap(),
    )
    .unwrap();
    let reference = std::fs::read_to_string(repo().join("docs/rules.md")).unwrap();
    let mut keys = std::collections::BTreeSet::new();
    collect_properties(&schema, &mut keys);
    assert!(keys.len() > 15, "{keys:?}");
    let documented = |k: &str| {
        [
            format!("`{k}`"),
            format!(".{k}`"),
            format!("`[{k}]`"),
            format!("`[[{k}]]`"),
        ]
        .iter()
        .any(|form| reference.contains(form.as_str()))
    };
    let missing: Vec<&String> = keys.iter().filter(|k| !documented(k)).collect();
    assert!(
        missing.is_empty(),
        "docs/rules.md does not document: {missing:?}"
    );
}

fn collect_properties(value: &serde_json::Value, keys: &mut std::collections::BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(properties)) = map.get("properties") {
                keys.extend(properties.keys().cloned());
            }
            for child in map.values() {
                collect_properties(child, keys);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_properties(i, keys)),
        _ => {}
    }
}

/// The README's `cargo run --release -- serve` works only while the
/// workspace's default members have exactly one binary: the daemon.
#[test]
fn cargo_run_has_one_binary_to_run() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let defaults: Vec<&str> = metadata["workspace_default_members"]
        .as_array()
        .expect("cargo reports the default members")
        .iter()
        .filter_map(|id| id.as_str())
        .collect();
    let binaries: Vec<&str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|package| defaults.contains(&package["id"].as_str().unwrap_or_default()))
        .flat_map(|package| package["targets"].as_array().unwrap())
        .filter(|target| {
            target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"))
        })
        .filter_map(|target| target["name"].as_str())
        .collect();
    assert_eq!(binaries, ["redress"]);
}

#[test]
fn check_names_a_plugin_outputs_type_in_its_manifests_words() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&default_rules(), dir.path());
    let file = dir.path().join("20-escalation.toml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\n[[escalate]]\nname = \"words\"\nwhen = 'plugins.sentiment.anger == \"high\"'\nto = \"manager\"\n");
    std::fs::write(&file, text).unwrap();
    let output = redress(&[
        "check",
        dir.path().to_str().unwrap(),
        "--plugins",
        "plugins",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("= note: `plugins.sentiment.anger` is a `number` output (`double` in conditions): its type comes from plugin `sentiment`'s manifest"),
        "{text}"
    );
}

#[test]
fn an_event_in_another_currency_is_converted_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"id": "cny-1", "received_at": "2026-11-20T10:00:00Z", "category": "price_billing", "amount": 1000, "currency": "CNY"}"#,
    )
    .unwrap();
    let output = redress(&[
        "eval",
        "rules",
        event.to_str().unwrap(),
        "--plugins",
        "plugins",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let decision: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        decision["conversion"],
        serde_json::json!({"from": "CNY", "to": "USD", "amount": 1000.0, "rate": 0.14})
    );
    // 1,000 CNY is 140 USD: not a large amount (1,000 USD) for the rules.
    assert!(
        decision["escalations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["rule"] != "large-amount"),
        "{decision}"
    );
    assert!(
        decision["offers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["currency"] == "USD"),
        "{decision}"
    );

    std::fs::write(
        &event,
        r#"{"id": "jpy-1", "received_at": "2026-11-20T10:00:00Z", "amount": 5000, "currency": "JPY"}"#,
    )
    .unwrap();
    let output = redress(&[
        "eval",
        "rules",
        event.to_str().unwrap(),
        "--plugins",
        "plugins",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(
            "complaint `jpy-1` is in JPY, but the rule set decides in USD and has no rate for JPY"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_named_condition_is_used_by_name_explained_by_value_and_checked_for_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("key.json");
    std::fs::write(
        &event,
        r#"{"id": "k-1", "received_at": "2026-11-20T10:00:00Z", "text": "the card reader ate my card", "customer": {"deposits": 2000000}}"#,
    )
    .unwrap();
    // The default rules name `key_account` once and use it in three files.
    let output = redress(&["eval", "rules", event.to_str().unwrap(), "--explain"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let because = text
        .lines()
        .find(|l| l.contains("because") && l.contains("key_account"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        because.contains("key_account = true") && because.contains("customer.deposits = 2000000.0"),
        "{because}"
    );

    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("10.toml"),
        r#"[conditions]
lost = 'found || text.contains("lost")'
found = 'lost && channel == "store"'

[[route]]
name = "fallback"
when = 'lost || found'
queue = "care"
"#,
    )
    .unwrap();
    let output = redress(&["check", rules.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stderr(&output);
    assert!(
        text.contains(
            "error: named conditions use each other in a cycle: `found` -> `lost` -> `found`"
        ),
        "{text}"
    );
    assert!(text.contains("10.toml:3:1"), "{text}");
}

#[test]
fn a_command_whose_reader_goes_away_ends_quietly() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(["schema", "rules"])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `redress schema rules | head -c 0`: the reader closes at once.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let text = stderr(&output);
    assert!(
        !text.contains("Broken pipe") && !text.contains("panicked"),
        "{text}"
    );
}

/// The category and anger `eval` decides for `text` with `plugins`.
fn classified(plugins: &std::path::Path, text: &str) -> (String, f64, String) {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({ "id": "t-1", "text": text }).to_string(),
    )
    .unwrap();
    let output = redress(&[
        "eval",
        "rules",
        event.to_str().unwrap(),
        "--plugins",
        plugins.to_str().unwrap(),
    ]);
    let decision: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", stderr(&output)));
    (
        decision["category"].as_str().unwrap_or("").to_string(),
        decision["annotations"]["sentiment"]["anger"]
            .as_f64()
            .unwrap_or(-1.0),
        stderr(&output),
    )
}

#[test]
fn the_example_plugins_take_extra_phrases_from_their_manifests() {
    let shipped = repo().join("plugins");
    let latte = "Too much milk in my latte again";
    let bag = "I left my bag at the checkout and now it is gone";
    assert_eq!(classified(&shipped, latte).0, "product_quality");
    assert_eq!(classified(&shipped, bag).0, "unexpected_incident");
    let (_, anger, _) = classified(&shipped, "太生气了!");
    assert!(anger >= 0.8, "{anger}");

    // The same plugins without the phrases: the complaints fall through.
    let bare = tempfile::tempdir().unwrap();
    copy_dir(&shipped, bare.path());
    for name in ["classify.toml", "sentiment.toml"] {
        let path = bare.path().join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let cut = text.find("\n# Extra").unwrap();
        let limits = text.find("[limits]").unwrap();
        std::fs::write(&path, format!("{}\n\n{}", &text[..cut], &text[limits..])).unwrap();
    }
    assert_eq!(classified(bare.path(), latte).0, "other");
    assert_eq!(classified(bare.path(), bag).0, "other");
    assert_eq!(classified(bare.path(), "太生气了!").1, 0.75);

    // A type that does not exist fails the plugin, which says why.
    let path = bare.path().join("classify.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let limits = text.find("[limits]").unwrap();
    std::fs::write(
        &path,
        format!(
            "{}[config.phrases]\naftersales = [\"no one came\"]\n\n{}",
            &text[..limits],
            &text[limits..]
        ),
    )
    .unwrap();
    let (_, _, warnings) = classified(bare.path(), latte);
    assert!(
        warnings.contains("plugin `classify` failed")
            && warnings.contains("config `phrases.aftersales`: no such type"),
        "{warnings}"
    );
}
