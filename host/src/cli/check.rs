//! `redress check [DIR]`

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::diagnostic::render_all;
use crate::snapshot::{Snapshot, Sources};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rules directory.
    #[arg(default_value_os_t = super::default_rules_dir())]
    dir: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let outcome = Snapshot::load(&Sources {
        rules_dir: args.dir.clone(),
    });
    let mut stderr = std::io::stderr().lock();
    write!(
        stderr,
        "{}",
        render_all(&outcome.diagnostics, &outcome.sources)
    )?;
    match outcome.snapshot {
        Some(snapshot) => {
            let ruleset = &snapshot.ruleset;
            println!(
                "ok: {} rules in {} files, version {}",
                ruleset.rule_count(),
                ruleset.files.len(),
                snapshot.version
            );
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::FAILURE),
    }
}
