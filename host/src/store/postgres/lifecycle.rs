//! Lifecycle events on a case, on PostgreSQL: the case's row is locked for
//! the transaction, so events for one case sent to different nodes apply
//! one after the other, each to the status the previous one left.

use super::client::PgConnection;
use super::locks::LockSet;
use super::queries::read_case;
use super::view::budget_used;
use crate::store::domain::authority::{Grant, requested};
use crate::store::domain::case_effects::{Applied, CaseWrites, Commitments, Milestone, apply};
use crate::store::domain::report_figures::ReportFigure;
use crate::store::{
    AuthorityUseError, CaseView, LifecycleError, LifecycleEvent, Status, StoreError, TimerKind,
};
use crate::time::Timestamp;

pub(super) const ADD_CASE_EVENT: &str =
    "INSERT INTO case_events (case_id, kind, at, data) VALUES ($1, $2, $3, $4)";

/// Adds to one of the report figures the case's row keeps.
pub(super) fn count_figure(
    connection: &PgConnection,
    case_id: &str,
    figure: ReportFigure,
) -> Result<(), StoreError> {
    let sql = match figure {
        ReportFigure::SlaBreach => "UPDATE cases SET sla_breaches = sla_breaches + 1 WHERE id = $1",
        ReportFigure::FollowUpScheduled => "UPDATE cases SET follow_up_scheduled = 1 WHERE id = $1",
        ReportFigure::FollowUpDone => {
            "UPDATE cases SET follow_ups_done = follow_ups_done + 1 WHERE id = $1"
        }
    };
    connection.execute(sql, &[&case_id])?;
    Ok(())
}

/// Arms (or re-arms) a case's timer.
pub(super) const ARM_TIMER: &str = "INSERT INTO timers (case_id, kind, due_at, state) VALUES ($1, $2, $3, 'pending')
     ON CONFLICT (case_id, kind) DO UPDATE SET due_at = excluded.due_at, state = 'pending', fired_at = NULL";

/// Applies `event`; the batch's transaction holds the case's lock (its
/// event id's, [`super::locks::event`]).
pub(super) fn apply_event(
    connection: &PgConnection,
    locks: &LockSet,
    case_id: &str,
    event: &LifecycleEvent,
    now: Timestamp,
) -> Result<CaseView, LifecycleError> {
    let Some(row) = connection.query_opt(
        "SELECT status, resolve_ms, follow_up_ms FROM cases WHERE id = $1 FOR UPDATE",
        &[&case_id],
    )?
    else {
        return Err(LifecycleError::NoCase(case_id.to_string()));
    };
    let status: String = row.try_get(0).map_err(StoreError::from)?;
    let commitments = Commitments {
        resolve_ms: row.try_get(1).map_err(StoreError::from)?,
        follow_up_ms: row.try_get(2).map_err(StoreError::from)?,
    };
    let from = status.parse().unwrap_or(Status::Open);
    let Applied { status, at, data } = apply(
        case_id,
        from,
        commitments,
        event,
        now,
        &mut PostgresCaseWrites {
            connection,
            locks,
            case_id,
        },
    )?;
    connection.execute(
        "UPDATE cases SET status = $2, updated_at = GREATEST(updated_at, $3) WHERE id = $1",
        &[&case_id, &status.as_str(), &at],
    )?;
    let data = data.map(|data| data.to_string());
    connection.execute(
        ADD_CASE_EVENT,
        &[&case_id, &event.kind.as_str(), &at, &data],
    )?;
    read_case(connection, case_id)?.ok_or_else(|| LifecycleError::NoCase(case_id.to_string()))
}

/// The effects of a lifecycle event, written to one case.
struct PostgresCaseWrites<'a> {
    connection: &'a PgConnection,
    locks: &'a LockSet,
    case_id: &'a str,
}

impl CaseWrites for PostgresCaseWrites<'_> {
    fn stamp(&mut self, milestone: Milestone, at: i64) -> Result<(), StoreError> {
        stamp(self.connection, self.case_id, milestone, at)
    }

    fn cancel(&mut self, kinds: &[TimerKind]) -> Result<(), StoreError> {
        cancel_timers(self.connection, self.case_id, kinds)
    }

    fn arm(&mut self, kind: TimerKind, due_at: i64) -> Result<(), StoreError> {
        self.connection
            .execute(ARM_TIMER, &[&self.case_id, &kind.as_str(), &due_at])?;
        Ok(())
    }

    fn count(&mut self, figure: ReportFigure) -> Result<(), StoreError> {
        count_figure(self.connection, self.case_id, figure)
    }

    fn use_authority(&mut self, event: &LifecycleEvent, at: i64) -> Result<f64, LifecycleError> {
        use_authority(self.connection, self.locks, self.case_id, event, at)
    }
}

fn stamp(
    connection: &PgConnection,
    case_id: &str,
    milestone: Milestone,
    at: i64,
) -> Result<(), StoreError> {
    let sql = match milestone {
        Milestone::FirstResponse => {
            "UPDATE cases SET responded_at = COALESCE(responded_at, $2) WHERE id = $1"
        }
        Milestone::Resolved => "UPDATE cases SET resolved_at = $2 WHERE id = $1",
        Milestone::Confirmed => "UPDATE cases SET confirmed_at = $2 WHERE id = $1",
        Milestone::Closed => "UPDATE cases SET closed_at = $2 WHERE id = $1",
    };
    connection.execute(sql, &[&case_id, &at])?;
    Ok(())
}

fn cancel_timers(
    connection: &PgConnection,
    case_id: &str,
    kinds: &[TimerKind],
) -> Result<(), StoreError> {
    let kinds: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
    connection.execute(
        "UPDATE timers SET state = 'cancelled' WHERE case_id = $1 AND kind = ANY($2) AND state = 'pending'",
        &[&case_id, &kinds],
    )?;
    Ok(())
}

/// Records a use of a granted policy, within its grant and budget; the
/// budget stays locked until the transaction commits, so uses on other
/// nodes count this one.
fn use_authority(
    connection: &PgConnection,
    locks: &LockSet,
    case_id: &str,
    event: &LifecycleEvent,
    at: i64,
) -> Result<f64, LifecycleError> {
    let wanted = requested(event)?;
    let row = connection.query_opt(
        "SELECT rule, max_cost, scope, budget_window, budget_count, budget_amount FROM case_grants WHERE case_id = $1 AND policy = $2",
        &[&case_id, &wanted.policy],
    )?;
    let Some(row) = row else {
        return Err(AuthorityUseError::NotGranted {
            case: case_id.to_string(),
            policy: wanted.policy.to_string(),
        }
        .into());
    };
    let grant = (|| -> Result<Grant, tokio_postgres::Error> {
        Ok(Grant {
            rule: row.try_get(0)?,
            max_cost: row.try_get(1)?,
            scope: row.try_get(2)?,
            window: row.try_get(3)?,
            count_limit: row.try_get(4)?,
            amount_limit: row.try_get(5)?,
        })
    })()
    .map_err(StoreError::from)?;
    let used = grant
        .window
        .map(|window| {
            budget_used(
                connection,
                Some(locks),
                &grant.rule,
                grant.scope(),
                at - window,
            )
        })
        .transpose()?;
    grant.allows(wanted, used)?;
    connection.execute(
        "INSERT INTO authority_uses (rule, scope, policy, case_id, at, cost, used_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &grant.rule,
            &grant.scope(),
            &wanted.policy,
            &case_id,
            &at,
            &wanted.cost,
            &event.by,
        ],
    )?;
    Ok(wanted.cost)
}
