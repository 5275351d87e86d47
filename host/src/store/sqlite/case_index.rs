//! Which case an id names, and each customer's cases: kept in memory.
//!
//! Case ids (the complaint's event id) and customer ids are chosen by
//! clients, so a B-tree index on either takes a write at a random page of
//! the database for every complaint: two of the four pages a decision
//! wrote, each written twice (WAL, then checkpoint). The store keeps both
//! lookups here instead, loads them from the cases table when it opens and
//! updates them as the writer records, undoing what a rolled-back
//! transaction or savepoint did. The cases table stays the truth; this is
//! derived from it. It costs memory per case (see `docs/daemon.md`).

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use rusqlite::Connection;

use super::sharded_map::ShardedMap;
use crate::expr::CustomerHistory;
use crate::store::StoreError;

const DAY: i64 = 86_400_000;

/// Most cases a customer's history is read from: the latest this many.
const HISTORY_LIMIT: usize = 1000;

/// What the history of a customer needs of one of their cases.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CaseSummary {
    no: i64,
    opened_at: i64,
    goodwill: f64,
    /// The goodwill's currency code; `None` for cases opened before schema
    /// version 7 recorded it, and for cases without offers.
    currency: Option<[u8; 3]>,
    /// Not closed.
    open: bool,
}

/// One change, as it is undone.
#[derive(Debug)]
enum Undo {
    Opened {
        id: Box<str>,
        customer: Option<Box<str>>,
        no: i64,
    },
    OpenChanged {
        customer: Box<str>,
        no: i64,
        was_open: bool,
    },
    Forgotten {
        id: Box<str>,
        no: i64,
        customer: Option<(Box<str>, CaseSummary)>,
    },
}

/// A currency code as the index keeps it: three ASCII bytes.
fn code(currency: &str) -> Option<[u8; 3]> {
    currency.as_bytes().try_into().ok()
}

/// The in-memory lookups by case id and by customer.
#[derive(Debug, Default)]
pub(in crate::store) struct CaseIndex {
    /// Sharded, as are the customers: growing one big map would stop the
    /// writer for as long as it takes to move every entry.
    numbers: ShardedMap<i64>,
    /// Each customer's cases by time of opening (then number), oldest first.
    customers: ShardedMap<Vec<CaseSummary>>,
    /// Changes not yet committed, oldest first.
    undo: Vec<Undo>,
}

impl CaseIndex {
    /// Reads every case of the database.
    pub(in crate::store) fn load(connection: &Connection) -> Result<Self, StoreError> {
        let mut index = CaseIndex::default();
        let mut statement = connection.prepare(
            "SELECT no, id, customer_id, opened_at, goodwill, status, currency FROM cases",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let no: i64 = row.get(0)?;
            let id: String = row.get(1)?;
            let customer: Option<String> = row.get(2)?;
            let status: String = row.get(5)?;
            let summary = CaseSummary {
                no,
                opened_at: row.get(3)?,
                goodwill: row.get(4)?,
                currency: row.get::<_, Option<String>>(6)?.as_deref().and_then(code),
                open: status != "closed",
            };
            if index.numbers.get(&id).is_none() {
                index.numbers.insert(&id, no);
            }
            if let Some(customer) = customer {
                index
                    .customers
                    .update_or_insert(&customer, Vec::new, |cases| cases.push(summary));
            }
        }
        for cases in index.customers.values_mut() {
            cases.sort_unstable_by_key(|case| (case.opened_at, case.no));
        }
        Ok(index)
    }

    /// How many cases are indexed.
    pub(in crate::store) fn len(&self) -> usize {
        self.numbers.len()
    }

    /// The number of the case with this id.
    pub(in crate::store) fn case_no(&self, id: &str) -> Option<i64> {
        self.numbers.get(id).copied()
    }

    /// A newly recorded case.
    pub(in crate::store) fn opened(
        &mut self,
        id: &str,
        customer: Option<&str>,
        no: i64,
        opened_at: i64,
        goodwill: f64,
        currency: Option<&str>,
    ) {
        self.numbers.insert(id, no);
        if let Some(customer) = customer {
            let summary = CaseSummary {
                no,
                opened_at,
                goodwill,
                currency: currency.and_then(code),
                open: true,
            };
            self.customers
                .update_or_insert(customer, Vec::new, |cases| {
                    let at =
                        cases.partition_point(|case| (case.opened_at, case.no) <= (opened_at, no));
                    cases.insert(at, summary);
                });
        }
        self.undo.push(Undo::Opened {
            id: id.into(),
            customer: customer.map(Into::into),
            no,
        });
    }

