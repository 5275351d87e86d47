//! Rule tests as data: `DIR/tests/*.toml` files of cases (an event and the
//! fragments of the decision it must produce) and sequences (complaints,
//! lifecycle events and moves of the clock against a fresh store, with
//! expectations on each step). `redress test` runs them and shows what
//! differs.
//!
//! - [`file`]: the format, as written (and as its JSON Schema says).
//! - `load`: reading files; each case and sequence on its own.
//! - `compare`: expected fragments against decisions and cases.
//! - `sequence`: running a sequence against a temporary store.
//! - `report`: what is printed.

mod compare;
mod file;
mod load;
mod report;
mod sequence;
mod toml_json;

pub use compare::{Mismatch, check_decision, check_fragment};
pub use file::{HistoryStub, Sequence, Step, TestCase, TestFile};
pub use load::{
    Action, CaseError, ClockMove, DEFAULT_RECEIVED_AT, Loaded, LoadedCase, LoadedSequence,
    LoadedStep, MAX_REPEAT, load_tests, parse_tests,
};
pub use report::{CaseResult, render_results};
pub use sequence::run_sequence;
pub use toml_json::toml_to_json;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::compare::{Mismatch, compare};
    use super::*;

    #[test]
    fn fragments_match_partially_and_report_paths() {
        let expected = serde_json::json!({"route": {"queue": "billing"}, "offers": [{"kind": "refund", "value": 10}]});
        let actual = serde_json::json!({"route": {"queue": "care", "rule": "x"}, "offers": [{"kind": "refund", "value": 10.0, "note": null}]});
        let mut out = Vec::new();
        compare(&expected, &actual, "", &mut out);
        assert_eq!(
            out,
            vec![Mismatch {
                path: "route.queue".into(),
                expected: "\"billing\"".into(),
                found: "\"care\"".into()
            }]
        );
    }

    #[test]
    fn cases_parse_with_defaults_and_line_numbers() {
        let text = "\n[[case]]\nname = \"a\"\nevent = { id = \"e-1\", received_at = 2026-11-20T10:00:00Z }\nexpect = { route = { queue = \"x\" } }\n\n[[case]]\nname = \"b\"\nevent = { id = \"e-2\", channel = 3 }\nexpect = {}\n";
        let Loaded { cases, errors, .. } = parse_tests(Path::new("t.toml"), text);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].line, 2);
        assert_eq!(
            cases[0].event.received_at.unwrap().to_rfc3339(),
            "2026-11-20T10:00:00Z"
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("channel"), "{errors:?}");
    }

    #[test]
    fn an_invalid_case_is_reported_and_the_others_still_run() {
        let text = "[[case]]\nname = \"typo\"\nevent = { id = \"e-1\" }\nexpekt = {}\n\n[[case]]\nname = \"good\"\nevent = { id = \"e-2\" }\nexpect = {}\n";
        let Loaded { cases, errors, .. } = parse_tests(Path::new("t.toml"), text);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].name, "good");
        assert_eq!(cases[0].line, 6);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 1);
        assert_eq!(errors[0].name.as_deref(), Some("typo"));
        assert!(errors[0].message.contains("expekt"), "{errors:?}");
    }

    #[test]
    fn a_bad_step_names_its_line_and_the_other_sequences_load() {
        let text = "[[sequence]]\nname = \"bad\"\n\n[[sequence.step]]\nevent = { id = \"a\" }\n\n[[sequence.step]]\nevent = { id = \"b\", received_at = 2026-01-01T00:00:00Z }\n\n[[sequence]]\nname = \"good\"\n[[sequence.step]]\nafter = \"1h\"\nexpect_fired = []\n";
        let Loaded {
            sequences, errors, ..
        } = parse_tests(Path::new("t.toml"), text);
        assert_eq!(sequences.len(), 1);
        assert_eq!(sequences[0].name, "good");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 7);
        assert!(
            errors[0]
                .message
                .starts_with("step 2: a sequence's complaints are received at the clock's time"),
            "{errors:?}"
        );
    }

    #[test]
    fn steps_that_mix_actions_are_refused() {
        for (step, message) in [
            ("event = { id = \"a\" }\ncase = \"a\"", "not both"),
            ("lifecycle = { type = \"responded\" }", "needs the `case`"),
            ("expect = { route = {} }", "needs something to check"),
            (
                "case = \"a\"\nrepeat = 2",
                "`repeat` is for a step with an `event`",
            ),
            ("after = \"1h\"\nat = 2026-01-02T00:00:00Z", "not both"),
            ("event = { id = \"a\" }\nrepeat = 0", "`repeat` must be 1"),
        ] {
            let text = format!("[[sequence]]\nname = \"s\"\n[[sequence.step]]\n{step}\n");
            let Loaded { errors, .. } = parse_tests(Path::new("t.toml"), &text);
            assert_eq!(errors.len(), 1, "{step}: {errors:?}");
            assert!(errors[0].message.contains(message), "{step}: {errors:?}");
        }
    }

    const SEQUENCE_RULES: &str = r#"
