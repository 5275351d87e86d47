//! What the engine reads from durable state while deciding: the customer's
//! history, control-line counts and authority budget use. The engine only
//! reads; the store records the decision afterwards.

use std::collections::BTreeMap;

use crate::decision::Name;
use crate::event::ComplaintEvent;
use crate::expr::CustomerHistory;
use crate::time::{Duration, Timestamp};

/// A control line's grid cell: `group_by` field → value.
pub type Group = BTreeMap<Name, String>;

/// The key a store counts a group under: `field=value` pairs in field
/// order, separated by a unit separator.
pub fn group_key(group: &Group) -> String {
    let mut key = String::new();
    for (index, (field, value)) in group.iter().enumerate() {
        if index > 0 {
            key.push('\u{1f}');
        }
        key.push_str(field);
        key.push('=');
        key.push_str(value);
    }
    key
}

/// Uses of a grant already counted in a budget window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BudgetUse {
    pub count: i64,
    pub amount: f64,
}

/// Read access to durable state. Every method may answer `None`: "not
/// known here", which the decision reports as not evaluated.
pub trait StateView {
    /// The customer's history before this complaint; its money
    /// (`goodwill_365d`) in `currency`, the rule set's.
    fn history(&self, event: &ComplaintEvent, currency: &str) -> Option<CustomerHistory>;

    /// Complaints counted by control line `rule` in `group` (the grid
    /// cell: `group_by` field → value) during the `window` before `at`
    /// (this complaint not included).
    fn control_line_count(
        &self,
        rule: &str,
        group: &Group,
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
    fn history(&self, _: &ComplaintEvent, _: &str) -> Option<CustomerHistory> {
        None
    }

    fn control_line_count(&self, _: &str, _: &Group, _: Duration, _: Timestamp) -> Option<i64> {
        None
    }

    fn budget_use(&self, _: &str, _: &str, _: Duration, _: Timestamp) -> Option<BudgetUse> {
        None
    }
}