    /// A case closed (`open` false) or reopened.
    pub(in crate::store) fn set_open(&mut self, customer: &str, no: i64, open: bool) {
        let Some(case) = self
            .customers
            .get_mut(customer)
            .and_then(|cases| cases.iter_mut().rev().find(|case| case.no == no))
        else {
            return;
        };
        if case.open != open {
            self.undo.push(Undo::OpenChanged {
                customer: customer.into(),
                no,
                was_open: case.open,
            });
            case.open = open;
        }
    }

    /// A case pruned from the store (retention): it is no longer found by
    /// its id, nor counted in its customer's history.
    pub(in crate::store) fn forget(&mut self, id: &str, customer: Option<&str>, no: i64) {
        if self.numbers.get(id) == Some(&no) {
            self.numbers.remove(id);
        }
        let mut summary = None;
        if let Some(customer) = customer
            && let Some(cases) = self.customers.get_mut(customer)
        {
            if let Some(at) = cases.iter().position(|case| case.no == no) {
                summary = Some((customer.into(), cases.remove(at)));
            }
            if cases.is_empty() {
                self.customers.remove(customer);
            }
        }
        self.undo.push(Undo::Forgotten {
            id: id.into(),
            no,
            customer: summary,
        });
    }

    /// The customer's open cases, complaints in the 30 days and goodwill in
    /// the 365 days up to `at`, over their latest [`HISTORY_LIMIT`] cases,
    /// leaving out the case numbered `leave_out`. Goodwill given in another
    /// currency than `currency` (before the rule set changed its currency)
    /// is not added in: amounts are never added across currencies. Cases
    /// whose currency was not recorded count as before.
    pub(in crate::store) fn history(
        &self,
        customer: &str,
        at: i64,
        leave_out: Option<i64>,
        currency: &str,
    ) -> CustomerHistory {
        let wanted = code(currency);
        let mut history = CustomerHistory::default();
        let Some(cases) = self.customers.get(customer) else {
            return history;
        };
        for case in cases
            .iter()
            .rev()
            .filter(|case| Some(case.no) != leave_out)
            .take(HISTORY_LIMIT)
        {
            history.open_cases += i64::from(case.open);
            if case.opened_at > at - 30 * DAY && case.opened_at <= at {
                history.complaints_30d += 1;
            }
            if case.opened_at > at - 365 * DAY
                && case.opened_at <= at
                && (case.currency.is_none() || case.currency == wanted)
            {
                history.goodwill_365d += case.goodwill;
            }
        }
        history
    }

    /// The numbers of `customer`'s latest `limit` cases, newest first.
    pub(in crate::store) fn cases_of(&self, customer: &str, limit: usize) -> Vec<i64> {
        self.customers.get(customer).map_or_else(Vec::new, |cases| {
            cases.iter().rev().take(limit).map(|case| case.no).collect()
        })
    }

    /// Where a savepoint starts: [`rollback_to`](Self::rollback_to) it.
    pub(in crate::store) fn mark(&self) -> usize {
        self.undo.len()
    }

    /// Undoes the changes made since `mark`, newest first.
    pub(in crate::store) fn rollback_to(&mut self, mark: usize) {
        while self.undo.len() > mark {
            let Some(undo) = self.undo.pop() else {
                break;
            };
            match undo {
                Undo::Opened { id, customer, no } => {
                    self.numbers.remove(&id);
                    if let Some(customer) = customer
                        && let Some(cases) = self.customers.get_mut(&customer)
                    {
                        cases.retain(|case| case.no != no);
                        if cases.is_empty() {
                            self.customers.remove(&customer);
                        }
                    }
                }
                Undo::OpenChanged {
                    customer,
                    no,
                    was_open,
                } => {
                    if let Some(case) = self
                        .customers
                        .get_mut(&customer)
                        .and_then(|cases| cases.iter_mut().find(|case| case.no == no))
                    {
                        case.open = was_open;
                    }
                }
                Undo::Forgotten { id, no, customer } => {
                    if self.numbers.get(&id).is_none() {
                        self.numbers.insert(&id, no);
                    }
                    if let Some((customer, summary)) = customer {
                        self.customers
                            .update_or_insert(&customer, Vec::new, |cases| {
                                let at = cases.partition_point(|case| {
                                    (case.opened_at, case.no) <= (summary.opened_at, summary.no)
                                });
                                cases.insert(at, summary);
                            });
                    }
                }
            }
        }
    }

    /// The transaction committed: its changes stay.
    pub(in crate::store) fn commit(&mut self) {
        self.undo.clear();
    }
}

/// The index shared by the writer (which changes it) and readers.
#[derive(Debug, Default)]
pub(in crate::store) struct SharedCaseIndex(RwLock<CaseIndex>);