[ruleset]
escalation_levels = ["front_line", "supervisor"]

[[route]]
name = "all"
queue = "care"

[[sla]]
name = "standard"
first_response = "24h"
on_breach = { escalate = "supervisor" }

[[control_line]]
name = "per-location"
group_by = ["location"]
window = "7d"
limit = 2
then = { flag = "anomaly" }
"#;

    fn sequence_snapshot() -> std::sync::Arc<crate::snapshot::Snapshot> {
        let outcome = crate::snapshot::Snapshot::from_rule_files(
            vec![crate::rules::RuleFileText {
                path: "rules.toml".into(),
                text: SEQUENCE_RULES.to_string(),
            }],
            crate::plugin::PluginSet::empty(),
        );
        std::sync::Arc::new(outcome.snapshot.expect("the rules load"))
    }

    fn run(text: &str) -> Result<Vec<Mismatch>, String> {
        let Loaded {
            sequences, errors, ..
        } = parse_tests(Path::new("t.toml"), text);
        assert!(errors.is_empty(), "{errors:?}");
        run_sequence(&sequence_snapshot(), &sequences[0], &mut |_, _| Ok(()))
    }

    #[test]
    fn a_sequence_counts_through_the_store_and_fires_timers_as_the_clock_moves() {
        let text = r#"
[[sequence]]
name = "s"
start = 2026-02-01T00:00:00Z
[[sequence.step]]
event = { id = "a", location = "north" }
repeat = 3
every = "1h"
expect.control_lines = [{ count = 3, status = "crossed" }]
expect.flags = ["anomaly"]
[[sequence.step]]
case = "a-1"
lifecycle = { type = "responded" }
[[sequence.step]]
after = "23h"
expect_fired = [{ case_id = "a-2", timer = "first_response", due_at = "2026-02-02T01:00:00Z", escalate = "supervisor" }]
[[sequence.step]]
case = "a-3"
expect.timers = [{ kind = "first_response", state = "pending" }]
"#;
        assert_eq!(run(text), Ok(Vec::new()));
    }

    #[test]
    fn failed_expectations_name_their_step_and_the_sequence_goes_on() {
        let text = r#"
[[sequence]]
name = "s"
[[sequence.step]]
name = "first"
event = { id = "a", location = "north" }
expect.route = { queue = "billing" }
[[sequence.step]]
case = "a"
lifecycle = { type = "confirmed" }
[[sequence.step]]
case = "nobody"
"#;
        let mismatches = run(text).unwrap();
        let paths: Vec<&str> = mismatches.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "step 1 (first) (line 4): route.queue",
                "step 2 (line 8): lifecycle",
                "step 3 (line 11): case"
            ]
        );
        assert!(
            mismatches[1].found.contains("is not possible now"),
            "{mismatches:?}"
        );
    }

    #[test]
    fn the_clock_never_goes_back_and_ids_are_not_reused() {
        let back = "[[sequence]]\nname = \"s\"\nstart = 2026-02-01T00:00:00Z\n[[sequence.step]]\nat = 2026-01-01T00:00:00Z\n";
        assert!(run(back).unwrap_err().contains("only moves forward"));
        let twice = "[[sequence]]\nname = \"s\"\n[[sequence.step]]\nevent = { id = \"a\" }\n[[sequence.step]]\nevent = { id = \"a\" }\n";
        assert!(
            run(twice)
                .unwrap_err()
                .contains("give each complaint its own id")
        );
    }
}
