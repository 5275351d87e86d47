//! `[[authority]]`: the policy, who may bend it, the cost of one use, and
//! its budget over time.

use super::Checker;
use crate::decision::Name;
use crate::diagnostic::Diagnostic;
use crate::expr::Expression;
use crate::rules::raw::{RawAuthority, RawBudget};
use crate::rules::ruleset::{Authority, Budget, BudgetScope};
use crate::suggest::did_you_mean;

impl Checker<'_> {
    pub(super) fn authority(&mut self, file: usize, r: &RawAuthority) -> Option<Authority> {
        if r.policy.trim().is_empty() || r.grant.trim().is_empty() {
            self.error_at(
                file,
                r.name.span(),
                "`policy` and `grant` must not be empty",
                None,
            );
        }
        let max_cost = match &r.max_cost {
            Some(cost) => self.amount(file, cost)?,
            None => Expression::number(0.0),
        };
        let budget = match &r.budget {
            Some(budget) => Some(self.budget(file, budget)?),
            None => None,
        };
        Some(Authority {
            policy: Name::from(r.policy.as_str()),
            grant: Name::from(r.grant.as_str()),
            max_cost,
            budget,
        })
    }

    fn budget(&mut self, file: usize, budget: &RawBudget) -> Option<Budget> {
        let per = match &budget.per {
            Some(per) => match per.get().parse::<BudgetScope>().ok() {
                Some(scope) => scope,
                None => {
                    let names = <BudgetScope as strum::VariantNames>::VARIANTS;
                    let help = did_you_mean(per.get(), names.iter().copied())
                        .unwrap_or_else(|| format!("one of: {}", names.join(", ")));
                    self.diagnostics.push(
                        Diagnostic::error(format!("unknown budget scope `{}`", per.get()))
                            .at(self.location(file, per.span()))
                            .with_help(help),
                    );
                    return None;
                }
            },
            None => BudgetScope::Global,
        };
        let window = self.positive(file, Some(&budget.window))?;
        if budget.count.is_none() && budget.amount.is_none() {
            self.error_at(
                file,
                budget.window.span(),
                "a budget needs `count`, `amount` or both",
                Some("e.g. `count = 50`".into()),
            );
            return None;
        }
        if budget.count.is_some_and(|c| c < 0)
            || budget.amount.is_some_and(|a| !a.is_finite() || a < 0.0)
        {
            self.error_at(
                file,
                budget.window.span(),
                "budget `count` and `amount` must be zero or more",
                None,
            );
            return None;
        }
        Some(Budget {
            per,
            window,
            count: budget.count,
            amount: budget.amount,
        })
    }
}
