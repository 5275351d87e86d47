//! The worst case as `redress check` prints it.

use std::fmt::Write as _;

use crate::bounds::{Bound, SegmentBound, WorstCase};
use crate::rule_kind::RuleKind;

/// Text for people: one summary line per measure, then what makes up each
/// bound and the witness that was decided.
pub fn render(worst: &WorstCase) -> String {
    let currency = &worst.currency;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "worst case per complaint: {}",
        summary(&worst.payout, currency)
    );
    for segment in &worst.payout {
        detail(&mut out, &segment.segment, &segment.bound, currency);
    }
    if !worst.payout_per_kind.is_empty() {
        let kinds: Vec<String> = worst
            .payout_per_kind
            .iter()
            .map(|(kind, bound)| format!("{kind} {}", amount(bound.value)))
            .collect();
        let _ = writeln!(out, "worst case per offer kind: {}", kinds.join(", "));
        for (kind, bound) in &worst.payout_per_kind {
            if bound.value.is_none() || !bound.reached {
                detail(&mut out, kind, bound, currency);
            }
        }
    }
    if !worst.grants.is_empty() {
        let _ = writeln!(
            out,
            "worst case authority per complaint: {}",
            summary(&worst.authority, currency)
        );
        for segment in &worst.authority {
            detail(&mut out, &segment.segment, &segment.bound, currency);
        }
        let _ = writeln!(out, "authority per budget scope and window:");
        for grant in &worst.grants {
            let window = match (&grant.budget, grant.per_window) {
                (Some(scope), Some(value)) => {
                    format!(
                        "{value:.2} {currency} per {scope} ({})",
                        grant.per_window_how
                    )
                }
                (Some(scope), None) => format!("unbounded per {scope} ({})", grant.per_window_how),
                (None, _) => "unbounded per window (no budget)".to_string(),
            };
            let _ = writeln!(
                out,
                "  {}: {} per complaint, {window} ({}:{})",
                grant.rule,
                amount(grant.per_complaint.value),
                grant.location.file.display(),
                grant.location.line
            );
        }
    }
    if !worst.exact {
        let _ = writeln!(
            out,
            "note: the analysis stopped splitting after {} regions; the bounds hold but may be loose",
            worst.regions
        );
    }
    out
}

fn amount(value: Option<f64>) -> String {
    match value {
        Some(value) => format!("{value:.2}"),
        None => "unbounded".to_string(),
    }
}

fn summary(segments: &[SegmentBound], currency: &str) -> String {
    segments
        .iter()
        .map(|s| match s.bound.value {
            Some(value) => format!("{value:.2} {currency} ({})", s.segment),
            None => format!("unbounded ({}: {})", s.segment, growth(&s.bound)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn growth(bound: &Bound) -> String {
    let rule = bound
        .rules
        .iter()
        .find(|m| m.kind == RuleKind::Cap.name())
        .or_else(|| bound.rules.first());
    let through = match rule {
        Some(m) => match &m.location {
            Some(l) => format!(
                " through {} `{}`, {}:{}",
                m.kind,
                m.name,
                l.file.display(),
                l.line
            ),
            None => format!(" through {} `{}`", m.kind, m.name),
        },
        None => String::new(),
    };
    if bound.grows_with.is_empty() {
        format!("nothing limits it{through}")
    } else {
        format!("grows with {}{through}", bound.grows_with.join(", "))
    }
}

fn detail(out: &mut String, label: &str, bound: &Bound, currency: &str) {
    let unit = if bound.value.is_some() { currency } else { "" };
    let _ = writeln!(out, "  {label}: {} {unit}", amount(bound.value).trim_end());
    for mention in &bound.rules {
        let place = match &mention.location {
            Some(l) => format!(" ({}:{})", l.file.display(), l.line),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "    {} `{}` {}{place}",
            mention.kind, mention.name, mention.role
        );
    }
    if let Some(witness) = &bound.witness {
        let verdict = match bound.value {
            Some(_) if bound.reached => "reaches it",
            Some(_) => "is the closest found; the bound may not be reachable",
            None => "shows the growth",
        };
        let _ = writeln!(
            out,
            "    witness, decided to {:.2} ({verdict}): {}",
            witness.decides_to,
            witness_text(witness)
        );
    }
}

fn witness_text(witness: &crate::bounds::Witness) -> String {
    let mut text = serde_json::to_string(&witness.event).unwrap_or_default();
    for (plugin, outputs) in &witness.plugins {
        for (key, value) in outputs {
            let value = serde_json::to_string(value).unwrap_or_default();
            let _ = write!(text, " with plugins.{plugin}.{key} = {value}");
        }
    }
    if let Some(history) = &witness.history {
        let _ = write!(
            text,
            " with history open_cases = {}, complaints_30d = {}, goodwill_365d = {}",
            history.open_cases, history.complaints_30d, history.goodwill_365d
        );
    }
    for (kind, value) in &witness.proposals {
        let _ = write!(text, " with a proposed {kind} offer of {value:.2}");
    }
    text
}
