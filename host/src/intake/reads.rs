//! What a decision read from durable state, recorded so that it can be
//! decided again exactly: the customer's history, each control-line count
//! and each budget use, as they were at that moment.
//!
//! [`RecordingView`] wraps the store's view while a complaint is decided and
//! keeps every answer; [`RecordedView`] answers the same questions from
//! what was kept, for `redress replay` and `redress diff`, and notes any
//! question that was not asked the first time (a candidate rule set with a
//! new control line, say), which makes that complaint not replayable.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use crate::engine::{BudgetUse, Group, StateView, group_key};
use crate::event::ComplaintEvent;
use crate::expr::CustomerHistory;
use crate::time::{Duration, Timestamp};

/// A recorded control-line count: rule, group key, window in ms, count.
pub type CountRead = (String, String, i64, Option<i64>);
/// A recorded budget use: rule, scope, window in ms, (count, amount).
pub type BudgetRead = (String, String, i64, Option<(i64, f64)>);

/// Every read of one decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reads {
    /// The customer's history; absent when the view knew none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<CustomerHistory>,
    /// Control-line counts: `[rule, group key, window in ms, count]`
    /// (`null`: not known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counts: Vec<CountRead>,
    /// Budget uses: `[rule, scope, window in ms, [count, amount]]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<BudgetRead>,
}

/// A view that keeps what it answers.
pub struct RecordingView<'v> {
    inner: &'v dyn StateView,
    reads: RefCell<Reads>,
}

impl<'v> RecordingView<'v> {
    pub fn new(inner: &'v dyn StateView) -> Self {
        RecordingView {
            inner,
            reads: RefCell::new(Reads::default()),
        }
    }

    /// What was read.
    pub fn into_reads(self) -> Reads {
        self.reads.into_inner()
    }

    fn note(&self, change: impl FnOnce(&mut Reads)) {
        change(&mut self.reads.borrow_mut());
    }
}

impl StateView for RecordingView<'_> {
    fn history(&self, event: &ComplaintEvent, currency: &str) -> Option<CustomerHistory> {
        let history = self.inner.history(event, currency);
        self.note(|reads| reads.history = history.clone());
        history
    }

    fn control_line_count(
        &self,
        rule: &str,
        group: &Group,
        window: Duration,
        at: Timestamp,
    ) -> Option<i64> {
        let count = self.inner.control_line_count(rule, group, window, at);
        self.note(|reads| {
            reads
                .counts
                .push((rule.to_string(), group_key(group), window.millis(), count))
        });
        count
    }

    fn budget_use(
        &self,
        rule: &str,
        scope: &str,
        window: Duration,
        at: Timestamp,
    ) -> Option<BudgetUse> {
        let used = self.inner.budget_use(rule, scope, window, at);
        self.note(|reads| {
            reads.budgets.push((
                rule.to_string(),
                scope.to_string(),
                window.millis(),
                used.map(|u| (u.count, u.amount)),
            ))
        });
        used
    }
}

/// A view that answers from recorded reads.
pub struct RecordedView<'r> {
    reads: &'r Reads,
    /// Questions the recording has no answer to.
    missing: RefCell<Vec<String>>,
}

impl<'r> RecordedView<'r> {
    pub fn new(reads: &'r Reads) -> Self {
        RecordedView {
            reads,
            missing: RefCell::new(Vec::new()),
        }
    }

    /// What was asked that had not been asked when the decision was made.
    pub fn missing(self) -> Vec<String> {
        self.missing.into_inner()
    }

    fn miss(&self, what: String) {
        self.missing.borrow_mut().push(what);
    }
}

impl StateView for RecordedView<'_> {
    fn history(&self, _event: &ComplaintEvent, _currency: &str) -> Option<CustomerHistory> {
        self.reads.history.clone()
    }

    fn control_line_count(
        &self,
        rule: &str,
        group: &Group,
        window: Duration,
        _at: Timestamp,
    ) -> Option<i64> {
        let key = group_key(group);
        let found = self
            .reads
            .counts
            .iter()
            .find(|(r, k, w, _)| r == rule && *k == key && *w == window.millis());
        match found {
            Some((.., count)) => *count,
            None => {
                self.miss(format!(
                    "the count of control line `{rule}` for {} over {window}",
                    key.replace('\u{1f}', ", ")
                ));
                None
            }
        }
    }

    fn budget_use(
        &self,
        rule: &str,
        scope: &str,
        window: Duration,
        _at: Timestamp,
    ) -> Option<BudgetUse> {
        let found = self
            .reads
            .budgets
            .iter()
            .find(|(r, s, w, _)| r == rule && s == scope && *w == window.millis());
        match found {
            Some((.., used)) => used.map(|(count, amount)| BudgetUse { count, amount }),
            None => {
                self.miss(format!(
                    "the use of authority `{rule}`'s budget for {scope} over {window}"
                ));
                None
            }
        }
    }
}