impl SharedCaseIndex {
    pub(in crate::store) fn new(index: CaseIndex) -> Self {
        SharedCaseIndex(RwLock::new(index))
    }

    /// The index; a panic while it was held does not make it unreadable
    /// (every change is whole before the lock is released).
    pub(in crate::store) fn read(&self) -> RwLockReadGuard<'_, CaseIndex> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(in crate::store) fn write(&self) -> RwLockWriteGuard<'_, CaseIndex> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_with(cases: &[(&str, Option<&str>, i64, i64, f64)]) -> CaseIndex {
        let mut index = CaseIndex::default();
        for (id, customer, no, opened_at, goodwill) in cases {
            index.opened(id, *customer, *no, *opened_at, *goodwill, Some("USD"));
        }
        index.commit();
        index
    }

    #[test]
    fn history_counts_the_windows_and_open_cases() {
        let mut index = index_with(&[
            ("a", Some("k"), 1, 0, 10.0),
            ("b", Some("k"), 2, 100 * DAY, 5.0),
            ("c", Some("k"), 3, 390 * DAY, 1.0),
            ("d", Some("other"), 4, 399 * DAY, 100.0),
        ]);
        index.set_open("k", 2, false);
        let history = index.history("k", 400 * DAY, None, "USD");
        assert_eq!(history.open_cases, 2);
        assert_eq!(history.complaints_30d, 1);
        assert_eq!(history.goodwill_365d, 6.0);
        let without_c = index.history("k", 400 * DAY, Some(3), "USD");
        assert_eq!(without_c.complaints_30d, 0);
        assert_eq!(without_c.open_cases, 1);
        assert_eq!(
            index.history("nobody", 0, None, "USD"),
            CustomerHistory::default()
        );
    }

    #[test]
    fn goodwill_in_another_currency_is_not_added_in() {
        let mut index = CaseIndex::default();
        index.opened("usd", Some("k"), 1, DAY, 10.0, Some("USD"));
        index.opened("cny", Some("k"), 2, 2 * DAY, 70.0, Some("CNY"));
        index.opened("old", Some("k"), 3, 3 * DAY, 1.0, None);
        index.commit();
        assert_eq!(
            index.history("k", 10 * DAY, None, "USD").goodwill_365d,
            11.0
        );
        assert_eq!(
            index.history("k", 10 * DAY, None, "CNY").goodwill_365d,
            71.0
        );
        // Every case counts as a complaint, whatever its currency.
        assert_eq!(index.history("k", 10 * DAY, None, "CNY").complaints_30d, 3);
    }

    #[test]
    fn history_reads_the_latest_cases_by_time_of_opening() {
        let mut index = CaseIndex::default();
        // Numbered in arrival order, opened in the reverse: the oldest
        // cases by time are the highest numbers.
        let total = HISTORY_LIMIT as i64 + 10;
        for no in 0..total {
            index.opened(
                &format!("c-{no}"),
                Some("k"),
                no,
                (total - no) * 1000,
                1.0,
                Some("USD"),
            );
        }
        let history = index.history("k", total * 1000, None, "USD");
        assert_eq!(history.goodwill_365d, HISTORY_LIMIT as f64);
        // The case left out makes room for the next latest.
        let history = index.history("k", total * 1000, Some(0), "USD");
        assert_eq!(history.goodwill_365d, HISTORY_LIMIT as f64);
        assert_eq!(history.open_cases, HISTORY_LIMIT as i64);
    }

    #[test]
    fn a_rollback_undoes_what_came_after_its_mark_only() {
        let mut index = index_with(&[("a", Some("k"), 1, 0, 1.0)]);
        index.opened("b", Some("k"), 2, 1, 2.0, Some("USD"));
        let mark = index.mark();
        index.opened("c", Some("k"), 3, 2, 4.0, Some("USD"));
        index.set_open("k", 1, false);
        index.opened("d", None, 4, 3, 0.0, Some("USD"));
        index.rollback_to(mark);
        assert_eq!(index.case_no("b"), Some(2));
        assert_eq!(index.case_no("c"), None);
        assert_eq!(index.case_no("d"), None);
        let history = index.history("k", 10, None, "USD");
        assert_eq!((history.open_cases, history.goodwill_365d), (2, 3.0));
        index.rollback_to(0);
        assert_eq!(index.case_no("b"), None);
        assert_eq!(index.case_no("a"), Some(1), "committed before");
        index.opened("e", Some("new"), 5, 0, 0.0, Some("USD"));
        index.rollback_to(0);
        assert!(index.customers.get("new").is_none());
    }
}
