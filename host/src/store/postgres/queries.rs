//! Reading the PostgreSQL store: cases, the audit log, the report and the
//! kept snapshots. The daemon's store and the offline tools
//! (`--database URL`) read through these.

use std::ops::ControlFlow;

use tokio_postgres::Row;

use super::client::PgConnection;
use super::locks;
use crate::store::audit_line::write_line;
use crate::store::report::{CellPart, Report, ReportRow, cells_of};
use crate::store::snapshot::{SnapshotRow, blob_key, component_key, from_row, to_row};
use crate::store::{
    CaseEventView, CaseSummary, CaseView, DecisionKind, DecisionPage, DecisionQuery, LogQuery,
    LoggedComplaint, SnapshotRecord, Status, StoreError, StoredDecision, TimerView,
};
use crate::time::Timestamp;

/// A word the store wrote (a timer's kind or state, an entry's kind) as
/// its type; a word it does not know is an error naming it.
fn word<T: std::str::FromStr>(row: &Row, index: usize) -> Result<T, StoreError> {
    let text: String = row.try_get(index)?;
    text.parse().map_err(|_| {
        StoreError::Inconsistent(format!(
            "unknown word `{text}` in the store (written by a newer Redress, or edited by hand?)"
        ))
    })
}

/// The cases of `customer_id`, newest first.
pub(super) fn read_cases_of_customer(
    connection: &PgConnection,
    customer_id: &str,
    limit: usize,
) -> Result<Vec<CaseSummary>, StoreError> {
    let rows = connection.query(
        "SELECT id, status, opened_at, category, queue, escalation_level FROM cases
          WHERE customer_id = $1 ORDER BY opened_at DESC, id DESC LIMIT $2",
        &[&customer_id, &(limit as i64)],
    )?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get(1)?;
            Ok(CaseSummary {
                id: row.try_get(0)?,
                status: status.parse().unwrap_or(Status::Open),
                opened_at: Timestamp(row.try_get(2)?),
                category: row.try_get(3)?,
                queue: row.try_get(4)?,
                escalation_level: row.try_get(5)?,
            })
        })
        .collect()
}

pub(super) fn read_case(
    connection: &PgConnection,
    case_id: &str,
) -> Result<Option<CaseView>, StoreError> {
    let Some(row) = connection.query_opt(
        "SELECT id, customer_id, status, opened_at, updated_at, category, product_line, tier, location, queue,
                handler, escalation_level, goodwill FROM cases WHERE id = $1",
        &[&case_id],
    )?
    else {
        return Ok(None);
    };
    let status: String = row.try_get(2)?;
    let opened_at = Timestamp(row.try_get(3)?);
    let mut case = CaseView {
        id: row.try_get(0)?,
        customer_id: row.try_get(1)?,
        status: status.parse().unwrap_or(Status::Open),
        opened_at,
        updated_at: Timestamp(row.try_get(4)?),
        category: row.try_get(5)?,
        product_line: row.try_get(6)?,
        tier: row.try_get(7)?,
        location: row.try_get(8)?,
        queue: row.try_get(9)?,
        handler: row.try_get(10)?,
        escalation_level: row.try_get(11)?,
        goodwill: row.try_get(12)?,
        timers: Vec::new(),
        // Opening is not stored as an event: the case row says when.
        history: vec![CaseEventView {
            kind: "opened".to_string(),
            at: opened_at,
            data: None,
        }],
        decisions: Vec::new(),
    };
    for row in connection.query(
        "SELECT kind, due_at, state, fired_at FROM timers WHERE case_id = $1 ORDER BY due_at",
        &[&case_id],
    )? {
        case.timers.push(TimerView {
            kind: word(&row, 0)?,
            due_at: Timestamp(row.try_get(1)?),
            state: word(&row, 2)?,
            fired_at: row.try_get::<_, Option<i64>>(3)?.map(Timestamp),
        });
    }
    for row in connection.query(
        "SELECT kind, at, data FROM case_events WHERE case_id = $1 ORDER BY seq",
        &[&case_id],
    )? {
        case.history.push(CaseEventView {
            kind: row.try_get(0)?,
            at: Timestamp(row.try_get(1)?),
            data: row
                .try_get::<_, Option<String>>(2)?
                .and_then(|d| serde_json::from_str(&d).ok()),
        });
    }
    // A case's page is a view at one moment, not a cursor to resume: it
    // does not wait for the writers under way (see `settled_end`).
    case.decisions = read_decisions_up_to(
        connection,
        &DecisionQuery {
            limit: 1000,
            case_id: Some(case_id.to_string()),
            ..DecisionQuery::default()
        },
        i64::MAX,
    )?
    .decisions;
    Ok(Some(case))
}

