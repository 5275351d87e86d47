//! Condition compiler tests: semantics on real events, and load-time errors.

use super::*;
use crate::annotation::{AnnotationType, AnnotationValue};
use crate::event::ComplaintEvent;

fn event() -> ComplaintEvent {
    ComplaintEvent::from_json(
        r#"{
            "id": "c-1",
            "received_at": "2026-11-20T10:00:00Z",
            "occurred_at": "2026-11-18T10:00:00Z",
            "channel": "phone",
            "text": "The parking ticket was not stamped. 质量很差",
            "category": "service_policy",
            "amount": 12.5,
            "customer": {"tier": "ordinary", "deposits": 4200000, "tenure_days": 7300},
            "attrs": {"store_size": "large", "volume": 1200, "tags": ["vip", "farmer"], "geo": {"region": "north"}}
        }"#
        .as_bytes(),
    )
    .unwrap()
}

fn eval_with(
    source: &str,
    env: &Env,
    annotations: &[Option<AnnotationValue>],
) -> Option<serde_json::Value> {
    let expression = Expression::compile(source, env, Expect::Bool)
        .or_else(|_| Expression::compile(source, env, Expect::Number))
        .unwrap_or_else(|errors| panic!("{source}: {errors:?}"));
    let event = event();
    let facts = Facts {
        annotations,
        ..Facts::of_event(&event)
    };
    expression.evaluate(&facts).map(|v| v.to_json())
}

fn eval(source: &str) -> Option<serde_json::Value> {
    eval_with(source, &Env::standard(), &[])
}

fn errors(source: &str) -> Vec<CompileError> {
    Expression::compile(source, &Env::standard(), Expect::Bool).unwrap_err()
}

