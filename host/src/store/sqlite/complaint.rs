//! Recording a decided complaint: answer a retry from the log, or decide
//! it against the state as of now, open its case with its SLA timers,
//! count it in its control lines and keep its grants.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::case_index::SharedCaseIndex;
use super::queries::Payload;
use super::tally;
use super::timer_queue::TimerQueue;
use super::timers::arm_timer;
use super::view::SqlView;
use super::writer::WriterState;
use crate::decision::{Decision, Name};
use crate::engine::group_key;
use crate::event::ComplaintEvent;
use crate::intake::Decided;
use crate::store::domain::opening::CaseOpening;
use crate::store::{Answered, DecisionKind, Intake, Recorded, StoreError, TimerState};
use crate::time::Timestamp;

pub(super) fn record_complaint(
    connection: &Connection,
    state: &mut WriterState<'_>,
    intake: &Intake,
) -> Result<Recorded, StoreError> {
    let cases = state.cases;
    let Intake {
        event,
        event_json,
        decide,
        levels,
        lapse_before,
        digest,
    } = intake;
    let recorded_case = cases.read().case_no(&event.id);
    if let Some(case_no) = recorded_case {
        let (seq, payload, recorded_digest): (i64, Payload, Option<String>) = connection
            .prepare_cached(
                "SELECT seq, decision, payload_at, payload_len, event_digest FROM decisions WHERE case_no = ?1 AND kind = 'complaint' ORDER BY seq LIMIT 1",
            )?
            .query_row(params![case_no], |row| {
                Ok((row.get(0)?, Payload::from_row(row, 1)?, row.get(4)?))
            })
            .optional()?
            .map_or_else(|| Err(no_live_decision(connection, &event.id, case_no)), Ok)?;
        let json =
            payload
                .decision_json(&state.audit)?
                .ok_or_else(|| StoreError::DecisionLost {
                    event_id: event.id.clone(),
                    seq,
                })?;
        return Recorded::from_log(seq, json, digest.as_deref(), recorded_digest.as_deref());
    }
    let Decided {
        decision,
        recording,
    } = decide(
        event,
        &SqlView {
            connection,
            cases,
            may_be_recorded: false,
        },
    );
    let json = decision.to_json()?;
    let replay = serde_json::to_string(&recording)?;
    let at = decision.received_at.millis();
    let case_no = open_case(
        connection,
        cases,
        &mut state.timers,
        event,
        levels,
        &decision,
        lapse_before.map(Timestamp::millis),
    )?;
    let digests: BTreeMap<&str, &str> = decision
        .plugins
        .iter()
        .map(|p| (&*p.name, &*p.digest))
        .collect();
    let line = state.audit.append(
        DecisionKind::Complaint.as_str(),
        Some(event_json),
        &json,
        Some(&replay),
    );
    connection
        .prepare_cached(
            "INSERT INTO decisions (event_id, case_id, case_no, kind, decided_at, ruleset_version, plugin_digests, event, decision, payload_at, payload_len, event_digest)
             VALUES (?1, ?1, ?2, 'complaint', ?3, ?4, ?5, NULL, '', ?6, ?7, ?8)",
        )?
        .execute(params![
            event.id,
            case_no,
            at,
            &*decision.ruleset_version,
            serde_json::to_string(&digests)?,
            line.at,
            line.len,
            digest.as_deref(),
        ])?;
    let seq = connection.last_insert_rowid();
    let mut control_lines = Vec::new();
    for line in &decision.control_lines {
        let key = group_key(&line.group);
        tally::add(connection, &line.rule, &key, at)?;
        control_lines.push((
            line.rule.clone(),
            key,
            line.count.unwrap_or_default(),
            line.status == crate::decision::ControlLineStatus::Crossed,
        ));
    }
    for grant in &decision.authority {
        let budget = grant.budget.as_ref();
        connection
            .prepare_cached(
                "INSERT OR REPLACE INTO case_grants (case_id, rule, policy, max_cost, scope, budget_window, budget_count, budget_amount)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                event.id,
                &*grant.rule,
                &*grant.policy,
                grant.max_cost,
                budget.map(|b| b.scope.clone()),
                budget.map(|b| b.window.millis()),
                budget.and_then(|b| b.limit_count),
                budget.and_then(|b| b.limit_amount),
            ])?;
    }
    Ok(Recorded {
        seq,
        json,
        queue: decision.route.queue.clone(),
        escalation_level: decision.escalation_level.clone(),
        answered: Answered::Decided,
        control_lines,
    })
}

/// A new case for a decided complaint, with its SLA timers; returns the
/// case's number.
fn open_case(
    connection: &Connection,
    cases: &SharedCaseIndex,
    timers: &mut TimerQueue,
    event: &ComplaintEvent,
    levels: &[Name],
    decision: &Decision,
    lapse_before: Option<i64>,
) -> Result<i64, StoreError> {
    let opening = CaseOpening::of(decision, levels, lapse_before);
    connection
        .prepare_cached(
            "INSERT INTO cases (id, customer_id, status, opened_at, updated_at, category, product_line, tier, location,
                                queue, handler, escalation_level, escalation_rank, goodwill, resolve_ms, follow_up_ms,
                                breach_escalate, breach_rank, breach_notify, currency)
             VALUES (?1, ?2, 'open', ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?
        .execute(params![
            event.id,
            event.customer.id,
            opening.at,
            decision.category.as_deref(),
            event.product_line,
            event.customer.tier,
            event.location,
            &*decision.route.queue,
            decision.route.handler.as_deref(),
            decision.escalation_level.as_deref(),
            opening.escalation_rank,
            opening.goodwill,
            opening.resolve_ms,
            opening.follow_up_ms,
            opening.breach_escalate,
            opening.breach_rank,
            opening.breach_notify.map(serde_json::to_string).transpose()?,
            opening.currency,
        ])?;
    let case_no = connection.last_insert_rowid();
    cases.write().opened(
        &event.id,
        event.customer.id.as_deref(),
        case_no,
        opening.at,
        opening.goodwill,
        opening.currency,
    );
    for timer in &opening.timers {
        match timer.state {
            TimerState::Pending => {
                arm_timer(connection, timers, case_no, timer.kind, timer.due_at)?
            }
            state => {
                connection
                    .prepare_cached(
                        "INSERT INTO timers (case_no, kind, due_at, state) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![
                        case_no,
                        timer.kind.as_str(),
                        timer.due_at,
                        state.as_str()
                    ])?;
            }
        }
    }
    Ok(case_no)
}

/// Why a recorded case has no complaint decision in the live log: it was
/// archived (retention), or the database was edited.
fn no_live_decision(connection: &Connection, event_id: &str, case_no: i64) -> StoreError {
    let archived = connection
        .query_row(
            "SELECT COALESCE(MIN(first_seq), 1) > 1 FROM audit_segments",
            [],
            |row| row.get::<_, bool>(0),
        )
        .unwrap_or(false);
    if archived {
        return StoreError::DecisionArchived {
            event_id: event_id.to_string(),
        };
    }
    StoreError::Inconsistent(format!(
        "case `{event_id}` (number {case_no}) has no complaint decision in the audit log; was the database edited by hand?"
    ))
}
