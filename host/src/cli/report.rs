//! `redress report`: the monthly report to decision makers (seed 001),
//! from a data directory, offline.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Moment, StoreSource, midnight_utc};
use crate::time::Timestamp;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreSource,
    /// Complaints opened at or after this moment (RFC 3339 or YYYY-MM-DD,
    /// UTC). Default: 30 days before `--to`.
    #[arg(long, value_name = "WHEN", conflicts_with = "month")]
    from: Option<Moment>,
    /// Complaints opened before this moment. Default: now.
    #[arg(long, value_name = "WHEN", conflicts_with = "month")]
    to: Option<Moment>,
    /// One calendar month (UTC), e.g. 2026-11.
    #[arg(long, value_name = "YYYY-MM")]
    month: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

const DAY_MILLIS: i64 = 86_400_000;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (from, to) = match &args.month {
        Some(month) => month_bounds(month)?,
        None => {
            let to = args.to.map_or_else(Timestamp::now, |m| m.0);
            let from = args
                .from
                .map_or(Timestamp::from_millis(to.millis() - 30 * DAY_MILLIS), |m| {
                    m.0
                });
            (from, to)
        }
    };
    if from >= to {
        anyhow::bail!("the period is empty: {from} is not before {to}");
    }
    let archive = args.store.open()?;
    let report = archive
        .report(from, to)
        .with_context(|| format!("cannot read {}", archive.location()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(ExitCode::SUCCESS)
}

/// The first instant of `month` and of the month after it.
fn month_bounds(month: &str) -> anyhow::Result<(Timestamp, Timestamp)> {
    let invalid = || anyhow::anyhow!("`--month {month}`: expected a month like 2026-11");
    let (year, number) = month.trim().split_once('-').ok_or_else(invalid)?;
    let year: i32 = year.parse().map_err(|_| invalid())?;
    let number: u32 = number.parse().map_err(|_| invalid())?;
    let start = |year: i32, number: u32| -> anyhow::Result<Timestamp> {
        chrono::NaiveDate::from_ymd_opt(year, number, 1)
            .and_then(midnight_utc)
            .ok_or_else(invalid)
    };
    let next = if number == 12 {
        start(year + 1, 1)?
    } else {
        start(year, number + 1)?
    };
    Ok((start(year, number)?, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_runs_to_the_first_of_the_next() {
        let (from, to) = month_bounds("2026-12").unwrap();
        assert_eq!(from.to_rfc3339(), "2026-12-01T00:00:00Z");
        assert_eq!(to.to_rfc3339(), "2027-01-01T00:00:00Z");
        assert!(month_bounds("2026-13").is_err());
        assert!(month_bounds("november").is_err());
    }
}
