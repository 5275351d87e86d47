//! `redress test [DIR]`

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::plugin_voice::{plugin_warnings, run_warnings};
use crate::decision::TraceLevel;
use crate::diagnostic::render_all;
use crate::engine::{StateView, Stateless};
use crate::event::ComplaintEvent;
use crate::expr::CustomerHistory;
use crate::testing::{
    CaseResult, Loaded, check_decision, load_tests, render_results, run_sequence,
};
use crate::time::{Duration, Timestamp};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rules directory; cases are read from DIR/tests/*.toml.
    #[arg(default_value_os_t = super::default_rules_dir())]
    dir: PathBuf,
    /// Fail a case when a plugin failed or fell back to its defaults on
    /// it (always warned about on standard error).
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    plugins: super::PluginArgs,
}

/// The store a case pretends to have: only the customer's history.
struct CaseState(Option<CustomerHistory>);

impl StateView for CaseState {
    fn history(&self, _: &ComplaintEvent, _: &str) -> Option<CustomerHistory> {
        self.0.clone()
    }

    fn control_line_count(
        &self,
        rule: &str,
        group: &crate::engine::Group,
        window: Duration,
        at: Timestamp,
    ) -> Option<i64> {
        Stateless.control_line_count(rule, group, window, at)
    }

    fn budget_use(
        &self,
        rule: &str,
        scope: &str,
        window: Duration,
        at: Timestamp,
    ) -> Option<crate::engine::BudgetUse> {
        Stateless.budget_use(rule, scope, window, at)
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let outcome = super::load_snapshot(args.dir.clone(), &args.plugins)?;
    let Some(snapshot) = outcome.snapshot else {
        eprint!("{}", render_all(&outcome.diagnostics, &outcome.sources));
        return Ok(ExitCode::FAILURE);
    };
    // A refused plugin: say so, and go on with the plugins that loaded.
    if outcome.diagnostics.iter().any(|d| d.is_error()) {
        eprint!("{}", render_all(&outcome.diagnostics, &outcome.sources));
    }
    let tests_dir = args.dir.join("tests");
    let Loaded {
        cases,
        sequences,
        errors,
    } = load_tests(&tests_dir);
    let snapshot = std::sync::Arc::new(snapshot);
    let mut results = Vec::with_capacity(cases.len() + sequences.len());
    for case in &cases {
        let state = CaseState(case.history.clone());
        let outcome = crate::intake::evaluate(
            &snapshot,
            &case.event,
            &case.plugins,
            &state,
            TraceLevel::Full,
        )
        .map_err(|error| error.to_string())
        .and_then(|decision| {
            let warnings = plugin_warnings(&decision);
            for warning in &warnings {
                eprintln!("{warning} (case `{}`)", case.name);
            }
            match (args.strict, warnings.first()) {
                (true, Some(_)) => Err(format!(
                    "{} plugin failure(s) with --strict (see the warnings above)",
                    warnings.len()
                )),
                _ => Ok(check_decision(case, &decision)),
            }
        });
        results.push(CaseResult {
            file: case.file.clone(),
            line: case.line,
            name: case.name.clone(),
            outcome,
        });
    }
    for sequence in &sequences {
        results.push(CaseResult {
            file: sequence.file.clone(),
            line: sequence.line,
            name: sequence.name.clone(),
            outcome: run_sequence(&snapshot, sequence, &mut |runs, event_id| {
                let warnings = run_warnings(runs, event_id);
                for warning in &warnings {
                    eprintln!("{warning} (sequence `{}`)", sequence.name);
                }
                match (args.strict, warnings.is_empty()) {
                    (true, false) => Err(format!(
                        "{} plugin failure(s) with --strict (see the warnings above)",
                        warnings.len()
                    )),
                    _ => Ok(()),
                }
            }),
        });
    }
    if cases.is_empty() && sequences.is_empty() && errors.is_empty() {
        println!("no test cases in {}", tests_dir.display());
    }
    print!(
        "{}",
        render_results(&results, &errors, std::io::stdout().is_terminal())
    );
    let all_passed = errors.is_empty() && results.iter().all(CaseResult::passed);
    Ok(if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
