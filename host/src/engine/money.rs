//! Money: amounts stay `f64`, and are compared in whole cents.
//!
//! Why not a decimal type: money enters as JSON numbers (events, plugin
//! outputs) and is computed by conditions in CEL, whose numbers are
//! doubles; a decimal type would be converted from and back to `f64` at
//! each of those edges and gain nothing, because every amount Redress
//! produces (an offer, a converted amount, a cap's cut, a grant's
//! `max_cost`) is rounded to the cent where it is made. What `f64` does
//! get wrong is comparing: `0.1 + 0.2 > 0.3`. So every comparison of money
//! (is this within the cap, within the budget) is made here, on whole
//! cents, by the engine and the store alike, with no tolerance to choose.

use crate::engine::state::BudgetUse;

/// `amount` in whole cents, to the nearest.
pub fn cents(amount: f64) -> i64 {
    (amount * 100.0).round() as i64
}

/// An amount from whole cents.
pub fn from_cents(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// Money is shown to the cent. Infinite bounds (the worst case of an
/// unbounded rule) stay infinite.
pub fn round_cents(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Whether `amount` is at most `limit`, to the cent.
pub fn within(amount: f64, limit: f64) -> bool {
    cents(amount) <= cents(limit)
}

/// Whether one more use of a budget, costing `cost`, stays within it: the
/// uses so far (`used`) leave room under `count` uses and under `amount`
/// spent. This is the rule the engine grants authority by and the store
/// records a use by; a limit left out does not limit.
pub fn budget_allows(used: BudgetUse, count: Option<i64>, amount: Option<f64>, cost: f64) -> bool {
    count.is_none_or(|limit| used.count < limit)
        && amount.is_none_or(|limit| cents(used.amount) + cents(cost) <= cents(limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_compares_to_the_cent_without_float_noise() {
        let spent = std::hint::black_box(0.1) + 0.2;
        assert!(spent > 0.3, "as floats, 0.1 + 0.2 is over 0.3");
        assert!(within(spent, 0.3));
        assert!(!within(0.31, 0.3));
        assert_eq!(round_cents(4.186), 4.19);
        assert_eq!(round_cents(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn a_budget_allows_the_last_use_and_not_one_more() {
        let used = |count, amount| BudgetUse { count, amount };
        assert!(budget_allows(used(49, 245.0), Some(50), None, 5.0));
        assert!(!budget_allows(used(50, 250.0), Some(50), None, 5.0));
        // 0.1 + 0.2 spent of 0.5: a 0.2 use fits exactly.
        assert!(budget_allows(used(2, 0.1 + 0.2), None, Some(0.5), 0.2));
        assert!(!budget_allows(used(2, 0.3), None, Some(0.5), 0.21));
        assert!(budget_allows(used(1_000, 1e9), None, None, 1e6));
    }
}
