//! `redress replay`: are the logged decisions exactly reproducible?

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::{Moment, StoreSource};
use crate::plugin::{PluginRuntime, RuntimeOptions};
use crate::replay::{ReplayOptions, replay};
use crate::store::LogQuery;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreSource,
    /// Complaints decided at or after this moment (RFC 3339, YYYY-MM-DD, or
    /// a time ago such as 7d).
    #[arg(long, value_name = "WHEN")]
    since: Option<Moment>,
    /// Complaints decided before this moment.
    #[arg(long, value_name = "WHEN")]
    until: Option<Moment>,
    /// Only this case's complaint.
    #[arg(long, value_name = "ID")]
    case: Option<String>,
    /// Also run the recorded plugin components on the recorded events and
    /// compare their outputs (plugins are fuel-metered and see no clock, so
    /// they should come out the same).
    #[arg(long)]
    rerun_plugins: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let archive = args.store.open()?;
    let options = ReplayOptions {
        query: LogQuery {
            since: args.since.map(|m| m.0),
            until: args.until.map(|m| m.0),
            case_id: args.case,
            last: None,
        },
        rerun_plugins: if args.rerun_plugins {
            Some(PluginRuntime::new(&RuntimeOptions::default())?)
        } else {
            None
        },
    };
    let started = std::time::Instant::now();
    let report = replay(&*archive, &options)?;
    let elapsed = started.elapsed();
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        let mut summary = format!(
            "{} identical, {} different",
            report.identical,
            report.different.len()
        );
        if !report.not_replayable.is_empty() {
            summary.push_str(&format!(", {} not replayable", report.not_replayable.len()));
        }
        if options.rerun_plugins.is_some() {
            summary.push_str(&format!(
                "; plugins run again: {} with other outputs",
                report.plugin_differences.len()
            ));
        }
        writeln!(
            out,
            "{summary} ({} complaints in {:.2} s)",
            report.replayed,
            elapsed.as_secs_f64()
        )?;
        for difference in &report.different {
            writeln!(
                out,
                "  different: `{}` (entry {}): {}{}",
                difference.event_id,
                difference.seq,
                difference.field,
                if difference.recorded.is_null() && difference.replayed.is_null() {
                    String::new()
                } else {
                    format!(
                        ": recorded {}, replayed {}",
                        difference.recorded, difference.replayed
                    )
                }
            )?;
        }
        for difference in &report.plugin_differences {
            writeln!(
                out,
                "  plugins differ: `{}` (entry {}): {}: recorded {}, now {}",
                difference.event_id,
                difference.seq,
                difference.field,
                difference.recorded,
                difference.replayed
            )?;
        }
        let mut reasons: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for entry in &report.not_replayable {
            reasons
                .entry(&entry.reason)
                .or_default()
                .push(&entry.event_id);
        }
        for (reason, ids) in reasons {
            writeln!(
                out,
                "  not replayable ({}): {reason}; e.g. {}",
                ids.len(),
                ids.iter().take(5).copied().collect::<Vec<_>>().join(", ")
            )?;
        }
    }
    Ok(if report.all_identical() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
