//! The `redress` command line: one file per command.

mod audit;
mod backup;
mod check;
mod closed_pipe;
pub(crate) mod diff;
mod eval;
mod plugin;
mod plugin_build;
mod plugin_test;
pub use plugin_test::FixtureFileSchema;
mod plugin_voice;
mod replay;
mod report;
mod schema;
mod serve;
mod store;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::plugin::{PluginRuntime, RuntimeOptions};
use crate::snapshot::{Snapshot, SnapshotOutcome, Sources};
use crate::time::Timestamp;

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
    /// Print the JSON Schema of rule files, rule tests, events or plugin
    /// manifests.
    Schema(schema::Args),
    /// Run a plugin on an event, or start a new plugin.
    #[command(subcommand)]
    Plugin(plugin::Command),
    /// Run the daemon: the HTTP API, with hot reload.
    Serve(serve::Args),
    /// List the audit log of a data directory (works while the daemon runs).
    Audit(audit::Args),
    /// Summarise complaints by category, product line and customer tier
    /// over a period, with breaches, follow-ups and compensation.
    Report(report::Args),
    /// Decide the logged complaints again under their own rule sets and
    /// recorded state, and check every decision comes out the same.
    Replay(replay::Args),
    /// What a candidate rule set would change on the logged complaints:
    /// routes, escalations, SLAs, compensation, authority.
    Diff(diff::Args),
    /// Take a consistent backup of a data directory, while the daemon
    /// runs (database and audit file up to its last commit).
    Backup(backup::BackupArgs),
    /// Check a backup and put it into a new data directory.
    Restore(backup::RestoreArgs),
    /// Maintain a data directory (`repair`).
    #[command(subcommand)]
    Store(store::Command),
}

/// Where the plugins are, for commands that decide.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct PluginArgs {
    /// The plugins directory (manifests and components). Default:
    /// `plugins`, when it exists.
    #[arg(long, value_name = "DIR")]
    plugins: Option<PathBuf>,
    /// Run without plugins.
    #[arg(long, conflicts_with = "plugins")]
    no_plugins: bool,
}

impl PluginArgs {
    /// Where plugins were looked for, and how to look elsewhere: the note
    /// of a rule that reads a plugin that is not loaded.
    fn where_searched(&self, directory: Option<&std::path::Path>) -> String {
        let here = std::env::current_dir()
            .map(|dir| dir.display().to_string())
            .unwrap_or_else(|_| "the working directory".to_string());
        match directory {
            _ if self.no_plugins => {
                "plugins are off (`--no-plugins`); leave it out to load them".to_string()
            }
            Some(dir) => format!(
                "plugins were loaded from {}; pass `--plugins DIR` for another directory",
                dir.display()
            ),
            None => format!(
                "no plugins were loaded: without `--plugins DIR`, plugins are looked for in `./plugins`, and {here} has none"
            ),
        }
    }

    fn directory(&self) -> Option<PathBuf> {
        if self.no_plugins {
            return None;
        }
        match &self.plugins {
            Some(dir) => Some(dir.clone()),
            None => {
                let default = PathBuf::from("plugins");
                default.is_dir().then_some(default)
            }
        }
    }
}

/// Loads the rules of `rules_dir` with the plugins `plugins` asks for.
pub(crate) fn load_snapshot(
    rules_dir: PathBuf,
    plugins: &PluginArgs,
) -> anyhow::Result<SnapshotOutcome> {
    let plugins_dir = plugins.directory();
    let runtime = match &plugins_dir {
        Some(_) => Some(PluginRuntime::new(&RuntimeOptions::default())?),
        None => None,
    };
    let hint = plugins.where_searched(plugins_dir.as_deref());
    let sources = Sources {
        rules_dir,
        plugins_dir,
    };
    let mut outcome = Snapshot::load(&sources, runtime.as_ref(), None);
    for diagnostic in &mut outcome.diagnostics {
        if diagnostic.message.starts_with("no plugin named") {
            diagnostic.notes.push(hint.clone());
        }
    }
    Ok(outcome)
}

/// Default rules directory.
pub(crate) fn default_rules_dir() -> PathBuf {
    PathBuf::from("rules")
}

/// Default data directory, as for `redress serve`.
pub(crate) fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

/// Which store an offline command reads: a data directory (SQLite) or a
/// PostgreSQL database.
#[derive(Debug, clap::Args)]
pub(crate) struct StoreSource {
    /// The daemon's data directory (read only; the daemon may be
    /// running). Default: data.
    #[arg(long, value_name = "DIR", conflicts_with = "database")]
    data: Option<PathBuf>,
    /// The daemons' PostgreSQL database instead of a data directory:
    /// `postgres://user:password@host:port/database` (read only).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Read the data directory's archive too (`data/archive/`: audit
    /// segments past `[store.retention] decisions`), before the live log.
    #[arg(long, conflicts_with = "database")]
    include_archive: bool,
}

impl StoreSource {
    /// Opens the store; says on stderr what the log holds beyond what is
    /// read (archived entries left out, archived files deleted).
    pub(crate) fn open(&self) -> anyhow::Result<Box<dyn crate::store::StoreReader>> {
        if let Some(url) = &self.database {
            return Ok(Box::new(crate::store::PostgresReader::connect(
                &crate::store::PostgresOptions::new(url.clone()),
            )?));
        }
        let data = self.data.clone().unwrap_or_else(default_data_dir);
        if self.include_archive {
            let store = crate::store::open_reader_with_archive(&data)?;
            for gap in store.unavailable() {
                eprintln!("note: {gap}");
            }
            return Ok(Box::new(store));
        }
        let store = crate::store::open_reader(&data)?;
        if let Ok(index) = crate::store::ArchiveIndex::load(&data)
            && let Some(last) = index.segments.last()
        {
            eprintln!(
                "note: audit entries up to {} are archived in {}; --include-archive reads them too",
                last.last_seq,
                data.join("archive").display()
            );
        }
        Ok(store)
    }
}

/// A moment given on the command line: RFC 3339, or a date (midnight UTC).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moment(pub(crate) Timestamp);

impl std::str::FromStr for Moment {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(at) = text.parse::<Timestamp>() {
            return Ok(Moment(at));
        }
        // A duration: that long ago (`30d`, `12h`).
        if let Ok(ago) = text.trim().parse::<crate::time::Duration>() {
            return Ok(Moment(Timestamp::from_millis(
                Timestamp::now().millis().saturating_sub(ago.millis()),
            )));
        }
        chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .ok()
            .and_then(midnight_utc)
            .map(Moment)
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a moment: expected e.g. 2026-11-22, 2026-11-22T09:30:00Z, or a time ago such as 30d"
                )
            })
    }
}

/// The first instant of `date`, in UTC.
pub(crate) fn midnight_utc(date: chrono::NaiveDate) -> Option<Timestamp> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    Some(Timestamp::from_millis(
        midnight.and_utc().timestamp_millis(),
    ))
}

/// Runs the command line; `main` of the `redress` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Check(_)
            | Command::Eval(_)
            | Command::Test(_)
            | Command::Schema(_)
            | Command::Audit(_)
            | Command::Report(_)
            | Command::Replay(_)
            | Command::Diff(_)
    ) {
        closed_pipe::end_quietly_on_closed_pipe();
    }
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Test(args) => test::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Plugin(command) => plugin::run(command),
        Command::Serve(args) => serve::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Report(args) => report::run(args),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
        Command::Store(command) => store::run(command),
        Command::Replay(args) => replay::run(args),
        Command::Diff(args) => diff::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
