//! Control lines: every matching `[[control_line]]` counts this complaint
//! in its group over its window (the store keeps the counts); crossing the
//! line flags, notifies and escalates.

use std::collections::BTreeMap;

use crate::decision::{ControlLineOutcome, ControlLineStatus, EscalationDecision, Name};
use crate::engine::run::Run;
use crate::engine::state::StateView;
use crate::expr::Value;
use crate::rule_kind::RuleKind;
use crate::rules::{ControlLimit, ControlLine, Rule, RuleList};

/// `levels` are the rule set's escalation levels, lowest first.
#[inline]
pub(in crate::engine) fn control_lines(
    run: &mut Run<'_, '_>,
    lines: &RuleList<ControlLine>,
    levels: &[String],
    state: &dyn StateView,
) -> Vec<ControlLineOutcome> {
    let mut outcomes = Vec::new();
    for rule in run.matching(RuleKind::ControlLine, lines) {
        let outcome = control_line(run, rule, state);
        if outcome.status == ControlLineStatus::Crossed {
            run.flags.push(rule.body.then.flag.clone());
            run.notify.extend(rule.body.then.notify.iter().cloned());
            if let Some(to) = &rule.body.then.escalate
                && let Some(level) = levels.iter().position(|l| **l == **to)
            {
                run.escalations.push((
                    level,
                    EscalationDecision {
                        to: to.clone(),
                        rule: rule.name.clone(),
                        reason: Some(Name::from(format!(
                            "control line crossed: {} complaints in {}",
                            outcome.count.unwrap_or_default(),
                            rule.body.window
                        ))),
                    },
                ));
            }
        }
        run.note_last(&rule.name, describe_control_line(&outcome));
        outcomes.push(outcome);
    }
    outcomes
}

fn control_line(
    run: &Run<'_, '_>,
    rule: &Rule<ControlLine>,
    state: &dyn StateView,
) -> ControlLineOutcome {
    let group: BTreeMap<Name, String> = rule
        .body
        .group_by
        .iter()
        .map(|(path, reader)| {
            let value = match reader.evaluate(run.facts) {
                Some(Value::Str(s)) => s.into_owned(),
                Some(other) => other.to_json().to_string(),
                None => "(not set)".to_string(),
            };
            (path.clone(), value)
        })
        .collect();
    let limit = match &rule.body.limit {
        ControlLimit::Count(count) => Some(*count as f64),
        ControlLimit::Rate { max_rate, volume } => {
            volume.number_value(run.facts).map(|v| max_rate * v)
        }
    };
    let Some(before) =
        state.control_line_count(&rule.name, &group, rule.body.window, run.received_at)
    else {
        return ControlLineOutcome {
            rule: rule.name.clone(),
            group,
            status: ControlLineStatus::NotEvaluated,
            count: None,
            limit,
        };
    };
    let count = before + 1;
    let status = match limit {
        Some(limit) if count as f64 > limit => ControlLineStatus::Crossed,
        Some(_) => ControlLineStatus::Within,
        None => ControlLineStatus::NotEvaluated,
    };
    ControlLineOutcome {
        rule: rule.name.clone(),
        group,
        status,
        count: Some(count),
        limit,
    }
}

fn describe_control_line(outcome: &ControlLineOutcome) -> String {
    match outcome.status {
        ControlLineStatus::NotEvaluated if outcome.count.is_none() => {
            "not evaluated: counting complaints needs the daemon's store".to_string()
        }
        ControlLineStatus::NotEvaluated => {
            "not evaluated: the volume could not be computed".to_string()
        }
        status => format!(
            "{status}: {} complaints in the window, line at {}",
            outcome.count.unwrap_or_default(),
            outcome.limit.unwrap_or_default()
        ),
    }
}
