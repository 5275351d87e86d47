//! Rule-set loading: good sets compile; bad ones report every problem with
//! its place.

use std::path::PathBuf;

use super::*;
use crate::decision::Name;
use crate::expr::Env;

fn load(files: &[(&str, &str)]) -> LoadOutcome {
    let files = files
        .iter()
        .map(|(name, text)| RuleFileText {
            path: PathBuf::from(format!("rules/{name}")),
            text: text.to_string(),
        })
        .collect();
    load_files(files, &Env::standard())
}

const FALLBACK: &str = r#"
[[route]]
name = "everything-else"
queue = "customer-care"
"#;

#[test]
fn a_good_rule_set_compiles_in_priority_then_file_order() {
    let outcome = load(&[
        (
            "20-more.toml",
            r#"
[[route]]
name = "billing"
when = 'category == "billing"'
queue = "billing"
"#,
        ),
        (
            "10-first.toml",
            r#"
[[route]]
name = "key"
when = 'customer.tier == "key"'
queue = "key-accounts"
handler = "manager"

[[route]]
name = "urgent"
priority = 10
when = 'amount > 1000.0'
queue = "urgent"
"#,
        ),
        ("99-fallback.toml", FALLBACK),
    ]);
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    let ruleset = outcome.ruleset.unwrap();
    let names: Vec<&str> = ruleset.routes.rules.iter().map(|r| &*r.name).collect();
    assert_eq!(names, ["urgent", "key", "billing", "everything-else"]);
    assert_eq!(
        ruleset.routes.rules[1].body.handler.as_deref(),
        Some("manager")
    );
    assert_eq!(ruleset.version.len(), 16);
}

#[test]
fn unknown_key_unknown_field_and_type_error_are_all_reported() {
    let text = r#"
[[route]]
name = "key"
when = 'customer.teir == "key"'
qeue = "key-accounts"
queue = "key-accounts"

[[escalate]]
name = "rich"
when = '"gold" > 3'
to = "supervisor"
"#;
    let outcome = load(&[("10-rules.toml", text), ("99-fallback.toml", FALLBACK)]);
    assert!(outcome.ruleset.is_none());
    let errors: Vec<String> = outcome.diagnostics.iter().map(|d| d.one_line()).collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors.iter().any(
            |e| e.starts_with("rules/10-rules.toml:5:1: error: unknown key `qeue`")
                && e.contains("did you mean `queue`?")
        ),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e
            .starts_with("rules/10-rules.toml:4:9: error: unknown field `customer.teir`")
            && e.contains("did you mean `customer.tier`?")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e
                .starts_with("rules/10-rules.toml:10:9: error: cannot compare string with int")),
        "{errors:#?}"
    );
}

#[test]
fn structural_mistakes_are_explained() {
    let outcome = load(&[(
        "a.toml",
        r#"
[route]
name = "x"
queue = "y"

[[rout]]
name = "z"
"#,
    )]);
    let errors: Vec<String> = outcome.diagnostics.iter().map(|d| d.one_line()).collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("`route` must be an array of tables") && e.contains("[[route]]")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("unknown table `rout`") && e.contains("did you mean `route`?")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("no fallback route")),
        "{errors:#?}"
    );
}

#[test]
fn values_are_validated_with_positions() {
    let outcome = load(&[(
        "a.toml",
        r#"
[[route]]
name = "fallback"
queue = "care"

[[route]]
name = "fallback"
queue = "other"

[[escalate]]
name = "up"
to = "supervisr"

[[sla]]
name = "standard"
first_response = "24 hours"

[[compensate]]
name = "sorry"
offers = [{ kind = "apolgy" }, { kind = "refund", value = "min(amount, 'x')" }]

[[authority]]
name = "parking"
policy = "parking-validation"
grant = "teller"
budget = { per = "branch", window = "1d", count = 5 }

[[control_line]]
name = "burst"
window = "90s"
limit = 3
"#,
    )]);
    let errors: Vec<String> = outcome.diagnostics.iter().map(|d| d.one_line()).collect();
    let expect = [
        "a control line's `window` must be a whole number of minutes",
        "rule name `fallback` is used twice",
        "unknown escalation level `supervisr`",
        "did you mean `supervisor`?",
        "invalid duration `24 hours`",
        "unknown offer kind `apolgy`",
        "did you mean `apology`?",
        "`min` mixes double and string",
        "unknown budget scope `branch`",
        "route `fallback` can never match",
    ];
    for fragment in expect {
        assert!(
            errors.iter().any(|e| e.contains(fragment)),
            "missing {fragment}: {errors:#?}"
        );
    }
    let duration = errors
        .iter()
        .find(|e| e.contains("invalid duration"))
        .unwrap();
    assert!(duration.starts_with("rules/a.toml:16:18"), "{duration}");
}

