//! `redress audit`: the audit log of a data directory, offline.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Moment, StoreSource};
use crate::store::{DecisionQuery, StoredDecision};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreSource,
    /// Only this case's decisions (the case id is the complaint's id).
    #[arg(long, value_name = "ID")]
    case: Option<String>,
    /// Entries at or after this moment (RFC 3339 or YYYY-MM-DD, UTC): a
    /// complaint's `received_at`, a timer's firing time.
    #[arg(long, value_name = "WHEN")]
    since: Option<Moment>,
    /// Entries before this moment, timed as for `--since`.
    #[arg(long, value_name = "WHEN")]
    until: Option<Moment>,
    /// Start after this audit position (a previous listing's last `seq`).
    #[arg(long, value_name = "SEQ", default_value_t = 0)]
    after: i64,
    /// Print at most this many entries. Default: all.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Print each entry as one line of JSON: position, event id, case,
    /// kind, time, decision, ruleset version and plugin digests (the
    /// events themselves are in DIR/decisions.jsonl).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let archive = args.store.open()?;
    let mut remaining = args.limit.unwrap_or(usize::MAX);
    let mut query = DecisionQuery {
        after: args.after,
        limit: 0,
        case_id: args.case.clone(),
        since: args.since.map(|m| m.0),
        until: args.until.map(|m| m.0),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if !args.json {
        writeln!(
            out,
            "{:>8}  {:<24}  {:<22}  {:<24}  {:<16}  {:<10}  ruleset",
            "seq", "received/fired at", "kind", "case", "queue", "escalation"
        )?;
    }
    let mut printed = 0usize;
    while remaining > 0 {
        query.limit = remaining.min(500);
        let page = archive
            .decisions(&query)
            .with_context(|| format!("cannot read {}", archive.location()))?;
        for entry in &page.decisions {
            if args.json {
                serde_json::to_writer(&mut out, entry)?;
                writeln!(out)?;
            } else {
                writeln!(out, "{}", row(entry))?;
            }
        }
        printed += page.decisions.len();
        remaining = remaining.saturating_sub(page.decisions.len());
        match page.next {
            Some(next) => query.after = next,
            None => break,
        }
    }
    out.flush()?;
    if printed == 0 {
        eprintln!("no decisions match in {}", archive.location());
    }
    Ok(ExitCode::SUCCESS)
}

/// One line of the listing. Its time is the complaint's `received_at` (what
/// SLAs count from; for live traffic the daemon sets it on arrival) or the
/// time a timer fired: the store keeps that as `decided_at`.
fn row(entry: &StoredDecision) -> String {
    let text = |value: &serde_json::Value| value.as_str().unwrap_or("-").to_string();
    let decision = &entry.decision;
    // Complaint decisions route; timer decisions name the queue and what
    // to escalate to.
    let queue = match &decision["route"]["queue"] {
        serde_json::Value::Null => &decision["queue"],
        queue => queue,
    };
    let kind = match &decision["timer"] {
        serde_json::Value::String(timer) => format!("{} ({timer})", entry.kind),
        _ => entry.kind.to_string(),
    };
    let escalation = match &decision["escalation_level"] {
        serde_json::Value::Null => &decision["escalate"],
        level => level,
    };
    format!(
        "{:>8}  {:<24}  {:<22}  {:<24}  {:<16}  {:<10}  {}",
        entry.seq,
        entry.decided_at.to_rfc3339(),
        kind,
        entry.case_id,
        text(queue),
        text(escalation),
        entry
            .ruleset_version
            .get(..19)
            .unwrap_or(&entry.ruleset_version),
    )
}