/// The last position of the log that no open transaction can still fill
/// in below: the largest committed `seq` once every writer that was
/// handed a position has ended (see [`locks::LOG_ORDER`]). A reader pages
/// up to it, so a page's `next` never moves past a position committed
/// later.
pub(super) fn settled_end(connection: &PgConnection) -> Result<i64, StoreError> {
    // One statement is its own transaction: the lock is released as soon
    // as it ends, so writers wait for one statement at most.
    Ok(connection
        .query_one(
            "SELECT pg_advisory_xact_lock($1)::TEXT, (SELECT COALESCE(MAX(seq), 0) FROM decisions)",
            &[&locks::LOG_ORDER],
        )?
        .try_get(1)?)
}

/// A page of the audit log, up to where it is settled: its `next` can be
/// resumed from without passing over a late commit.
pub(super) fn read_decisions(
    connection: &PgConnection,
    query: &DecisionQuery,
) -> Result<DecisionPage, StoreError> {
    let settled = settled_end(connection)?;
    read_decisions_up_to(connection, query, settled)
}

/// A page of the audit log, no further than position `settled`.
fn read_decisions_up_to(
    connection: &PgConnection,
    query: &DecisionQuery,
    settled: i64,
) -> Result<DecisionPage, StoreError> {
    let limit = query.limit.clamp(1, 1000) as i64;
    let rows = connection.query(
        "SELECT seq, event_id, case_id, kind, decided_at, ruleset_version, plugin_digests, decision FROM decisions
          WHERE seq > $1 AND seq <= $6 AND ($2::TEXT IS NULL OR case_id = $2)
            AND ($3::BIGINT IS NULL OR decided_at >= $3) AND ($4::BIGINT IS NULL OR decided_at < $4)
          ORDER BY seq LIMIT $5",
        &[
            &query.after,
            &query.case_id,
            &query.since.map(Timestamp::millis),
            &query.until.map(Timestamp::millis),
            &limit,
            &settled,
        ],
    )?;
    let mut decisions = Vec::with_capacity(rows.len());
    for row in rows {
        let digests: String = row.try_get(6)?;
        let decision: String = row.try_get(7)?;
        let kind: DecisionKind = word(&row, 3)?;
        decisions.push(StoredDecision {
            seq: row.try_get(0)?,
            event_id: row.try_get(1)?,
            case_id: row.try_get(2)?,
            kind,
            decided_at: Timestamp(row.try_get(4)?),
            ruleset_version: row.try_get(5)?,
            plugin_digests: serde_json::from_str(&digests).unwrap_or_default(),
            decision: serde_json::from_str(&decision).unwrap_or(serde_json::Value::Null),
        });
    }
    let next = (decisions.len() as i64 == limit)
        .then(|| decisions.last().map(|d| d.seq))
        .flatten();
    Ok(DecisionPage { decisions, next })
}

