//! `redress eval [DIR] EVENT.json`

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use crate::decision::TraceLevel;
use crate::diagnostic::render_all;
use crate::engine::Stateless;
use crate::event::ComplaintEvent;
use crate::explain::explain;
use crate::time::Timestamp;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `[DIR] EVENT.json`: the rules directory (default `rules`) and the
    /// event file (`-` reads standard input).
    #[arg(num_args = 1..=2, value_names = ["DIR", "EVENT"], required = true)]
    paths: Vec<PathBuf>,
    /// Print a readable account of why, instead of the decision JSON.
    #[arg(long)]
    explain: bool,
    /// How much trace to include in the JSON.
    #[arg(long, value_enum, default_value = "full")]
    trace: TraceArg,
    /// Exit 1 when a plugin failed or fell back to its defaults (the
    /// warnings on standard error), not only when the event is invalid.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    plugins: super::PluginArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TraceArg {
    None,
    Compact,
    Full,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (dir, event_path) = match args.paths.as_slice() {
        [event] => (super::default_rules_dir(), event.clone()),
        [dir, event] => (dir.clone(), event.clone()),
        _ => bail!("expected `[DIR] EVENT.json`"),
    };
    let bytes = if event_path.as_os_str() == "-" {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buffer)
            .context("cannot read the event from standard input")?;
        buffer
    } else {
        std::fs::read(&event_path)
            .with_context(|| format!("cannot read event file {}", event_path.display()))?
    };
    let mut event = ComplaintEvent::from_json(&bytes)
        .with_context(|| format!("in {}", event_path.display()))?;
    if event.received_at.is_none() {
        let now = Timestamp::now();
        eprintln!("note: the event has no `received_at`; using the current time {now}");
        event.received_at = Some(now);
    }
    let outcome = super::load_snapshot(dir, &args.plugins)?;
    let Some(snapshot) = outcome.snapshot else {
        eprint!("{}", render_all(&outcome.diagnostics, &outcome.sources));
        return Ok(ExitCode::FAILURE);
    };
    // A refused plugin: say so, and go on with the plugins that loaded.
    if outcome.diagnostics.iter().any(|d| d.is_error()) {
        eprint!("{}", render_all(&outcome.diagnostics, &outcome.sources));
    }
    let trace = match (args.explain, args.trace) {
        (true, _) | (false, TraceArg::Full) => TraceLevel::Full,
        (false, TraceArg::Compact) => TraceLevel::Compact,
        (false, TraceArg::None) => TraceLevel::None,
    };
    let decision = super::plugin_voice::with_guest_log(|| {
        crate::intake::evaluate(&snapshot, &event, &Default::default(), &Stateless, trace)
    })
    .with_context(|| format!("in {}", event_path.display()))?;
    let warnings = super::plugin_voice::plugin_warnings(&decision);
    for warning in &warnings {
        eprintln!("{warning}");
    }
    let mut stdout = std::io::stdout().lock();
    if args.explain {
        write!(stdout, "{}", explain(&decision, &snapshot.ruleset))?;
    } else {
        serde_json::to_writer_pretty(&mut stdout, &decision)?;
        writeln!(stdout)?;
    }
    Ok(if args.strict && !warnings.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
