//! The `redress` command line: one file per command.

mod check;
mod eval;
mod schema;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Redress: a rules engine for customer complaints.
#[derive(Debug, Parser)]
#[command(name = "redress", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a rule set and print every problem (exit 1 if any is an error).
    Check(check::Args),
    /// Decide one complaint event and print the decision.
    Eval(eval::Args),
    /// Run the rule tests in DIR/tests/*.toml.
    Test(test::Args),
    /// Print the JSON Schema of rule files, rule tests or events.
    Schema(schema::Args),
}

/// Default rules directory.
pub(crate) fn default_rules_dir() -> PathBuf {
    PathBuf::from("rules")
}

/// Runs the command line; `main` of the `redress` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Test(args) => test::run(args),
        Command::Schema(args) => schema::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