/// [`StoreReader::complaints_per_day`](crate::store::StoreReader::complaints_per_day).
pub(super) fn read_complaints_per_day(
    connection: &PgConnection,
    cell: &crate::store::GridCell,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(Timestamp, i64)>, StoreError> {
    const DAY: i64 = 86_400_000;
    let rows = connection.query(
        "SELECT opened_at - opened_at % $3, COUNT(*) FROM cases
          WHERE opened_at >= $1 AND opened_at < $2
            AND category IS NOT DISTINCT FROM $4 AND product_line IS NOT DISTINCT FROM $5
            AND tier IS NOT DISTINCT FROM $6
          GROUP BY 1 ORDER BY 1",
        &[
            &from.millis(),
            &to.millis(),
            &DAY,
            &cell.category,
            &cell.product_line,
            &cell.tier,
        ],
    )?;
    rows.iter()
        .map(|row| Ok((Timestamp(row.try_get(0)?), row.try_get(1)?)))
        .collect()
}

pub(super) fn read_report(
    connection: &PgConnection,
    from: Timestamp,
    to: Timestamp,
) -> Result<Report, StoreError> {
    // One scan of the `cases_report` index, by cell and currency (amounts
    // in different currencies are never added); the cell's rows are then
    // summed up.
    let mut parts = Vec::new();
    for row in connection.query(
        "SELECT category, product_line, tier, currency, COUNT(*),
                COUNT(*) FILTER (WHERE status IN ('resolved', 'confirmed', 'closed')),
                SUM(sla_breaches)::BIGINT, SUM(follow_up_scheduled)::BIGINT, SUM(follow_ups_done)::BIGINT,
                COUNT(*) FILTER (WHERE escalation_rank >= 0), SUM(goodwill)
           FROM cases WHERE opened_at >= $1 AND opened_at < $2
          GROUP BY category, product_line, tier, currency",
        &[&from.millis(), &to.millis()],
    )? {
        parts.push(CellPart {
            cell: ReportRow {
                category: row.try_get(0)?,
                product_line: row.try_get(1)?,
                tier: row.try_get(2)?,
                complaints: row.try_get(4)?,
                resolved: row.try_get(5)?,
                sla_breaches: row.try_get(6)?,
                follow_ups_scheduled: row.try_get(7)?,
                follow_ups_done: row.try_get(8)?,
                escalated: row.try_get(9)?,
                compensation: Vec::new(),
            },
            currency: row.try_get(3)?,
            goodwill: row.try_get(10)?,
        });
    }
    Ok(Report::new(from, to, cells_of(&mut parts)))
}

/// Complaints read per query while visiting the log: the page is read
/// whole, then visited, so a visit may read snapshots on the same pool.
const PAGE: i64 = 1000;

pub(super) fn visit_complaints(
    connection: &PgConnection,
    query: &LogQuery,
    visit: &mut dyn FnMut(LoggedComplaint) -> ControlFlow<()>,
) -> Result<(), StoreError> {
    let since = query.since.map(Timestamp::millis);
    let until = query.until.map(Timestamp::millis);
    let mut after = 0_i64;
    // The visit ends where the log was settled when it began.
    let settled = settled_end(connection)?;
    if let Some(last) = query.last {
        // Where the last `last` begin.
        let row = connection.query_one(
            "SELECT COALESCE(MIN(seq) - 1, 0) FROM (SELECT seq FROM decisions
              WHERE kind = 'complaint' AND seq <= $5 AND ($1::BIGINT IS NULL OR decided_at >= $1)
                AND ($2::BIGINT IS NULL OR decided_at < $2) AND ($3::TEXT IS NULL OR case_id = $3)
              ORDER BY seq DESC LIMIT $4) last",
            &[&since, &until, &query.case_id, &(last as i64), &settled],
        )?;
        after = row.try_get(0)?;
    }
    loop {
        let rows = connection.query(
            "SELECT seq, event_id, decided_at, event, decision, replay FROM decisions
              WHERE kind = 'complaint' AND seq > $1 AND seq <= $6 AND ($2::BIGINT IS NULL OR decided_at >= $2)
                AND ($3::BIGINT IS NULL OR decided_at < $3) AND ($4::TEXT IS NULL OR case_id = $4)
              ORDER BY seq LIMIT $5",
            &[&after, &since, &until, &query.case_id, &PAGE, &settled],
        )?;
        let full = rows.len() as i64 == PAGE;
        for row in rows {
            let seq: i64 = row.try_get(0)?;
            after = seq;
            let event: Option<String> = row.try_get(3)?;
            let decision: String = row.try_get(4)?;
            let replay: Option<String> = row.try_get(5)?;
            let mut line = Vec::with_capacity(decision.len() + 512);
            write_line(
                &mut line,
                DecisionKind::Complaint.as_str(),
                event.as_deref(),
                &decision,
                replay.as_deref(),
            );
            let entry = LoggedComplaint {
                seq,
                event_id: row.try_get(1)?,
                decided_at: Timestamp(row.try_get(2)?),
                line: Some(line),
            };
            if visit(entry).is_break() {
                return Ok(());
            }
        }
        if !full {
            return Ok(());
        }
    }
}

fn put_blob(connection: &PgConnection, bytes: &[u8]) -> Result<String, StoreError> {
    let key = blob_key(bytes);
    connection.execute(
        "INSERT INTO blobs (sha256, content) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
        &[&key, &bytes],
    )?;
    Ok(key)
}

fn blob(connection: &PgConnection, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(connection
        .query_opt("SELECT content FROM blobs WHERE sha256 = $1", &[&key])?
        .map(|row| row.try_get(0))
        .transpose()?)
}

/// Keeps `record` (a no-op if its version is kept already), inside the
/// caller's transaction.
pub(super) fn record_snapshot(
    connection: &PgConnection,
    record: &SnapshotRecord,
) -> Result<(), StoreError> {
    let known = connection.query_opt(
        "SELECT 1 FROM snapshots WHERE version = $1",
        &[&&*record.version],
    )?;
    if known.is_some() {
        return Ok(());
    }
    let row = to_row(record, |bytes| put_blob(connection, bytes))?;
    // Another node may keep the same version at the same moment.
    connection.execute(
        "INSERT INTO snapshots (version, ruleset_version, rule_files, plugins, first_served) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (version) DO NOTHING",
        &[
            &&*record.version,
            &&*record.ruleset_version,
            &row.rule_files,
            &row.plugins,
            &Timestamp::now().millis(),
        ],
    )?;
    Ok(())
}

/// The kept snapshot `version`, without its components.
pub(super) fn read_snapshot(
    connection: &PgConnection,
    version: &str,
) -> Result<Option<SnapshotRecord>, StoreError> {
    let Some(found) = connection.query_opt(
        "SELECT ruleset_version, rule_files, plugins FROM snapshots WHERE version = $1",
        &[&version],
    )?
    else {
        return Ok(None);
    };
    let ruleset_version: String = found.try_get(0)?;
    let row = SnapshotRow {
        rule_files: found.try_get(1)?,
        plugins: found.try_get(2)?,
    };
    from_row(version, &ruleset_version, &row, |key| blob(connection, key)).map(Some)
}

/// The component of digest `sha256:<hex>`, if kept.
pub(super) fn component(
    connection: &PgConnection,
    digest: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    match component_key(digest) {
        Some(key) => blob(connection, key),
        None => Ok(None),
    }
}
