//! No panic on any input: mutated rule files, random conditions and mutated
//! events must produce errors (or decisions), never crashes. Inputs come
//! from a seeded generator, so a failure names the seed that reproduces it.

use std::path::PathBuf;

use redress::decision::TraceLevel;
use redress::engine::Stateless;
use redress::event::ComplaintEvent;
use redress::expr::{Env, Expect, Expression};
use redress::plugin::{PluginRuntime, PluginSet, RuntimeOptions, load_plugins};
use redress::rules::{RuleFileText, load_files, read_rule_files};
use redress::snapshot::Snapshot;

use crate::support::{default_rules, repo};

/// The example plugins, which the default rules read.
fn example_plugins() -> PluginSet {
    let runtime = PluginRuntime::new(&RuntimeOptions::default()).unwrap();
    load_plugins(&repo().join("plugins"), &runtime, None)
        .set
        .unwrap()
}

/// xorshift64*: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "[[route]]",
    "[[cap]]",
    "[ruleset]",
    "when = '",
    "'",
    "\"",
    "'''",
    "=",
    "{",
    "}",
    "[",
    "]",
    "&&",
    "||",
    "!",
    "(",
    ")",
    ".",
    ",",
    "\n",
    "customer.",
    "plugins.",
    "attrs.",
    "1e400",
    "-",
    "9999999999999999999999",
    "has(",
    "size(",
    "duration(\"",
    "\"24h\")",
    "matches(\"(\")",
    " in [",
    "? 1 : ",
    "质量",
    "\u{0}",
    "\\",
    "name = \"x\"",
    "priority = ",
    "max_total = \"",
    "offers = [{ kind = ",
    "window = \"-1d\"",
    "null",
    "true",
    "min(",
    "max(",
    "timestamp(\"",
    "int(",
    "double(",
    "/ 0",
    "% 0",
    "\u{1F600}",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(5) {
            0 if !chars.is_empty() => {
                let end = (at + 1 + rng.below(20)).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            1 | 2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                chars.splice(at..at, token.chars());
            }
            3 => {
                let lines: Vec<String> = chars
                    .iter()
                    .collect::<String>()
                    .lines()
                    .map(str::to_string)
                    .collect();
                if lines.len() > 2 {
                    let mut lines = lines;
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(a, b);
                    chars = lines.join("\n").chars().collect();
                }
            }
            _ => {
                if let Some(c) = chars.get_mut(at) {
                    *c = char::from_u32((rng.next() % 0x250) as u32).unwrap_or('x');
                }
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_rule_files_give_diagnostics_not_panics() {
    let files = read_rule_files(&default_rules()).unwrap();
    let env = example_plugins().env();
    assert!(!load_files(files.clone(), &env).has_errors());
    let mut rng = Rng(0x5EED_0001);
    let mut rejected = 0;
    for round in 0..1500 {
        let mut mutated = files.clone();
        let victim = rng.below(mutated.len());
        mutated[victim].text = mutate(&mutated[victim].text, &mut rng);
        let text = mutated[victim].text.clone();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load_files(mutated, &env)));
        let outcome = outcome.unwrap_or_else(|_| panic!("round {round}: panic loading:\n{text}"));
        if outcome.has_errors() {
            rejected += 1;
            assert!(outcome.ruleset.is_none());
            for diagnostic in &outcome.diagnostics {
                assert!(!diagnostic.message.is_empty());
                // Rendering must work for every diagnostic, too.
                let _ = diagnostic.render(&outcome.sources);
            }
        }
    }
    assert!(
        rejected > 500,
        "mutations should mostly break files, {rejected} did"
    );
}

