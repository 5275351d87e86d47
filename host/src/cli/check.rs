//! `redress check [DIR]`

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::diagnostic::render_all;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rules directory.
    #[arg(default_value_os_t = super::default_rules_dir())]
    dir: PathBuf,
    #[command(flatten)]
    plugins: super::PluginArgs,
    /// Print the worst case as JSON (docs/worst-case.md) instead of text,
    /// also when it fails a declared limit (the errors go to stderr).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let outcome = super::load_snapshot(args.dir.clone(), &args.plugins)?;
    // The worst case is printed whenever the rules compiled, also when it
    // passes a declared limit and the check fails.
    if args.json
        && let Some(worst) = &outcome.worst_case
    {
        println!("{}", serde_json::to_string_pretty(&**worst)?);
    }
    let mut stderr = std::io::stderr().lock();
    write!(
        stderr,
        "{}",
        render_all(&outcome.diagnostics, &outcome.sources)
    )?;
    let errors = outcome.diagnostics.iter().filter(|d| d.is_error()).count();
    match outcome.snapshot {
        // A refused plugin leaves a rule set that can serve, but the check
        // still fails.
        Some(_) if errors > 0 => {
            writeln!(
                stderr,
                "note: `redress serve` would serve this rule set without the refused plugins"
            )?;
            Ok(ExitCode::FAILURE)
        }
        Some(snapshot) => {
            let ruleset = &snapshot.ruleset;
            let plugins = snapshot.plugins.plugins();
            let with = if plugins.is_empty() {
                String::new()
            } else {
                let names: Vec<&str> = plugins.iter().map(|p| p.spec.name.as_str()).collect();
                format!(" with plugins {}", names.join(", "))
            };
            if args.json {
                return Ok(ExitCode::SUCCESS);
            }
            let conditions = match ruleset.conditions.len() {
                0 => String::new(),
                1 => " and 1 named condition".to_string(),
                n => format!(" and {n} named conditions"),
            };
            let files = match ruleset.files.len() {
                1 => "1 file".to_string(),
                n => format!("{n} files"),
            };
            println!(
                "ok: {} rules{conditions} in {files}{with}; {}",
                ruleset.rule_count(),
                snapshot.versions()
            );
            print!("{}", crate::bounds::render(&snapshot.worst_case));
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::FAILURE),
    }
}
