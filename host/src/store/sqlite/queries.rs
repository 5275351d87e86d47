//! Reading the store: cases, the audit log and the report. Shared by the
//! daemon's store and the offline [`Archive`](crate::store::Archive).

use rusqlite::{Connection, OptionalExtension, params};

use super::audit_file::{AuditFile, Span};
use crate::store::Status;
use crate::store::report::{CellPart, Report, ReportRow, cells_of};
use crate::store::{
    CaseEventView, CaseSummary, CaseView, DecisionPage, DecisionQuery, StoreError, StoredDecision,
    TimerView,
};
use crate::time::Timestamp;

/// Column `index` of `row`, a word the store wrote (a timer's kind or
/// state, an entry's kind), as its type; a word it does not know is a
/// conversion error naming the word, not a silent default.
fn word<T>(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T: std::str::FromStr<Err = strum::ParseError>,
{
    let text: String = row.get(index)?;
    text.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!(
                "unknown word `{text}` in the store (written by a newer Redress, or edited by hand?)"
            )
            .into(),
        )
    })
}

/// The number of the case with this id, by reading the whole cases table:
/// for the offline [`Archive`](crate::store::Archive), which has no case index in
/// memory (the daemon's store looks ids up in its `CaseIndex`).
pub(in crate::store) fn find_case_no(
    connection: &Connection,
    id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT no FROM cases WHERE id = ?1 LIMIT 1")?
        .query_row(params![id], |row| row.get(0))
        .optional()?)
}

/// The cases of `customer_id`, newest first, by reading the whole cases
/// table: for the offline [`Archive`](crate::store::Archive). The daemon's
/// store finds the numbers in its `CaseIndex` and reads
/// [`read_case_summaries`].
pub(in crate::store) fn read_cases_of_customer(
    connection: &Connection,
    customer_id: &str,
    limit: usize,
) -> Result<Vec<CaseSummary>, StoreError> {
    Ok(connection
        .prepare_cached(
            "SELECT id, status, opened_at, category, queue, escalation_level FROM cases
              WHERE customer_id = ?1 ORDER BY opened_at DESC, no DESC LIMIT ?2",
        )?
        .query_map(params![customer_id, limit as i64], case_summary)?
        .collect::<Result<_, _>>()?)
}

/// The cases numbered `numbers`, in that order.
pub(in crate::store) fn read_case_summaries(
    connection: &Connection,
    numbers: &[i64],
) -> Result<Vec<CaseSummary>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT id, status, opened_at, category, queue, escalation_level FROM cases WHERE no = ?1",
    )?;
    let mut summaries = Vec::with_capacity(numbers.len());
    for no in numbers {
        if let Some(summary) = statement.query_row(params![no], case_summary).optional()? {
            summaries.push(summary);
        }
    }
    Ok(summaries)
}

fn case_summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<CaseSummary> {
    Ok(CaseSummary {
        id: row.get(0)?,
        status: row.get::<_, String>(1)?.parse().unwrap_or(Status::Open),
        opened_at: Timestamp(row.get(2)?),
        category: row.get(3)?,
        queue: row.get(4)?,
        escalation_level: row.get(5)?,
    })
}

