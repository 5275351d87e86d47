//! Whether a use of granted authority may be recorded: the event names a
//! policy and a sensible cost, the case's decision granted that policy up
//! to a cost, and the grant's budget (shared by every case in its scope)
//! has room. The budget rule is the engine's own
//! ([`crate::engine::budget_allows`]), so what was granted and what may be
//! spent cannot disagree.

use crate::engine::{BudgetUse, budget_allows, within};
use crate::store::domain::lifecycle::{AuthorityUseError, LifecycleEvent};

/// The scope of a budget that names none.
const GLOBAL_SCOPE: &str = "global";

/// The use an `authority_used` event asks to record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestedUse<'a> {
    pub policy: &'a str,
    pub cost: f64,
}

/// The event's policy and cost (default 0), or why they cannot be used.
pub fn requested(event: &LifecycleEvent) -> Result<RequestedUse<'_>, AuthorityUseError> {
    let Some(policy) = event.policy.as_deref() else {
        return Err(AuthorityUseError::NoPolicy);
    };
    let cost = event.cost.unwrap_or(0.0);
    if !cost.is_finite() || cost < 0.0 {
        return Err(AuthorityUseError::BadCost(cost));
    }
    Ok(RequestedUse { policy, cost })
}

/// A case's grant of one policy, as its decision recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// The authority rule that granted it (budgets are per rule).
    pub rule: String,
    pub max_cost: f64,
    pub scope: Option<String>,
    /// The budget's window (ms); `None` without a budget.
    pub window: Option<i64>,
    pub count_limit: Option<i64>,
    pub amount_limit: Option<f64>,
}

impl Grant {
    /// The budget's scope: the group its uses are counted in.
    pub fn scope(&self) -> &str {
        self.scope.as_deref().unwrap_or(GLOBAL_SCOPE)
    }

    /// Whether `wanted` fits: within the grant's cost and, when the grant
    /// has a budget, within what `used` (the budget's uses in its window,
    /// read by the backend) leaves.
    pub fn allows(
        &self,
        wanted: RequestedUse<'_>,
        used: Option<BudgetUse>,
    ) -> Result<(), AuthorityUseError> {
        if !within(wanted.cost, self.max_cost) {
            return Err(AuthorityUseError::OverMaxCost {
                policy: wanted.policy.to_string(),
                cost: wanted.cost,
                max_cost: self.max_cost,
            });
        }
        if let Some(used) = used
            && !budget_allows(used, self.count_limit, self.amount_limit, wanted.cost)
        {
            return Err(AuthorityUseError::BudgetUsedUp {
                rule: self.rule.clone(),
                scope: self.scope().to_string(),
                count: used.count,
                amount: used.amount,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp_grant() -> Grant {
        Grant {
            rule: "teller_parking".into(),
            max_cost: 5.0,
            scope: Some("branch-1".into()),
            window: Some(86_400_000),
            count_limit: Some(50),
            amount_limit: None,
        }
    }

    fn stamp(cost: f64) -> RequestedUse<'static> {
        RequestedUse {
            policy: "parking_stamp",
            cost,
        }
    }

    #[test]
    fn the_fiftieth_stamp_of_the_day_is_the_last() {
        let grant = stamp_grant();
        let used = |count| Some(BudgetUse { count, amount: 0.0 });
        assert_eq!(grant.allows(stamp(2.0), used(49)), Ok(()));
        assert_eq!(
            grant.allows(stamp(2.0), used(50)),
            Err(AuthorityUseError::BudgetUsedUp {
                rule: "teller_parking".into(),
                scope: "branch-1".into(),
                count: 50,
                amount: 0.0,
            })
        );
    }

    #[test]
    fn a_cost_over_the_grant_is_refused_to_the_cent() {
        let grant = stamp_grant();
        assert_eq!(grant.allows(stamp(5.0), None), Ok(()));
        assert!(matches!(
            grant.allows(stamp(5.01), None),
            Err(AuthorityUseError::OverMaxCost { .. })
        ));
    }

    #[test]
    fn the_event_must_name_a_policy_and_a_sensible_cost() {
        let mut event: LifecycleEvent =
            serde_json::from_str(r#"{"type": "authority_used"}"#).unwrap();
        assert_eq!(requested(&event), Err(AuthorityUseError::NoPolicy));
        event.policy = Some("parking_stamp".into());
        event.cost = Some(-1.0);
        assert_eq!(requested(&event), Err(AuthorityUseError::BadCost(-1.0)));
        event.cost = None;
        assert_eq!(requested(&event), Ok(stamp(0.0)));
    }
}
