//! Lifecycle events on a case: the status moves as
//! [`transition`] says, the effects
//! [`effects_of`] lists are written, and the
//! case's history records the event.

use rusqlite::{Connection, OptionalExtension, params};

use super::queries::read_case;
use super::timer_queue::TimerQueue;
use super::timers::{arm_timer, cancel_timers};
use super::view::budget_used;
use super::writer::WriterState;
use crate::store::domain::authority::{Grant, requested};
use crate::store::domain::case_effects::{Applied, CaseWrites, Commitments, Milestone, apply};
use crate::store::domain::report_figures::ReportFigure;
use crate::store::{
    AuthorityUseError, CaseView, LifecycleError, LifecycleEvent, Status, StoreError, TimerKind,
};
use crate::time::Timestamp;

pub(super) fn add_case_event(
    connection: &Connection,
    case_no: i64,
    kind: &str,
    at: i64,
    data: Option<serde_json::Value>,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO case_events (case_no, kind, at, data) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![case_no, kind, at, data.map(|d| d.to_string())])?;
    Ok(())
}

/// Adds to one of the report figures the case's row keeps.
pub(super) fn count_figure(
    connection: &Connection,
    case_no: i64,
    figure: ReportFigure,
) -> Result<(), StoreError> {
    let sql = match figure {
        ReportFigure::SlaBreach => "UPDATE cases SET sla_breaches = sla_breaches + 1 WHERE no = ?1",
        ReportFigure::FollowUpScheduled => "UPDATE cases SET follow_up_scheduled = 1 WHERE no = ?1",
        ReportFigure::FollowUpDone => {
            "UPDATE cases SET follow_ups_done = follow_ups_done + 1 WHERE no = ?1"
        }
    };
    connection.prepare_cached(sql)?.execute(params![case_no])?;
    Ok(())
}

pub(super) fn apply_event(
    connection: &Connection,
    state: &mut WriterState<'_>,
    case_id: &str,
    event: &LifecycleEvent,
    now: Timestamp,
) -> Result<CaseView, LifecycleError> {
    let cases = state.cases;
    let Some(case_no) = cases.read().case_no(case_id) else {
        return Err(LifecycleError::NoCase(case_id.to_string()));
    };
    let (status, commitments, customer): (String, Commitments, Option<String>) = connection
        .prepare_cached(
            "SELECT status, resolve_ms, follow_up_ms, customer_id FROM cases WHERE no = ?1",
        )
        .map_err(StoreError::from)?
        .query_row(params![case_no], |row| {
            Ok((
                row.get(0)?,
                Commitments {
                    resolve_ms: row.get(1)?,
                    follow_up_ms: row.get(2)?,
                },
                row.get(3)?,
            ))
        })
        .map_err(StoreError::from)?;
    let from = status.parse().unwrap_or(Status::Open);
    let Applied {
        status: next,
        at,
        data,
    } = apply(
        case_id,
        from,
        commitments,
        event,
        now,
        &mut SqliteCaseWrites {
            connection,
            timers: &mut state.timers,
            case_no,
            case_id,
        },
    )?;
    connection
        .execute(
            "UPDATE cases SET status = ?2, updated_at = MAX(updated_at, ?3) WHERE no = ?1",
            params![case_no, next.as_str(), at],
        )
        .map_err(StoreError::from)?;
    if let Some(customer) = &customer {
        cases
            .write()
            .set_open(customer, case_no, next != Status::Closed);
    }
    add_case_event(connection, case_no, event.kind.as_str(), at, data)?;
    read_case(connection, &state.audit, case_no)?
        .ok_or_else(|| LifecycleError::NoCase(case_id.to_string()))
}

/// The effects of a lifecycle event, written to one case.
struct SqliteCaseWrites<'a> {
    connection: &'a Connection,
    timers: &'a mut TimerQueue,
    case_no: i64,
    case_id: &'a str,
}

impl CaseWrites for SqliteCaseWrites<'_> {
    fn stamp(&mut self, milestone: Milestone, at: i64) -> Result<(), StoreError> {
        stamp(self.connection, self.case_no, milestone, at)
    }

    fn cancel(&mut self, kinds: &[TimerKind]) -> Result<(), StoreError> {
        cancel_timers(self.connection, self.case_no, kinds)
    }

    fn arm(&mut self, kind: TimerKind, due_at: i64) -> Result<(), StoreError> {
        arm_timer(self.connection, self.timers, self.case_no, kind, due_at)
    }

    fn count(&mut self, figure: ReportFigure) -> Result<(), StoreError> {
        count_figure(self.connection, self.case_no, figure)
    }

    fn use_authority(&mut self, event: &LifecycleEvent, at: i64) -> Result<f64, LifecycleError> {
        use_authority(self.connection, self.case_id, event, at)
    }
}

fn stamp(
    connection: &Connection,
    case_no: i64,
    milestone: Milestone,
    at: i64,
) -> Result<(), StoreError> {
    let sql = match milestone {
        Milestone::FirstResponse => {
            "UPDATE cases SET responded_at = COALESCE(responded_at, ?2) WHERE no = ?1"
        }
        Milestone::Resolved => "UPDATE cases SET resolved_at = ?2 WHERE no = ?1",
        Milestone::Confirmed => "UPDATE cases SET confirmed_at = ?2 WHERE no = ?1",
        Milestone::Closed => "UPDATE cases SET closed_at = ?2 WHERE no = ?1",
    };
    connection.execute(sql, params![case_no, at])?;
    Ok(())
}

/// Records a use of a granted policy, within its grant and budget.
fn use_authority(
    connection: &Connection,
    case_id: &str,
    event: &LifecycleEvent,
    at: i64,
) -> Result<f64, LifecycleError> {
    let wanted = requested(event)?;
    let grant: Option<Grant> = connection
        .prepare_cached(
            "SELECT rule, max_cost, scope, budget_window, budget_count, budget_amount FROM case_grants WHERE case_id = ?1 AND policy = ?2",
        )
        .map_err(StoreError::from)?
        .query_row(params![case_id, wanted.policy], |row| {
            Ok(Grant {
                rule: row.get(0)?,
                max_cost: row.get(1)?,
                scope: row.get(2)?,
                window: row.get(3)?,
                count_limit: row.get(4)?,
                amount_limit: row.get(5)?,
            })
        })
        .optional()
        .map_err(StoreError::from)?;
    let Some(grant) = grant else {
        return Err(AuthorityUseError::NotGranted {
            case: case_id.to_string(),
            policy: wanted.policy.to_string(),
        }
        .into());
    };
    let used = grant
        .window
        .map(|window| budget_used(connection, &grant.rule, grant.scope(), at - window))
        .transpose()
        .map_err(StoreError::from)?;
    grant.allows(wanted, used)?;
    connection
        .prepare_cached(
            "INSERT INTO authority_uses (rule, scope, policy, case_id, at, cost, used_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(StoreError::from)?
        .execute(params![
            grant.rule,
            grant.scope(),
            wanted.policy,
            case_id,
            at,
            wanted.cost,
            event.by
        ])
        .map_err(StoreError::from)?;
    Ok(wanted.cost)
}
