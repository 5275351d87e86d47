//! `redress backup` and `redress restore`: a consistent copy of a running
//! daemon's data directory, and putting one back after checking it.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::default_data_dir;
use crate::store::{BackupManifest, backup_data_dir, restore_data_dir};

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Where to put the backup: a new or empty directory.
    #[arg(value_name = "DEST")]
    destination: PathBuf,
    /// The daemon's data directory. Default: data.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A backup taken by `redress backup`.
    #[arg(value_name = "SRC")]
    source: PathBuf,
    /// The data directory to restore into: new, or without a store.
    #[arg(value_name = "DATA_DIR")]
    directory: PathBuf,
}

pub fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let data = args.data.unwrap_or_else(default_data_dir);
    let manifest = backup_data_dir(&data, &args.destination)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "backed up {} into {}",
        data.display(),
        args.destination.display()
    )?;
    describe(&mut out, &manifest)?;
    Ok(ExitCode::SUCCESS)
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let manifest = restore_data_dir(&args.source, &args.directory)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "checked and restored {} into {}",
        args.source.display(),
        args.directory.display()
    )?;
    describe(&mut out, &manifest)?;
    writeln!(
        out,
        "start the daemon with `--data {}`",
        args.directory.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn describe(out: &mut impl std::io::Write, manifest: &BackupManifest) -> std::io::Result<()> {
    let live: u64 = manifest.segments.iter().map(|file| file.bytes).sum();
    writeln!(
        out,
        "  taken at {}: {} log entries (last {}), {} cases, {} pending timers, {} bytes of audit log in {} segment(s), {} archive file(s)",
        manifest.taken_at,
        manifest.entries,
        manifest.last_seq,
        manifest.cases,
        manifest.pending_timers,
        live,
        manifest.segments.len(),
        manifest.archive.len()
    )
}
