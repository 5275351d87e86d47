//! The state a complaint is decided against, read inside the writer's
//! transaction (or on the reader's connection, for a simulation).

use rusqlite::{Connection, params};

use super::case_index::SharedCaseIndex;
use super::tally;
use crate::engine::{BudgetUse, Group, StateView, group_key};
use crate::event::ComplaintEvent;
use crate::expr::CustomerHistory;
use crate::time::{Duration, Timestamp};

/// The state as of just before the complaint being decided.
pub(super) struct SqlView<'c> {
    pub(super) connection: &'c Connection,
    pub(super) cases: &'c SharedCaseIndex,
    /// Whether the complaint may already have its case (a simulation of a
    /// recorded event), which is then left out of the customer's history.
    /// Never when recording: a recorded event is answered from the log.
    pub(super) may_be_recorded: bool,
}

impl StateView for SqlView<'_> {
    fn history(&self, event: &ComplaintEvent, currency: &str) -> Option<CustomerHistory> {
        let Some(customer) = event.customer.id.as_deref() else {
            return Some(CustomerHistory::default());
        };
        let at = event.received_at.unwrap_or(Timestamp(0)).millis();
        let index = self.cases.read();
        // A simulation of a complaint already recorded: its own case is
        // not part of its history.
        let own = if self.may_be_recorded {
            index.case_no(&event.id)
        } else {
            None
        };
        Some(index.history(customer, at, own, currency))
    }

    fn control_line_count(
        &self,
        rule: &str,
        group: &Group,
        window: Duration,
        at: Timestamp,
    ) -> Option<i64> {
        logged(tally::count(
            self.connection,
            rule,
            &group_key(group),
            at.millis() - window.millis(),
            at.millis(),
        ))
    }

    fn budget_use(
        &self,
        rule: &str,
        scope: &str,
        window: Duration,
        at: Timestamp,
    ) -> Option<BudgetUse> {
        logged(budget_used(
            self.connection,
            rule,
            scope,
            at.millis() - window.millis(),
        ))
    }
}

fn logged<T, E: std::fmt::Display>(result: Result<T, E>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::error!(%error, "store read failed; the value is treated as unknown");
            None
        }
    }
}

/// Uses of `rule`'s budget in `scope` since `from` (ms): what the engine
/// grants by and what a use of authority is checked against. Uses stamped
/// after the moment asked about count too (a use recorded with a later
/// `at` than a complaint decided in the same batch), as on PostgreSQL,
/// where another node's use may carry a later stamp and commit first: a
/// budget is never exceeded because of the order uses were stamped in.
pub(super) fn budget_used(
    connection: &Connection,
    rule: &str,
    scope: &str,
    from: i64,
) -> Result<BudgetUse, rusqlite::Error> {
    connection
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(cost), 0) FROM authority_uses WHERE rule = ?1 AND scope = ?2 AND at > ?3",
        )?
        .query_row(params![rule, scope, from], |row| {
            Ok(BudgetUse {
                count: row.get(0)?,
                amount: row.get(1)?,
            })
        })
}
