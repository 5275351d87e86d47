//! Reading the store: cases, the audit log and the report. Shared by the
//! daemon's store and the offline [`Archive`](super::Archive).

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::lifecycle::Status;
use crate::store::report::{Report, ReportRow};
use crate::store::{
    CaseEventView, CaseView, DecisionPage, DecisionQuery, StoreError, StoredDecision, TimerView,
};
use crate::time::Timestamp;

/// The number of the case with this id, by reading the whole cases table:
/// for the offline [`Archive`](super::Archive), which has no case index in
/// memory (the daemon's store looks ids up in its `CaseIndex`).
pub(super) fn find_case_no(connection: &Connection, id: &str) -> Result<Option<i64>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT no FROM cases WHERE id = ?1 LIMIT 1")?
        .query_row(params![id], |row| row.get(0))
        .optional()?)
}

/// The case numbered `case_no`.
pub(super) fn read_case(
    connection: &Connection,
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
                status: Status::parse(&row.get::<_, String>(2)?).unwrap_or(Status::Open),
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
                kind: row.get(0)?,
                due_at: Timestamp(row.get(1)?),
                state: row.get(2)?,
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
        &DecisionQuery {
            limit: 1000,
            ..DecisionQuery::default()
        },
        Some(case_no),
    )?
    .decisions;
    Ok(Some(case))
}

/// A page of the audit log; with `case_no`, of that case only (callers
/// resolve `query.case_id` to it, which is not read here).
pub(super) fn read_decisions(
    connection: &Connection,
    query: &DecisionQuery,
    case_no: Option<i64>,
) -> Result<DecisionPage, StoreError> {
    let limit = query.limit.clamp(1, 1000);
    // Two statements, so that each can use its index: a case's decisions
    // by the case's number, the whole log by sequence.
    let mut statement = connection.prepare_cached(if case_no.is_some() {
        "SELECT seq, event_id, case_id, kind, decided_at, ruleset_version, plugin_digests, decision FROM decisions
         WHERE case_no = ?2 AND seq > ?1
           AND (?3 IS NULL OR decided_at >= ?3) AND (?4 IS NULL OR decided_at < ?4)
         ORDER BY seq LIMIT ?5"
    } else {
        "SELECT seq, event_id, case_id, kind, decided_at, ruleset_version, plugin_digests, decision FROM decisions
         WHERE seq > ?1 AND ?2 IS NULL AND (?3 IS NULL OR decided_at >= ?3) AND (?4 IS NULL OR decided_at < ?4)
         ORDER BY seq LIMIT ?5"
    })?;
    let decisions: Vec<StoredDecision> = statement
        .query_map(
            params![
                query.after,
                case_no,
                query.since.map(Timestamp::millis),
                query.until.map(Timestamp::millis),
                limit as i64
            ],
            |row| {
                let digests: String = row.get(6)?;
                let decision: String = row.get(7)?;
                Ok(StoredDecision {
                    seq: row.get(0)?,
                    event_id: row.get(1)?,
                    case_id: row.get(2)?,
                    kind: row.get(3)?,
                    decided_at: Timestamp(row.get(4)?),
                    ruleset_version: row.get(5)?,
                    plugin_digests: serde_json::from_str(&digests).unwrap_or_default(),
                    decision: serde_json::from_str(&decision).unwrap_or(serde_json::Value::Null),
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    let next = (decisions.len() == limit)
        .then(|| decisions.last().map(|d| d.seq))
        .flatten();
    Ok(DecisionPage { decisions, next })
}

pub(super) fn read_report(
    connection: &Connection,
    from: Timestamp,
    to: Timestamp,
) -> Result<Report, StoreError> {
    let rows: Vec<ReportRow> = connection
        .prepare_cached(
            "SELECT c.category, c.product_line, c.tier, COUNT(*),
                    SUM(c.status IN ('resolved', 'confirmed', 'closed')),
                    COALESCE(SUM(c.goodwill), 0),
                    SUM((SELECT COUNT(*) FROM timers t WHERE t.case_no = c.no AND t.kind IN ('first_response', 'resolve') AND t.state = 'fired')),
                    SUM((SELECT COUNT(*) FROM timers t WHERE t.case_no = c.no AND t.kind = 'follow_up')),
                    SUM((SELECT COUNT(*) FROM case_events e WHERE e.case_no = c.no AND e.kind = 'followed_up')),
                    SUM(c.escalation_rank >= 0)
             FROM cases c WHERE c.opened_at >= ?1 AND c.opened_at < ?2
             GROUP BY c.category, c.product_line, c.tier
             ORDER BY COUNT(*) DESC, c.category, c.product_line, c.tier",
        )?
        .query_map(params![from.millis(), to.millis()], |row| {
            Ok(ReportRow {
                category: row.get(0)?,
                product_line: row.get(1)?,
                tier: row.get(2)?,
                complaints: row.get(3)?,
                resolved: row.get(4)?,
                compensation: row.get(5)?,
                sla_breaches: row.get(6)?,
                follow_ups_scheduled: row.get(7)?,
                follow_ups_done: row.get(8)?,
                escalated: row.get(9)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Report::new(from, to, rows))
}