#[test]
fn comparisons_and_logic() {
    assert_eq!(eval(r#"customer.tier == "ordinary""#), Some(true.into()));
    assert_eq!(
        eval(r#"customer.tier == "key" || customer.deposits >= 1000000"#),
        Some(true.into())
    );
    assert_eq!(
        eval(r#"channel in ["phone", "fax"] && !(amount > 100.0)"#),
        Some(true.into())
    );
    assert_eq!(eval("customer.tenure_days / 365 >= 20"), Some(true.into()));
    assert_eq!(eval("amount * 2 == 25"), Some(true.into()));
    assert_eq!(
        eval("min(amount, 10) == 10.0 && max(1, 2, 3) == 3"),
        Some(true.into())
    );
    assert_eq!(eval("amount > 100.0 ? 1 : 2"), Some(2.into()));
}

#[test]
fn strings_durations_and_timestamps() {
    assert_eq!(
        eval(r#"text.contains("parking") && text.startsWith("The")"#),
        Some(true.into())
    );
    assert_eq!(eval(r#"text.contains("质量")"#), Some(true.into()));
    assert_eq!(
        eval(r#"text.matches("(?i)PARKING\\s+ticket")"#),
        Some(true.into())
    );
    assert_eq!(
        eval(r#"text.lowerAscii().endsWith("很差")"#),
        Some(true.into())
    );
    assert_eq!(eval("size(text) > 10"), Some(true.into()));
    assert_eq!(
        eval(r#"received_at - occurred_at >= duration("48h")"#),
        Some(true.into())
    );
    assert_eq!(
        eval(r#"received_at > timestamp("2026-01-01T00:00:00Z")"#),
        Some(true.into())
    );
}

#[test]
fn attrs_are_dynamic() {
    assert_eq!(eval(r#"attrs.store_size == "large""#), Some(true.into()));
    assert_eq!(eval(r#"attrs["volume"] > 1000"#), Some(true.into()));
    assert_eq!(eval(r#""vip" in attrs.tags"#), Some(true.into()));
    assert_eq!(eval(r#"attrs.geo.region == "north""#), Some(true.into()));
    assert_eq!(
        eval("has(attrs.volume) && !has(attrs.missing)"),
        Some(true.into())
    );
    // A type mismatch at run time is "no value", so the rule does not match.
    assert_eq!(eval(r#"attrs.store_size > 3"#), None);
}

#[test]
fn unset_values_follow_cel_error_absorption() {
    // product_line is not set: it reads as null, unequal to everything.
    assert_eq!(eval(r#"product_line == "tv""#), Some(false.into()));
    assert_eq!(eval(r#"product_line != "tv""#), Some(true.into()));
    assert_eq!(
        eval(r#"product_line in ["tv", "radio"]"#),
        Some(false.into())
    );
    assert_eq!(eval(r#"attrs.nothing != "x""#), Some(true.into()));
    // Ordering an unset value is undecided; && and || absorb it.
    assert_eq!(eval(r#"product_line > "a""#), None);
    assert_eq!(eval(r#"product_line > "a" && false"#), Some(false.into()));
    assert_eq!(eval(r#"product_line > "a" || true"#), Some(true.into()));
    assert_eq!(eval(r#"product_line.contains("t")"#), None);
    assert_eq!(eval("has(product_line)"), Some(false.into()));
    assert_eq!(eval("has(category)"), Some(true.into()));
    assert_eq!(eval("customer.open_cases > 0"), None);
}

#[test]
fn plugin_outputs_are_typed() {
    let mut env = Env::standard();
    env.add_plugin_output("sentiment", "anger", AnnotationType::Number, 0);
    env.add_plugin_output("classify", "topics", AnnotationType::List, 1);
    let annotations = [
        Some(AnnotationValue::Number(0.9)),
        Some(AnnotationValue::List(vec!["refund".into()])),
    ];
    assert_eq!(
        eval_with(
            r#"plugins.sentiment.anger >= 0.8 && "refund" in plugins.classify.topics"#,
            &env,
            &annotations
        ),
        Some(true.into())
    );
    let error =
        &Expression::compile("plugins.sentiment.angr > 1", &env, Expect::Bool).unwrap_err()[0];
    assert!(
        error.message.contains("declares no output `angr`"),
        "{error:?}"
    );
    assert_eq!(error.help.as_deref(), Some("did you mean `anger`?"));
    let error =
        &Expression::compile("plugins.sentimnt.anger > 1", &env, Expect::Bool).unwrap_err()[0];
    assert_eq!(error.help.as_deref(), Some("did you mean `sentiment`?"));
    let error = &Expression::compile(r#"plugins.sentiment.anger == "high""#, &env, Expect::Bool)
        .unwrap_err()[0];
    assert!(
        error.message.contains("cannot compare double with string"),
        "{error:?}"
    );
}

#[test]
fn unknown_field_has_position_and_suggestion() {
    let source = r#"customer.teir == "key""#;
    let errors = errors(source);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message, "unknown field `customer.teir`");
    assert_eq!(&source[errors[0].span.clone()], "customer.teir");
    assert_eq!(
        errors[0].help.as_deref(),
        Some("did you mean `customer.tier`?")
    );
}

#[test]
fn type_errors_are_caught_at_load() {
    let source = r#""gold" > 3"#;
    let error = &errors(source)[0];
    assert!(
        error
            .message
            .contains("cannot compare string with int using `>`"),
        "{error:?}"
    );
    assert_eq!(&source[error.span.clone()], source);
    let error = &errors("customer.tier == 3")[0];
    assert!(
        error.help.as_deref().unwrap().contains(r#""3""#),
        "{error:?}"
    );
    let error = &errors("customer.tenure_days * customer.deposits > 1.0")[0];
    assert!(
        error
            .help
            .as_deref()
            .unwrap()
            .contains("double(customer.tenure_days)"),
        "{error:?}"
    );
    let error = &errors("customer.tier")[0];
    assert!(error.message.contains("must be true or false"), "{error:?}");
    let error = &errors("category == null")[0];
    assert!(
        error.help.as_deref().unwrap().contains("!has(category)"),
        "{error:?}"
    );
}

#[test]
fn several_errors_in_one_condition_are_all_reported() {
    let errors = errors(r#"custmer.tier == "key" && frobnicate(text) && customer == 1"#);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[1].message.contains("unknown function `frobnicate`"));
    assert!(
        errors[2]
            .message
            .contains("`customer` is a group of fields")
    );
}

#[test]
fn syntax_errors_point_at_the_problem() {
    let errors = errors("customer.tier == ");
    assert!(errors[0].message.starts_with("syntax error"), "{errors:?}");
    assert_eq!(errors[0].span.start, 17);
    let errors = Expression::compile("", &Env::standard(), Expect::Bool).unwrap_err();
    assert!(errors[0].message.contains("empty"));
}

#[test]
fn unsupported_features_say_so() {
    assert!(
        errors("[1, 2].exists(x, x > 1)")[0]
            .message
            .contains("not supported")
    );
    assert!(
        errors(r#"text.matches("(")"#)[0]
            .message
            .contains("invalid regular expression")
    );
    assert!(
        errors(r#"received_at > duration("3 days")"#)[0]
            .message
            .contains("invalid duration")
    );
}

#[test]
fn equalities_become_index_hints() {
    let env = Env::standard();
    let expression = Expression::compile(
        r#"category == "billing" && channel in ["phone", "fax"] && amount > 10.0"#,
        &env,
        Expect::Bool,
    )
    .unwrap();
    let hints = expression.index_hints();
    assert_eq!(hints.len(), 2);
    assert_eq!(hints[0].path, "category");
    assert_eq!(hints[1].values, vec!["phone", "fax"]);
    let disjunction =
        Expression::compile(r#"category == "a" || channel == "b""#, &env, Expect::Bool).unwrap();
    assert!(disjunction.index_hints().is_empty());
}

#[test]
fn inputs_report_the_values_compared() {
    let env = Env::standard();
    let expression = Expression::compile(
        r#"customer.tier == "key" || customer.deposits >= 1000000"#,
        &env,
        Expect::Bool,
    )
    .unwrap();
    let event = event();
    let inputs = expression.inputs(&Facts::of_event(&event));
    assert_eq!(inputs["customer.tier"], serde_json::json!("ordinary"));
    assert_eq!(inputs["customer.deposits"], serde_json::json!(4200000.0));
}

#[test]
fn deep_nesting_is_refused_not_crashed() {
    let source = format!("{}true{}", "(".repeat(500), ")".repeat(500));
    assert!(Expression::compile(&source, &Env::standard(), Expect::Bool).is_err());
    let source = vec!["true"; 3000].join(" && ");
    assert!(Expression::compile(&source, &Env::standard(), Expect::Bool).is_err());
}
