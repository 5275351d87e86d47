//! What the engine reads from durable state while deciding: the customer's
//! history, control-line counts and authority budget use. The engine only
//! reads; the store records the decision afterwards.

use crate::event::ComplaintEvent;
use crate::expr::CustomerHistory;
use crate::time::{Duration, Timestamp};

/// Uses of a grant already counted in a budget window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BudgetUse {
    pub count: i64,
    pub amount: f64,
}

/// Read access to durable state. Every method may answer `None`: "not
/// known here", which the decision reports as not evaluated.
pub trait StateView {
    /// The customer's history before this complaint.
    fn history(&self, event: &ComplaintEvent) -> Option<CustomerHistory>;

    /// Complaints counted by control line `rule` in the group with these
    /// values (in `group_by` order) during the `window` before `at` (this
    /// complaint not included).
    fn control_line_count(
        &self,
        rule: &str,
        group: &[&str],
        window: Duration,
        at: Timestamp,
    ) -> Option<i64>;

    /// Use of authority `rule` in budget scope `scope` during the `window`
    /// before `at`.
    fn budget_use(
        &self,
        rule: &str,
        scope: &str,
        window: Duration,
        at: Timestamp,
    ) -> Option<BudgetUse>;
}

/// No durable state: `redress eval`, `redress test` and simulations.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stateless;

impl StateView for Stateless {
    fn history(&self, _: &ComplaintEvent) -> Option<CustomerHistory> {
        None
    }

    fn control_line_count(&self, _: &str, _: &[&str], _: Duration, _: Timestamp) -> Option<i64> {
        None
    }

    fn budget_use(&self, _: &str, _: &str, _: Duration, _: Timestamp) -> Option<BudgetUse> {
        None
    }
}
