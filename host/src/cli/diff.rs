//! `redress diff CANDIDATE_RULES_DIR`: what a rule change would change on
//! the logged complaints.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::{Moment, StoreSource};
use crate::diagnostic::render_all;
use crate::explain::explain;
use crate::plugin::{PluginRuntime, RuntimeOptions, load_plugins};
use crate::replay::diff::{Counted, DiffReport, Gained, Transition, side_by_side};
use crate::replay::{DiffOptions, diff};
use crate::rules::read_rule_files;
use crate::store::{LogQuery, StoreReader};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The candidate rules directory (checked as `redress check` would).
    candidate: PathBuf,
    #[command(flatten)]
    store: StoreSource,
    /// Complaints decided at or after this moment (RFC 3339, YYYY-MM-DD, or
    /// a time ago).
    #[arg(long, value_name = "WHEN", default_value = "30d")]
    since: Moment,
    /// Complaints decided before this moment. Default: now.
    #[arg(long, value_name = "WHEN")]
    until: Option<Moment>,
    /// Only the last N complaints of the period.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Run the plugins of DIR on the logged events instead of using the
    /// recorded outputs.
    #[arg(long, value_name = "DIR")]
    plugins: Option<PathBuf>,
    /// Show one complaint's two decisions, each explained rule by rule.
    #[arg(long, value_name = "ID")]
    event: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let candidate = match read_rule_files(&args.candidate) {
        Ok(files) => files,
        Err(diagnostic) => {
            eprint!("{}", render_all(&[*diagnostic], &Default::default()));
            return Ok(ExitCode::FAILURE);
        }
    };
    let archive = args.store.open()?;
    if let Some(event) = &args.event {
        return show_event(&*archive, candidate, event);
    }
    let plugins = match &args.plugins {
        Some(dir) => {
            let runtime = PluginRuntime::new(&RuntimeOptions::default())?;
            let load = load_plugins(dir, &runtime, None);
            if load.diagnostics.iter().any(|d| d.is_error()) {
                eprint!("{}", render_all(&load.diagnostics, &Default::default()));
                return Ok(ExitCode::FAILURE);
            }
            load.set.map(Arc::new)
        }
        None => None,
    };
    let options = DiffOptions {
        candidate,
        query: LogQuery {
            since: Some(args.since.0),
            until: args.until.map(|m| m.0),
            case_id: None,
            last: args.limit,
        },
        plugins,
    };
    let started = std::time::Instant::now();
    let report =
        diff(&*archive, &options).with_context(|| format!("cannot read {}", archive.location()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", render(&report, started.elapsed()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn show_event(
    archive: &dyn StoreReader,
    candidate: Vec<crate::rules::RuleFileText>,
    event: &str,
) -> anyhow::Result<ExitCode> {
    match side_by_side(archive, candidate, event)? {
        Err(reason) => {
            eprintln!("error: complaint `{event}` cannot be decided again: {reason}");
            Ok(ExitCode::FAILURE)
        }
        Ok(both) => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "== as decided (rule set {}) ==",
                both.recorded.ruleset_version
            )?;
            write!(
                out,
                "{}",
                explain(&both.recorded, &both.recorded_rules.ruleset)
            )?;
            writeln!(
                out,
                "\n== with the candidate (rule set {}) ==",
                both.candidate.ruleset_version
            )?;
            write!(out, "{}", explain(&both.candidate, &both.candidate_rules))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The report as text.
pub(crate) fn render(report: &DiffReport, elapsed: std::time::Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "candidate {}: {} of {} logged complaints decided again ({:.2} s); {} would change ({:.1}%)",
        report.candidate,
        report.replayed,
        report.logged,
        elapsed.as_secs_f64(),
        report.changed,
        report.changed_share() * 100.0
    );
    transitions(&mut out, "routes", &report.routes);
    transitions(&mut out, "handlers", &report.handlers);
    gained(&mut out, "escalations", &report.escalations);
    counted(&mut out, "SLA commitments changed", &report.sla);
    let compensation = &report.compensation;
    for total in &compensation.totals {
        if (total.after - total.before).abs() < 0.005 && report.changed == 0 {
            continue;
        }
        let share = if total.before > 0.0 {
            format!(
                ", {:+.1}%",
                (total.after - total.before) / total.before * 100.0
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "compensation ({}): {:.2} -> {:.2} ({:+.2}{share})",
            total.currency,
            total.before,
            total.after,
            total.after - total.before
        );
    }
    for kind in compensation
        .by_kind
        .iter()
        .filter(|m| (m.after - m.before).abs() >= 0.005)
    {
        let _ = writeln!(
            out,
            "  {} ({}): {:.2} -> {:.2}",
            kind.what, kind.currency, kind.before, kind.after
        );
    }
    for tier in compensation
        .by_tier
        .iter()
        .filter(|m| (m.after - m.before).abs() >= 0.005)
    {
        let _ = writeln!(
            out,
            "  tier {} ({}): {:.2} -> {:.2}",
            tier.what, tier.currency, tier.before, tier.after
        );
    }
    if !compensation.largest_increases.is_empty() {
        let _ = writeln!(out, "  largest increases:");
        for increase in &compensation.largest_increases {
            let _ = writeln!(
                out,
                "    {}: {:.2} -> {:.2} {}",
                increase.event_id, increase.before, increase.after, increase.currency
            );
        }
    }
    gained(&mut out, "authority", &report.authority);
    gained(&mut out, "flags", &report.flags);
    counted(
        &mut out,
        "control-line outcomes changed",
        &report.control_lines,
    );
    if report.not_replayable_count > 0 {
        let _ = writeln!(
            out,
            "{} could not be decided again:",
            report.not_replayable_count
        );
        for entry in report.not_replayable.iter().take(10) {
            let _ = writeln!(
                out,
                "  {} (entry {}): {}",
                entry.event_id, entry.seq, entry.reason
            );
        }
        if report.not_replayable_count > 10 {
            let _ = writeln!(out, "  ... (all of the first 100 with --json)");
        }
    }
    out
}

fn examples(examples: &[String]) -> String {
    format!("e.g. {}", examples.join(", "))
}

fn transitions(out: &mut String, what: &str, list: &[Transition]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "{what}:");
    for t in list {
        let _ = writeln!(
            out,
            "  {} -> {}: {} ({})",
            t.from,
            t.to,
            t.count,
            examples(&t.examples)
        );
    }
}

fn counted(out: &mut String, what: &str, list: &[Counted]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "{what}:");
    for c in list {
        let _ = writeln!(out, "  {}: {} ({})", c.what, c.count, examples(&c.examples));
    }
}

fn gained(out: &mut String, what: &str, gained: &Gained) {
    counted(out, &format!("{what} gained"), &gained.gained);
    counted(out, &format!("{what} lost"), &gained.lost);
}
