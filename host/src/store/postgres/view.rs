//! The state a complaint is decided against, read inside the writer's
//! transaction with the locks that keep it exact across nodes (or, for a
//! simulation, read as it is, without them).

use std::cell::RefCell;

use super::batch::{BatchState, histories};
use super::client::PgConnection;
use super::locks::{self, LockSet};
use crate::engine::{BudgetUse, Group, StateView, group_key};
use crate::event::ComplaintEvent;
use crate::expr::CustomerHistory;
use crate::store::StoreError;
use crate::store::domain::tally_window::window_spans;
use crate::time::{Duration, Timestamp};

/// The state as of just before the complaint being decided.
pub(super) struct PgView<'c> {
    pub(super) connection: &'c PgConnection,
    /// Inside the writer's transaction: the locks that keep each count
    /// read unchanged by other nodes until this transaction commits.
    /// `None` for a simulation, which reads as it is.
    pub(super) locks: Option<&'c LockSet>,
    /// The first read that failed. Inside the writer's transaction, a
    /// failed statement aborts the transaction, so the decision cannot be
    /// recorded: the store answers with this error (which says why)
    /// rather than with the "transaction is aborted" of the next write.
    pub(super) failed: RefCell<Option<StoreError>>,
    /// Inside the writer's transaction: the batch's reads ahead and its
    /// decisions not yet written.
    batch: Option<&'c RefCell<BatchState>>,
}

impl<'c> PgView<'c> {
    pub(super) fn new(connection: &'c PgConnection, locks: Option<&'c LockSet>) -> Self {
        PgView {
            connection,
            locks,
            failed: RefCell::new(None),
            batch: None,
        }
    }

    /// The view of a complaint of `batch`.
    pub(super) fn in_batch(mut self, batch: &'c RefCell<BatchState>) -> Self {
        self.batch = Some(batch);
        self
    }

    /// The first read that failed, if any.
    pub(super) fn failure(self) -> Option<StoreError> {
        self.failed.into_inner()
    }

    /// The value read, or `None` ("not known here") with the error kept.
    fn read<T>(&self, result: Result<T, StoreError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                tracing::error!(%error, "store read failed; the value is treated as unknown");
                let mut failed = self.failed.borrow_mut();
                if failed.is_none() {
                    *failed = Some(error);
                }
                None
            }
        }
    }
}

pub(super) const TALLY_COUNT: &str =
    "SELECT COALESCE(SUM(t.count), 0)::BIGINT FROM control_tallies t
   JOIN unnest($3::bigint[], $4::bigint[], $5::bigint[]) AS s(level, low, high)
     ON t.level = s.level AND t.bucket BETWEEN s.low AND s.high
  WHERE t.rule = $1 AND t.grp = $2";

/// Every use since the window began, also those timed after the moment
/// asked about: a node stamps a use with the moment its request arrived,
/// so a use another node took a moment later, and committed first, is in
/// the budget too. Leaving it out would let two nodes both grant the last
/// use.
pub(super) const BUDGET_USED: &str =
    "SELECT COUNT(*), COALESCE(SUM(cost), 0)::DOUBLE PRECISION FROM authority_uses
  WHERE rule = $1 AND scope = $2 AND at > $3";

impl StateView for PgView<'_> {
    fn history(&self, event: &ComplaintEvent, currency: &str) -> Option<CustomerHistory> {
        let Some(customer) = event.customer.id.as_deref() else {
            return Some(CustomerHistory::default());
        };
        let history = match self.batch {
            Some(batch) => batch
                .borrow_mut()
                .history(self.connection, event, customer, currency),
            None => {
                let at = event.received_at.unwrap_or(Timestamp(0)).millis();
                histories(
                    self.connection,
                    &[(event.id.clone(), customer.to_string(), at)],
                    currency,
                )
                .map(|mut found| found.remove(&event.id).unwrap_or_default())
            }
        };
        self.read(history)
    }

    fn control_line_count(
        &self,
        rule: &str,
        group: &Group,
        window: Duration,
        at: Timestamp,
    ) -> Option<i64> {
        let group = group_key(group);
        let (from, to) = (at.millis() - window.millis(), at.millis());
        let written = self.read(tally_count(
            self.connection,
            self.locks,
            rule,
            &group,
            from,
            to,
        ))?;
        let unwritten = self.batch.map_or(0, |batch| {
            batch.borrow().unwritten_in_cell(rule, &group, from, to)
        });
        Some(written + unwritten)
    }

    fn budget_use(
        &self,
        rule: &str,
        scope: &str,
        window: Duration,
        at: Timestamp,
    ) -> Option<BudgetUse> {
        self.read(budget_used(
            self.connection,
            self.locks,
            rule,
            scope,
            at.millis() - window.millis(),
        ))
    }
}

/// Runs `sql` (one row) under the lock `key` of `locks`: at once if the
/// attempt holds it, else trying to take it (see [`LockSet`]).
fn under_lock(
    connection: &PgConnection,
    locks: Option<&LockSet>,
    key: i64,
    sql: &'static str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<tokio_postgres::Row, StoreError> {
    match locks {
        Some(locks) if !locks.holds(key) => {
            let (taken, row) = connection.try_locked_query_one(key, sql, params)?;
            locks.tried(key, taken);
            Ok(row)
        }
        _ => connection.query_one(sql, params),
    }
}

/// Complaints counted in the cell `(rule, group)` whose minute lies after
/// `from`'s and up to `to`'s, under the cell's lock.
pub(super) fn tally_count(
    connection: &PgConnection,
    locks: Option<&LockSet>,
    rule: &str,
    group: &str,
    from: i64,
    to: i64,
) -> Result<i64, StoreError> {
    let spans = window_spans(from, to);
    let levels: Vec<i64> = spans.iter().map(|(level, _, _)| *level as i64).collect();
    let lows: Vec<i64> = spans.iter().map(|(_, low, _)| *low).collect();
    let highs: Vec<i64> = spans.iter().map(|(_, _, high)| *high).collect();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
        [&rule, &group, &levels, &lows, &highs];
    let row = under_lock(
        connection,
        locks,
        locks::cell(rule, group),
        TALLY_COUNT,
        &params,
    )?;
    Ok(row.try_get(0)?)
}

/// Uses of `rule`'s budget in `scope` after `from` (ms), under the
/// budget's lock (see [`BUDGET_USED`]).
pub(super) fn budget_used(
    connection: &PgConnection,
    locks: Option<&LockSet>,
    rule: &str,
    scope: &str,
    from: i64,
) -> Result<BudgetUse, StoreError> {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&rule, &scope, &from];
    let row = under_lock(
        connection,
        locks,
        locks::budget(rule, scope),
        BUDGET_USED,
        &params,
    )?;
    Ok(BudgetUse {
        count: row.try_get(0)?,
        amount: row.try_get(1)?,
    })
}