#[test]
fn toml_syntax_errors_have_positions() {
    let outcome = load(&[("a.toml", "[[route]]\nname = \"x\nqueue = 1\n")]);
    let error = &outcome.diagnostics[0];
    assert!(error.message.starts_with("invalid TOML"), "{error:?}");
    assert_eq!(error.location.as_ref().unwrap().line, 2);
}

#[test]
fn disabled_rules_are_checked_but_left_out() {
    let outcome = load(&[(
        "a.toml",
        r#"
[[route]]
name = "off"
enabled = false
when = 'channel == "fax"'
queue = "fax"

[[route]]
name = "fallback"
queue = "care"
"#,
    )]);
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    assert_eq!(outcome.ruleset.unwrap().routes.len(), 1);
}

#[test]
fn the_version_changes_with_content() {
    let a = load(&[("a.toml", FALLBACK)]).ruleset.unwrap().version;
    let b = load(&[("a.toml", &format!("{FALLBACK}\n# comment"))])
        .ruleset
        .unwrap()
        .version;
    let c = load(&[("a.toml", FALLBACK)]).ruleset.unwrap().version;
    assert_ne!(a, b);
    assert_eq!(a, c);
}

#[test]
fn the_index_selects_only_rules_that_can_match() {
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&format!(
            "[[route]]\nname = \"r{i}\"\nwhen = 'category == \"c{i}\" && amount > 1.0'\nqueue = \"q{i}\"\n\n"
        ));
    }
    text.push_str(FALLBACK);
    let outcome = load(&[("a.toml", &text)]);
    let ruleset = outcome.ruleset.unwrap();
    let event =
        crate::event::ComplaintEvent::from_json(br#"{"id": "x", "category": "c7"}"#).unwrap();
    let facts = crate::expr::Facts::of_event(&event);
    let mut candidates = Vec::new();
    ruleset.routes.index.candidates(&facts, &mut candidates);
    assert_eq!(candidates, vec![7, 50]);
}

#[test]
fn named_conditions_are_used_by_name_and_their_mistakes_have_places() {
    let good = load(&[(
        "10.toml",
        r#"
[conditions]
lost_property = 'text.contains("lost") || text.contains("gone")'
lost_by_key = 'lost_property && customer.tier == "key"'

[[route]]
name = "lost"
when = 'lost_by_key && channel == "store"'
queue = "lost-and-found"

[[route]]
name = "fallback"
queue = "care"
"#,
    )]);
    assert!(!good.has_errors(), "{:?}", good.diagnostics);
    assert!(good.diagnostics.is_empty(), "{:?}", good.diagnostics);
    assert_eq!(
        good.ruleset.unwrap().conditions,
        [Name::from("lost_property"), Name::from("lost_by_key")],
        "each after those it uses"
    );

    let bad = load(&[
        (
            "10.toml",
            r#"
[conditions]
a = 'b && channel == "store"'
b = 'a'
customer = 'true'
amount_plus = 'amount + 1.0'
spare = 'channel == "web"'
"#,
        ),
        (
            "20.toml",
            r#"
[conditions]
spare = 'true'

[[route]]
name = "fallback"
when = 'a || amount_plus || lost_propety'
queue = "care"
"#,
        ),
    ]);
    let found = |text: &str| {
        bad.diagnostics
            .iter()
            .find(|d| d.message.contains(text))
            .unwrap_or_else(|| panic!("no `{text}` in {:#?}", bad.diagnostics))
    };
    let place = |d: &crate::diagnostic::Diagnostic| {
        let l = d.location.as_ref().unwrap();
        (l.file.display().to_string(), l.line, l.column)
    };
    let cycle = found("cycle: `a` -> `b` -> `a`");
    assert_eq!(place(cycle), ("rules/10.toml".to_string(), 3, 1));
    assert_eq!(
        place(found("`customer` is already the name of a field")),
        ("rules/10.toml".to_string(), 5, 1)
    );
    let not_a_flag = found("must be true or false");
    assert_eq!(place(not_a_flag), ("rules/10.toml".to_string(), 6, 16));
    let twice = found("condition `spare` is named twice");
    assert_eq!(place(twice), ("rules/20.toml".to_string(), 3, 1));
    assert!(twice.help.as_deref().unwrap().contains("rules/10.toml:7:1"));
    let unknown = found("unknown field `lost_propety`");
    assert_eq!(place(unknown), ("rules/20.toml".to_string(), 7, 29));
    // Conditions in a cycle or with errors are reported once: their uses
    // add nothing, and they are not "never used".
    assert_eq!(
        bad.diagnostics
            .iter()
            .filter(|d| d.message.contains("`a`"))
            .count(),
        1,
        "{:#?}",
        bad.diagnostics
    );
    let unused: Vec<&str> = bad
        .diagnostics
        .iter()
        .filter(|d| d.message.ends_with("is never used"))
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(unused, ["condition `spare` is never used"]);
}

