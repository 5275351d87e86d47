//! `redress schema [rules|tests|event|plugin|daemon|fixtures]`

use std::process::ExitCode;

use crate::schema::{SchemaKind, schema_json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which schema to print.
    #[arg(value_enum, default_value = "rules")]
    kind: SchemaKind,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    print!("{}", schema_json(args.kind));
    Ok(ExitCode::SUCCESS)
}
