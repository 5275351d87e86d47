//! `redress store ...`: maintenance of a data directory.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::default_data_dir;
use crate::store::{TableCount, copy_to_postgres, redacted_database_url, repair_data_dir};
use crate::time::Timestamp;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Repair a data directory whose decisions.jsonl was lost, cut short
    /// or damaged: keeps every entry whose line is intact, turns the others
    /// into placeholders (their decision reads null) and lists them. The
    /// daemon must be stopped.
    Repair(RepairArgs),
    /// Copy a data directory's store (audit log with its file, cases and
    /// their history, timers, control-line tallies, grants, authority
    /// uses, kept rule sets) into an empty PostgreSQL database, in one
    /// transaction, and check every table's count before it commits. The
    /// daemon on that directory must be stopped.
    Copy(CopyArgs),
}

#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The data directory to copy from. Default: data.
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
    /// The PostgreSQL database to copy into:
    /// `postgres://user:password@host:port/database`. It must be empty
    /// (its schema is created if missing). Default: $REDRESS_DATABASE_URL.
    #[arg(long, value_name = "URL")]
    to: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RepairArgs {
    /// The daemon's data directory. Default: data.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Repair(args) => repair(args),
        Command::Copy(args) => copy(args),
    }
}

fn copy(args: CopyArgs) -> anyhow::Result<ExitCode> {
    let data = args.from.unwrap_or_else(default_data_dir);
    let Some(url) = args
        .to
        .or_else(|| std::env::var("REDRESS_DATABASE_URL").ok())
    else {
        anyhow::bail!(
            "say which database to copy into: --to postgres://user:password@host:port/database (or set REDRESS_DATABASE_URL)"
        );
    };
    let database = redacted_database_url(&url);
    let mut out = std::io::stdout().lock();
    writeln!(out, "copying {} into {database}", data.display())?;
    let mut progress = |table: &TableCount| {
        let _ = writeln!(
            std::io::stdout(),
            "  {:<16} {:>10} rows",
            table.table,
            table.copied
        );
    };
    drop(out);
    let report = copy_to_postgres(&data, &url, &mut progress)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "verified: each of the {} tables holds as many rows in {database} as in {}; the audit log ends at entry {}",
        report.tables.len(),
        data.display(),
        report.last_seq
    )?;
    if report.archived_entries > 0 {
        writeln!(
            out,
            "{} of the audit entries came from the archive ({}/archive): PostgreSQL keeps the whole log",
            report.archived_entries,
            data.display()
        )?;
    }
    for missing in &report.unavailable {
        writeln!(out, "not copied: {missing}")?;
    }
    if report.lost_lines > 0 {
        writeln!(
            out,
            "{} audit entries had lost their line (repaired before): copied with a null decision, as the data directory reads them",
            report.lost_lines
        )?;
    }
    writeln!(
        out,
        "next: set `[store] backend = \"postgres\"` and `url` in each node's redress.toml (docs/cluster.md) and start the daemons; keep {} until they serve",
        data.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn repair(args: RepairArgs) -> anyhow::Result<ExitCode> {
    let data = args.data.unwrap_or_else(default_data_dir);
    let report = repair_data_dir(&data)?;
    let mut out = std::io::stdout().lock();
    for file in &report.missing_files {
        writeln!(out, "{file} was missing: created it")?;
    }
    if report.cut_off > 0 {
        writeln!(
            out,
            "cut off {} bytes of lines past the log's end (a batch that never committed)",
            report.cut_off
        )?;
    }
    writeln!(
        out,
        "checked {} entries against the audit log in {}: {} intact, {} lost",
        report.entries,
        data.display(),
        report.intact,
        report.lost.len()
    )?;
    if report.lost.is_empty() {
        if !report.changed_anything() {
            writeln!(out, "nothing to repair")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    for lost in report.lost.iter().take(20) {
        writeln!(
            out,
            "  lost: entry {} ({} `{}`)",
            lost.seq, lost.kind, lost.event_id
        )?;
    }
    if report.lost.len() > 20 {
        writeln!(out, "  ... and {} more", report.lost.len() - 20)?;
    }
    let stamp = Timestamp::now().to_string().replace(':', "-");
    let listing = data.join(format!("repair-{stamp}.json"));
    std::fs::write(&listing, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", listing.display()))?;
    writeln!(
        out,
        "every lost entry is listed in {}; their decisions read as null, and a complaint sent again under one of their ids is answered 409 decision_lost",
        listing.display()
    )?;
    Ok(ExitCode::SUCCESS)
}