#[test]
fn a_pattern_that_lost_its_backslash_is_warned_of() {
    let outcome = load(&[(
        "10.toml",
        r#"
[[route]]
name = "toml-basic"
when = "text.matches(\"\bbroken\")"
queue = "a"

[[route]]
name = "cel-escape"
when = 'text.matches("\bbroken")'
queue = "b"

[[route]]
name = "raw-and-doubled"
when = 'text.matches(r"\bbroken") || text.matches("\\bbroken\\b") || text == "a\nb"'
queue = "c"

[[route]]
name = "fallback"
queue = "care"
"#,
    )]);
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    let warnings: Vec<(usize, &str)> = outcome
        .diagnostics
        .iter()
        .map(|d| (d.location.as_ref().unwrap().line, d.message.as_str()))
        .collect();
    assert_eq!(
        warnings,
        [
            (
                4,
                "this condition contains a backspace (`\\b` in a TOML basic string)"
            ),
            (
                9,
                "`\\b` in a condition's string is a control character, not a regex escape"
            ),
        ]
    );
}

#[test]
fn the_table_of_kinds_names_every_rule_file_table_and_the_keys_come_from_the_structs() {
    use crate::rule_kind::RuleKind;
    use crate::rules::raw::{file_tables, known_keys};
    let mut tables = file_tables().to_vec();
    tables.sort_unstable();
    let mut expected: Vec<&str> = RuleKind::all()
        .map(RuleKind::name)
        .chain(["ruleset", "conditions"])
        .collect();
    expected.sort_unstable();
    assert_eq!(tables, expected);
    for kind in RuleKind::all() {
        let keys = known_keys(kind);
        assert_eq!(
            keys[..6],
            [
                "name",
                "description",
                "when",
                "priority",
                "enabled",
                "flags"
            ],
            "{kind}"
        );
        assert!(keys.len() > 6, "{kind} has keys of its own");
    }
    assert_eq!(
        known_keys(RuleKind::Route)[6..],
        ["queue", "handler"],
        "the kind's own keys, in the order the struct declares them"
    );
}

#[test]
fn an_unknown_key_lists_what_the_kind_accepts() {
    let outcome = load_files(
        vec![RuleFileText {
            path: "r.toml".into(),
            text: "[[route]]\nname = \"all\"\nqueue = \"care\"\nzzz = 1\n".into(),
        }],
        &Env::standard(),
    );
    let diagnostic = outcome
        .diagnostics
        .iter()
        .find(|d| d.message.contains("unknown key `zzz`"))
        .expect("the unknown key is reported");
    assert_eq!(
        diagnostic.help.as_deref(),
        Some(
            "`[[route]]` accepts: name, description, when, priority, enabled, flags, queue, handler"
        )
    );
}