/// The case numbered `case_no`.
pub(in crate::store) fn read_case(
    connection: &Connection,
    audit: &AuditFile,
    case_no: i64,
) -> Result<Option<CaseView>, StoreError> {
    let case = connection
        .prepare_cached(
            "SELECT id, customer_id, status, opened_at, updated_at, category, product_line, tier, location, queue,
                    handler, escalation_level, goodwill FROM cases WHERE no = ?1",
        )?
        .query_row(params![case_no], |row| {
            let case = CaseView {
                id: row.get(0)?,
                customer_id: row.get(1)?,
                status: row.get::<_, String>(2)?.parse().unwrap_or(Status::Open),
                opened_at: Timestamp(row.get(3)?),
                updated_at: Timestamp(row.get(4)?),
                category: row.get(5)?,
                product_line: row.get(6)?,
                tier: row.get(7)?,
                location: row.get(8)?,
                queue: row.get(9)?,
                handler: row.get(10)?,
                escalation_level: row.get(11)?,
                goodwill: row.get(12)?,
                timers: Vec::new(),
                history: Vec::new(),
                decisions: Vec::new(),
            };
            Ok(case)
        })
        .optional()?;
    let Some(mut case) = case else {
        return Ok(None);
    };
    case.timers = connection
        .prepare_cached(
            "SELECT kind, due_at, state, fired_at FROM timers WHERE case_no = ?1 ORDER BY due_at",
        )?
        .query_map(params![case_no], |row| {
            Ok(TimerView {
                kind: word(row, 0)?,
                due_at: Timestamp(row.get(1)?),
                state: word(row, 2)?,
                fired_at: row.get::<_, Option<i64>>(3)?.map(Timestamp),
            })
        })?
        .collect::<Result<_, _>>()?;
    // Opening is not stored as an event: the case row says when.
    case.history = vec![CaseEventView {
        kind: "opened".to_string(),
        at: case.opened_at,
        data: None,
    }];
    let events = connection
        .prepare_cached("SELECT kind, at, data FROM case_events WHERE case_no = ?1 ORDER BY seq")?
        .query_map(params![case_no], |row| {
            Ok(CaseEventView {
                kind: row.get(0)?,
                at: Timestamp(row.get(1)?),
                data: row
                    .get::<_, Option<String>>(2)?
                    .and_then(|d| serde_json::from_str(&d).ok()),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    case.history.extend(events);
    case.decisions = read_decisions(
        connection,
        audit,
        &DecisionQuery {
            limit: 1000,
            ..DecisionQuery::default()
        },
        Some(case_no),
    )?
    .decisions;
    Ok(Some(case))
}

/// Rows of the log read in order of sequence before a query with a time
/// range turns to the index by decision time.
const SEQUENTIAL_WINDOW: i64 = 10_000;

/// A page of the audit log; with `case_no`, of that case only (callers
/// resolve `query.case_id` to it, which is not read here).
pub(in crate::store) fn read_decisions(
    connection: &Connection,
    audit: &AuditFile,
    query: &DecisionQuery,
    case_no: Option<i64>,
) -> Result<DecisionPage, StoreError> {
    let limit = query.limit.clamp(1, 1000);
    let decisions = match case_no {
        Some(case_no) => read_case_page(connection, audit, query, case_no, limit)?,
        None => read_log_page(connection, audit, query, limit, SEQUENTIAL_WINDOW)?,
    };
    let next = (decisions.len() == limit)
        .then(|| decisions.last().map(|d| d.seq))
        .flatten();
    Ok(DecisionPage { decisions, next })
}

const DECISION_COLUMNS: &str = "seq, event_id, case_id, kind, decided_at, ruleset_version, plugin_digests, decision, payload_at, payload_len";

/// Where an entry's decision is.
pub(in crate::store) enum Payload {
    /// In the row: entries written before schema version 5.
    InRow(String),
    InAuditFile(Span),
}

impl Payload {
    /// From the columns `decision, payload_at, payload_len`, the first of
    /// them at `first`.
    pub(in crate::store) fn from_row(
        row: &rusqlite::Row<'_>,
        first: usize,
    ) -> rusqlite::Result<Self> {
        Ok(match (row.get(first + 1)?, row.get(first + 2)?) {
            (Some(at), Some(len)) => Payload::InAuditFile(Span { at, len }),
            _ => Payload::InRow(row.get(first)?),
        })
    }

    /// The decision (JSON); `None` if its line cannot be read (lost with
    /// the machine's power under `durability = "normal"`).
    pub(in crate::store) fn decision_json(
        self,
        audit: &AuditFile,
    ) -> Result<Option<String>, StoreError> {
        match self {
            Payload::InRow(decision) => Ok(Some(decision)),
            Payload::InAuditFile(span) => audit.read_decision(span),
        }
    }
}

/// An entry of the log from a row of [`DECISION_COLUMNS`], but for its
/// decision, which [`with_decision`] reads.
fn decision_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(StoredDecision, Payload)> {
    let digests: String = row.get(6)?;
    let payload = Payload::from_row(row, 7)?;
    let entry = StoredDecision {
        seq: row.get(0)?,
        event_id: row.get(1)?,
        case_id: row.get(2)?,
        kind: word(row, 3)?,
        decided_at: Timestamp(row.get(4)?),
        ruleset_version: row.get(5)?,
        plugin_digests: serde_json::from_str(&digests).unwrap_or_default(),
        decision: serde_json::Value::Null,
    };
    Ok((entry, payload))
}

/// The entry with its decision; `null` if the decision cannot be read.
fn with_decision(
    audit: &AuditFile,
    row: rusqlite::Result<(StoredDecision, Payload)>,
) -> Result<StoredDecision, StoreError> {
    let (mut entry, payload) = row?;
    let decision = payload.decision_json(audit)?;
    if let Some(decision) = decision.and_then(|d| serde_json::from_str(&d).ok()) {
        entry.decision = decision;
    }
    Ok(entry)
}

/// A case's decisions, found by the case's number.
fn read_case_page(
    connection: &Connection,
    audit: &AuditFile,
    query: &DecisionQuery,
    case_no: i64,
    limit: usize,
) -> Result<Vec<StoredDecision>, StoreError> {
    let rows = connection
        .prepare_cached(&format!(
            "SELECT {DECISION_COLUMNS} FROM decisions
             WHERE case_no = ?2 AND seq > ?1
               AND (?3 IS NULL OR decided_at >= ?3) AND (?4 IS NULL OR decided_at < ?4)
             ORDER BY seq LIMIT ?5"
        ))?
        .query_map(
            params![
                query.after,
                case_no,
                query.since.map(Timestamp::millis),
                query.until.map(Timestamp::millis),
                limit as i64
            ],
            decision_row,
        )?
        .map(|row| with_decision(audit, row))
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The whole log, in order of sequence. Without a time range, read in that
/// order. With one, the first `window` positions after `after` are read in
/// that order, which answers a page where matching decisions are dense; if
/// they do not fill the page, the rest comes from the index by decision
/// time, whose entries are a few bytes where the log's rows are hundreds
/// (and each match's decision a read of the audit file): a range of recent
/// decisions in a long log is found without reading the log before it. Decision times need not follow the sequence (clients set
/// `received_at`), so the index's matches are sorted by sequence here.
pub(in crate::store) fn read_log_page(
    connection: &Connection,
    audit: &AuditFile,
    query: &DecisionQuery,
    limit: usize,
    window: i64,
) -> Result<Vec<StoredDecision>, StoreError> {
    let since = query.since.map_or(i64::MIN, Timestamp::millis);
    let until = query.until.map_or(i64::MAX, Timestamp::millis);
    let timed = query.since.is_some() || query.until.is_some();
    let window_end = if timed {
        query.after.saturating_add(window)
    } else {
        i64::MAX
    };
    // `+decided_at`: read by sequence, never by the time index, here.
    let mut page: Vec<StoredDecision> = connection
        .prepare_cached(&format!(
            "SELECT {DECISION_COLUMNS} FROM decisions
             WHERE seq > ?1 AND seq <= ?2 AND +decided_at >= ?3 AND +decided_at < ?4
             ORDER BY seq LIMIT ?5"
        ))?
        .query_map(
            params![query.after, window_end, since, until, limit as i64],
            decision_row,
        )?
        .map(|row| with_decision(audit, row))
        .collect::<Result<_, _>>()?;
    if !timed || page.len() == limit || window_end == i64::MAX {
        return Ok(page);
    }
    let wanted = limit - page.len();
    // The `wanted` smallest sequence numbers after the window, largest on top.
    let mut smallest = std::collections::BinaryHeap::with_capacity(wanted + 1);
    let mut statement = connection.prepare_cached(
        "SELECT seq FROM decisions INDEXED BY decisions_time
         WHERE decided_at >= ?1 AND decided_at < ?2 AND seq > ?3",
    )?;
    let mut rows = statement.query(params![since, until, window_end])?;
    while let Some(row) = rows.next()? {
        smallest.push(row.get::<_, i64>(0)?);
        if smallest.len() > wanted {
            smallest.pop();
        }
    }
    let mut by_seq = connection.prepare_cached(&format!(
        "SELECT {DECISION_COLUMNS} FROM decisions WHERE seq = ?1"
    ))?;
    for seq in smallest.into_sorted_vec() {
        page.push(with_decision(
            audit,
            by_seq.query_row(params![seq], decision_row),
        )?);
    }
    Ok(page)
}

/// [`StoreReader::complaints_per_day`](crate::store::StoreReader::complaints_per_day)
/// (a scan of the `cases_report` index).
pub(in crate::store) fn read_complaints_per_day(
    connection: &Connection,
    cell: &crate::store::GridCell,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(Timestamp, i64)>, StoreError> {
    const DAY: i64 = 86_400_000;
    Ok(connection
        .prepare_cached(
            "SELECT opened_at - opened_at % ?3, COUNT(*) FROM cases
              WHERE opened_at >= ?1 AND opened_at < ?2
                AND category IS ?4 AND product_line IS ?5 AND tier IS ?6
              GROUP BY 1 ORDER BY 1",
        )?
        .query_map(
            params![
                from.millis(),
                to.millis(),
                DAY,
                cell.category,
                cell.product_line,
                cell.tier
            ],
            |row| Ok((Timestamp(row.get(0)?), row.get(1)?)),
        )?
        .collect::<Result<_, _>>()?)
}

pub(in crate::store) fn read_report(
    connection: &Connection,
    from: Timestamp,
    to: Timestamp,
) -> Result<Report, StoreError> {
    // One scan of the `cases_report` index, by cell and currency (amounts
    // in different currencies are never added); the cell's rows are then
    // summed up.
    let mut statement = connection.prepare_cached(
        "SELECT category, product_line, tier, currency, COUNT(*),
                SUM(status IN ('resolved', 'confirmed', 'closed')), SUM(sla_breaches),
                SUM(follow_up_scheduled), SUM(follow_ups_done), SUM(escalation_rank >= 0), SUM(goodwill)
         FROM cases WHERE opened_at >= ?1 AND opened_at < ?2
         GROUP BY category, product_line, tier, currency",
    )?;
    let parts = statement.query_map(params![from.millis(), to.millis()], |row| {
        Ok(CellPart {
            cell: ReportRow {
                category: row.get(0)?,
                product_line: row.get(1)?,
                tier: row.get(2)?,
                complaints: row.get(4)?,
                resolved: row.get(5)?,
                sla_breaches: row.get(6)?,
                follow_ups_scheduled: row.get(7)?,
                follow_ups_done: row.get(8)?,
                escalated: row.get(9)?,
                compensation: Vec::new(),
            },
            currency: row.get(3)?,
            goodwill: row.get(10)?,
        })
    })?;
    let mut parts = parts.collect::<Result<Vec<_>, _>>()?;
    Ok(Report::new(from, to, cells_of(&mut parts)))
}