#[test]
fn random_conditions_compile_or_fail_cleanly() {
    let env = Env::standard();
    let event =
        ComplaintEvent::from_json(br#"{"id": "x", "amount": 5, "attrs": {"n": 0, "s": "a"}}"#)
            .unwrap();
    let facts = redress::expr::Facts::of_event(&event);
    let words = [
        "customer.tier",
        "customer.deposits",
        "amount",
        "text",
        "attrs.n",
        "attrs.s",
        "category",
        "received_at",
        "\"key\"",
        "3",
        "2.5",
        "0",
        "true",
        "null",
        "==",
        "!=",
        ">=",
        "<",
        "+",
        "-",
        "*",
        "/",
        "%",
        "&&",
        "||",
        "!",
        "(",
        ")",
        "[",
        "]",
        ",",
        "in",
        "?",
        ":",
        "size(",
        "has(",
        "min(",
        "max(",
        "duration(\"1h\")",
        ".contains(",
        ".matches(",
        "int(",
        "double(",
        "string(",
        "timestamp(\"2026-01-01T00:00:00Z\")",
    ];
    let mut rng = Rng(0x5EED_0002);
    let mut compiled = 0;
    for _ in 0..5000 {
        let source: Vec<&str> = (0..1 + rng.below(12))
            .map(|_| words[rng.below(words.len())])
            .collect();
        let source = source.join(" ");
        for expect in [Expect::Bool, Expect::Number] {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Expression::compile(&source, &env, expect)
            }));
            let result = result.unwrap_or_else(|_| panic!("panic compiling `{source}`"));
            if let Ok(expression) = result {
                compiled += 1;
                let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _ = expression.evaluate(&facts);
                    let _ = expression.inputs(&facts);
                }));
                assert!(evaluated.is_ok(), "panic evaluating `{source}`");
            }
        }
    }
    assert!(
        compiled > 50,
        "some random conditions should compile, {compiled} did"
    );
}

#[test]
fn mutated_events_are_refused_or_decided_never_panic() {
    let files: Vec<RuleFileText> = read_rule_files(&default_rules()).unwrap();
    let snapshot = Snapshot::from_rule_files(files, example_plugins())
        .snapshot
        .unwrap();
    let seed_event = r#"{"id": "c-1", "received_at": "2026-11-20T09:15:00Z", "occurred_at": "2026-11-01T00:00:00Z",
        "channel": "phone", "location": "b-1", "text": "质量很差 the plums", "category": "product_quality",
        "product_line": "tv", "amount": 12.5, "currency": "USD",
        "customer": {"id": "k", "tier": "key", "lifetime_value": 9000, "deposits": 4200000, "tenure_days": 30, "prior_complaints": 1, "prior_goodwill": 0},
        "attrs": {"injury": true, "n": [1, 2, {"a": null}]}}"#;
    let mut rng = Rng(0x5EED_0003);
    let mut decided = 0;
    for round in 0..3000 {
        let text = mutate(seed_event, &mut rng);
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ComplaintEvent::from_json(text.as_bytes())
        }));
        let parsed = parsed.unwrap_or_else(|_| panic!("round {round}: panic parsing {text}"));
        if let Ok(event) = parsed {
            decided += 1;
            // Plugins and rules both see the mutated event.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                redress::intake::evaluate(
                    &snapshot,
                    &event,
                    &Default::default(),
                    &Stateless,
                    TraceLevel::Full,
                )
            }));
            let decision =
                result.unwrap_or_else(|_| panic!("round {round}: panic deciding {text}"));
            let decision = match decision {
                Ok(decision) => decision,
                // A mutated currency code: refused with a message, as it should be.
                Err(redress::intake::IntakeError::UnknownCurrency(_)) => continue,
                Err(error) => panic!("round {round}: {error}"),
            };
            assert!(
                decision
                    .plugins
                    .iter()
                    .all(|run| run.outcome.as_str() == "ok"),
                "round {round}: {:?}",
                decision.plugins
            );
        }
    }
    assert!(
        decided > 100,
        "some mutated events should still parse, {decided} did"
    );
}

#[test]
fn rule_files_in_odd_places_are_handled() {
    // Empty, binary and huge-number files are diagnostics too.
    let cases = [
        String::new(),
        "\u{0}\u{1}\u{2}".to_string(),
        "x = 1e999999".to_string(),
        "[[route]]\n".repeat(1000),
    ];
    for text in cases {
        let outcome = load_files(
            vec![RuleFileText {
                path: PathBuf::from("odd.toml"),
                text,
            }],
            &Env::standard(),
        );
        assert!(outcome.has_errors());
    }
}
