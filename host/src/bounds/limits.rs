//! The limits a rule set declares (`max_payout` and the like), checked
//! against its worst case: a bound over a limit, or unbounded under one,
//! is an error located at the rules that produce it.

use crate::bounds::{Bound, RuleMention, WorstCase};
use crate::diagnostic::{Diagnostic, Location};
use crate::rule_kind::RuleKind;
use crate::rules::RuleSet;
use crate::suggest::did_you_mean;

/// Rounding slack: offers are rounded to the cent one by one.
const CENT: f64 = 0.005;

/// One error per bound that breaks a declared limit.
pub fn check_limits(worst: &WorstCase, ruleset: &RuleSet) -> Vec<Diagnostic> {
    let limits = &ruleset.settings.limits;
    let declared = limits.declared_at.as_ref();
    let currency = &worst.currency;
    let mut errors = Vec::new();
    let per_segment = [
        (
            limits.payout,
            &worst.payout,
            "worst case per complaint",
            "max_payout",
        ),
        (
            limits.authority_per_complaint,
            &worst.authority,
            "worst case authority per complaint",
            "max_authority_per_complaint",
        ),
    ];
    for (limit, segments, what, key) in per_segment {
        let Some(limit) = limit else { continue };
        for segment in segments {
            let what = format!("{what} ({})", segment.segment);
            errors.extend(over(&segment.bound, limit, &what, key, currency, declared));
        }
    }
    for (kind, limit) in &limits.payout_per_kind {
        if let Some(bound) = worst.payout_per_kind.get(kind)
            && let Some(error) = over(
                bound,
                *limit,
                &format!("worst case of `{kind}` offers per complaint"),
                &format!("max_payout_per_kind.{kind}"),
                currency,
                declared,
            )
        {
            errors.push(error);
        }
    }
    for (rule, limit) in &limits.authority_per_window {
        let key = format!("max_authority_per_window.{rule}");
        let Some(grant) = worst.grants.iter().find(|g| g.rule == *rule) else {
            let names = ruleset.authorities.rules.iter().map(|r| &*r.name);
            let mut error =
                Diagnostic::error(format!("`{key}`: no authority rule is named `{rule}`"))
                    .with_help_opt(did_you_mean(rule, names));
            if let Some(at) = declared {
                error = error.at(at.clone());
            }
            errors.push(error);
            continue;
        };
        let exceeds = grant.per_window.is_none_or(|v| v > limit + CENT);
        if exceeds {
            let what = match (grant.per_window, &grant.budget) {
                (Some(v), Some(scope)) => format!("can spend {v:.2} {currency} per {scope}"),
                (None, Some(scope)) => format!("has no upper bound per {scope}"),
                _ => "has no budget, so nothing bounds its spend per window".to_string(),
            };
            let error = Diagnostic::error(format!(
                "authority `{rule}` {what}, over `{key}` = {limit:.2}"
            ))
            .at(grant.location.clone())
            .with_label("this rule")
            .in_rule(format!("authority `{rule}`"))
            .with_help(format!(
                "{}; lower `max_cost` or the budget, or raise the limit{}",
                grant.per_window_how,
                declared_text(declared)
            ));
            errors.push(error);
        }
    }
    errors
}

fn declared_text(declared: Option<&Location>) -> String {
    match declared {
        Some(at) => format!(
            " (declared at {}:{}:{})",
            at.file.display(),
            at.line,
            at.column
        ),
        None => String::new(),
    }
}

fn over(
    bound: &Bound,
    limit: f64,
    what: &str,
    key: &str,
    currency: &str,
    declared: Option<&Location>,
) -> Option<Diagnostic> {
    if bound.value.is_some_and(|v| v <= limit + CENT) {
        return None;
    }
    let value = match bound.value {
        Some(v) => format!("{v:.2} {currency}"),
        None => "unbounded".to_string(),
    };
    let located = bound
        .rules
        .iter()
        .filter(|m| m.kind != RuleKind::Cap.name())
        .chain(bound.rules.iter())
        .find_map(|m| m.location.clone().map(|l| (m, l)));
    let parts: Vec<String> = bound.rules.iter().map(mention_text).collect();
    let mut help = if parts.is_empty() {
        String::new()
    } else {
        format!("made up of: {}", parts.join("; "))
    };
    if !bound.grows_with.is_empty() {
        help.push_str(&format!(
            "; grows with {} (declare a range in `[ruleset.ranges]` or bound the expression)",
            bound.grows_with.join(", ")
        ));
    }
    help.push_str(&format!(
        "; lower an offer, add or tighten a cap, or raise `{key}`{}",
        declared_text(declared)
    ));
    if let Some(witness) = &bound.witness {
        help.push_str(&format!(
            "; a complaint deciding to {:.2}: {}",
            witness.decides_to,
            serde_json::to_string(&witness.event).unwrap_or_default()
        ));
    }
    let mut error =
        Diagnostic::error(format!("{what} is {value}, over `{key}` = {limit:.2}")).with_help(help);
    match located {
        Some((mention, location)) => {
            error = error
                .at(location)
                .with_label(mention.role.clone())
                .in_rule(format!("{} `{}`", mention.kind, mention.name));
        }
        None => {
            if let Some(at) = declared {
                error = error.at(at.clone());
            }
        }
    }
    Some(error)
}

fn mention_text(mention: &RuleMention) -> String {
    match &mention.location {
        Some(l) => format!(
            "{} `{}` {} ({}:{}:{})",
            mention.kind,
            mention.name,
            mention.role,
            l.file.display(),
            l.line,
            l.column
        ),
        None => format!("{} `{}` {}", mention.kind, mention.name, mention.role),
    }
}
