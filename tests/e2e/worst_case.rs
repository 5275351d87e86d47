//! The worst case as an operator meets it: printed by `check`, a declared
//! limit failing `check` and refusing a reload, and plugin ranges enforced.

use crate::support::*;

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(output)).unwrap()
}

#[test]
fn check_prints_a_finite_worst_case_with_witnesses_on_the_default_rules() {
    let output = redress(&["check", "rules"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("worst case per complaint: 1000.00 USD (key), 200.00 USD (other tiers)"),
        "{text}"
    );
    assert!(
        text.contains(
            "worst case authority per complaint: 715.00 USD (key), 215.00 USD (other tiers)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "parking-stamp: 5.00 per complaint, 250.00 USD per location per 24h (50 uses × 5.00)"
        ),
        "{text}"
    );

    let worst = json(&redress(&["check", "rules", "--json"]));
    for measure in ["payout", "authority"] {
        for segment in worst[measure].as_array().unwrap() {
            let value = segment["value"]
                .as_f64()
                .unwrap_or_else(|| panic!("{segment}"));
            let witness = &segment["witness"];
            assert_eq!(segment["reached"], true, "{segment}");
            assert!(
                (witness["decides_to"].as_f64().unwrap() - value).abs() < 0.01,
                "{segment}"
            );
        }
    }
    for grant in worst["grants"].as_array().unwrap() {
        assert!(grant["per_window"].as_f64().is_some(), "{grant}");
        assert_eq!(grant["per_complaint"]["reached"], true, "{grant}");
    }
}

#[test]
fn check_shows_an_unbounded_cap_and_what_it_grows_with() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&default_rules(), dir.path());
    let caps = dir.path().join("60-caps.toml");
    let text = std::fs::read_to_string(&caps).unwrap().replace(
        "min(1000.0, max(100.0, customer.lifetime_value * 0.02))",
        "max(100.0, customer.lifetime_value * 0.02)",
    );
    std::fs::write(&caps, text).unwrap();
    let settings = dir.path().join("00-ruleset.toml");
    let text = std::fs::read_to_string(&settings)
        .unwrap()
        .replace("max_payout = 1000\n", "")
        .replace("max_payout_per_kind = { refund = 1000 }\n", "")
        .replace("\"customer.lifetime_value\" = [0, 10000000]\n", "");
    std::fs::write(&settings, text).unwrap();
    let output = redress(&["check", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(
            "unbounded (key: grows with customer.lifetime_value through cap `key-ceiling`"
        ),
        "{text}"
    );
    assert!(text.contains("200.00 USD (other tiers)"), "{text}");
}

fn over_limit_rules(dir: &std::path::Path) {
    std::fs::write(dir.join("00-ruleset.toml"), "[ruleset]\nmax_payout = 100\n").unwrap();
    std::fs::write(
        dir.join("50-compensation.toml"),
        r#"[[route]]
name = "all"
queue = "care"

[[compensate]]
name = "big-coupon"
offers = [{ kind = "coupon", value = 150 }]

[[cap]]
name = "loose-ceiling"
max_total = 500
"#,
    )
    .unwrap();
}

#[test]
fn check_fails_a_payout_over_max_payout_naming_both_rules() {
    let dir = tempfile::tempdir().unwrap();
    over_limit_rules(dir.path());
    let output = redress(&["check", dir.path().to_str().unwrap(), "--no-plugins"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("error: worst case per complaint (every complaint) is 150.00 USD, over `max_payout` = 100.00"),
        "{text}"
    );
    assert!(text.contains("50-compensation.toml:6:8"), "{text}");
    assert!(
        text.contains("compensate `big-coupon` offers coupon worth up to 150.00"),
        "{text}"
    );
    assert!(
        text.contains("cap `loose-ceiling` caps the total at 500.00"),
        "{text}"
    );
    assert!(text.contains("00-ruleset.toml:1:2"), "{text}");
    // For machines, the bound is printed even though the check fails.
    let output = redress(&[
        "check",
        dir.path().to_str().unwrap(),
        "--no-plugins",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json(&output)["payout_overall"]["value"], 150.0);
    // `test` loads the same way, so it fails too.
    let output = redress(&["test", dir.path().to_str().unwrap(), "--no-plugins"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
}

#[test]
fn the_daemon_refuses_a_reload_over_a_declared_limit() {
    let daemon = Daemon::start("[reload]\nwatch = false\n[auth]\nadmin_tokens = [\"boss\"]\n")
        .with_token("boss");
    let (_, before) = daemon.get("/v1/ruleset");
    assert_eq!(before["worst_case"]["payout_overall"]["value"], 1000.0);
    let version = daemon.ruleset_version();
    let compensation = daemon.path("rules/50-compensation.toml");
    let text = std::fs::read_to_string(&compensation).unwrap().replace(
        r#"offers = [{ kind = "gift", value = 25 }]"#,
        r#"offers = [{ kind = "gift", value = 2500 }]"#,
    );
    let caps = daemon.path("rules/60-caps.toml");
    let caps_text = std::fs::read_to_string(&caps)
        .unwrap()
        .replace("min(1000.0, max(", "min(5000.0, max(");
    save_atomically(&compensation, text.as_bytes());
    save_atomically(&caps, caps_text.as_bytes());
    let (status, error) = daemon.post("/v1/reload", "");
    assert_eq!(status, 422, "{error}");
    let rendered = error["error"]["details"]["rendered"].as_str().unwrap();
    assert!(
        rendered.contains("worst case per complaint (key) is"),
        "{rendered}"
    );
    assert!(
        rendered.contains("over `max_payout` = 1000.00"),
        "{rendered}"
    );
    assert_eq!(
        daemon.ruleset_version(),
        version,
        "the last good rules keep serving"
    );
}

#[test]
fn a_plugin_output_outside_its_range_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&default_rules(), dir.path());
    std::fs::write(
        dir.path().join("tests/range.toml"),
        r#"[[case]]
name = "anger-out-of-range"
event = { id = "r-1", category = "after_sales" }
plugins.sentiment = { anger = 1.5 }
expect = {}
"#,
    )
    .unwrap();
    let output = redress_in(
        &repo(),
        &["test", dir.path().to_str().unwrap(), "--plugins", "plugins"],
    );
    let text = format!("{}{}", stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("output `anger` is 1.5, outside its declared range [0, 1]"),
        "{text}"
    );
}
