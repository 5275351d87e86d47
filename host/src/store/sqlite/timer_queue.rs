//! The store's pending SLA timers and follow-ups, in memory, by due time.
//!
//! The `timers` table stays the record of every timer and its state; this
//! queue only says which timers may be due. It replaced an index of the
//! table by state and due time (dropped by migration 0004): due times are
//! spread over the SLA's durations, so that index took a write at several
//! places of the file for every commit, 5 of the 28 pages a commit wrote.
//!
//! The queue may hold entries that no longer match the table (a timer
//! cancelled, re-armed to another time, or armed in a transaction that was
//! rolled back): the writer checks each entry it takes against the table
//! and skips those. What it must never do is lose the entry of a pending
//! timer, so entries taken in a transaction are kept until it commits and
//! put back if it does not.
//!
//! A B-tree rather than a binary heap: a heap's one vector doubles as it
//! grows, and copying a million entries at once stopped the writer for
//! long enough to show in the p99 of a grown store.

use std::collections::BTreeSet;

use rusqlite::Connection;

use crate::store::StoreError;
use crate::store::timer::TimerKind;

/// A timer that may be due at `at` (milliseconds since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(in crate::store) struct Due {
    pub(in crate::store) at: i64,
    pub(in crate::store) case_no: i64,
    pub(in crate::store) kind: TimerKind,
}

/// See the module's documentation.
#[derive(Debug, Default)]
pub(in crate::store) struct TimerQueue {
    pending: BTreeSet<Due>,
    /// Taken since the last commit, oldest first.
    taken: Vec<Due>,
}

impl TimerQueue {
    /// The pending timers of the `timers` table.
    pub(in crate::store) fn load(connection: &Connection) -> Result<Self, StoreError> {
        let mut queue = TimerQueue::default();
        let mut statement = connection
            .prepare("SELECT case_no, kind, due_at FROM timers WHERE state = 'pending'")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let case_no: i64 = row.get(0)?;
            let kind: String = row.get(1)?;
            let Ok(kind) = kind.parse::<TimerKind>() else {
                return Err(StoreError::Inconsistent(format!(
                    "case number {case_no} has a timer of unknown kind `{kind}` (known: {}); was the database edited by hand?",
                    <TimerKind as strum::VariantNames>::VARIANTS.join(", ")
                )));
            };
            queue.arm(Due {
                at: row.get(2)?,
                case_no,
                kind,
            });
        }
        Ok(queue)
    }

    /// Entries held, stale ones included.
    pub(in crate::store) fn len(&self) -> usize {
        self.pending.len() + self.taken.len()
    }

    /// Remembers a timer armed (or re-armed) in the table.
    pub(in crate::store) fn arm(&mut self, due: Due) {
        self.pending.insert(due);
    }

    /// The earliest entry due at `now`, if any; kept until
    /// [`commit`](Self::commit) or put back by a rollback.
    pub(in crate::store) fn take_due(&mut self, now: i64) -> Option<Due> {
        if self.pending.first()?.at > now {
            return None;
        }
        let due = self.pending.pop_first()?;
        self.taken.push(due);
        Some(due)
    }

    /// Where a savepoint starts: [`rollback_to`](Self::rollback_to) it.
    pub(in crate::store) fn mark(&self) -> usize {
        self.taken.len()
    }

    /// Puts back what was taken since `mark`.
    pub(in crate::store) fn rollback_to(&mut self, mark: usize) {
        for due in self.taken.drain(mark.min(self.taken.len())..) {
            self.pending.insert(due);
        }
    }

    /// The transaction committed: what it took is done with.
    pub(in crate::store) fn commit(&mut self) {
        self.taken.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(at: i64, case_no: i64) -> Due {
        Due {
            at,
            case_no,
            kind: TimerKind::Resolve,
        }
    }

    fn take_all(queue: &mut TimerQueue, now: i64) -> Vec<Due> {
        std::iter::from_fn(|| queue.take_due(now)).collect()
    }

    #[test]
    fn timers_are_taken_when_due_earliest_first() {
        let mut queue = TimerQueue::default();
        for (at, case_no) in [(30, 3), (10, 1), (20, 2), (40, 4)] {
            queue.arm(due(at, case_no));
        }
        assert_eq!(queue.take_due(5), None);
        assert_eq!(
            take_all(&mut queue, 30),
            vec![due(10, 1), due(20, 2), due(30, 3)]
        );
        assert_eq!(queue.len(), 4, "taken entries are held until the commit");
        queue.commit();
        assert_eq!(queue.len(), 1);
        assert_eq!(take_all(&mut queue, 100), vec![due(40, 4)]);
    }

    #[test]
    fn a_rollback_puts_back_what_was_taken_after_its_mark_only() {
        let mut queue = TimerQueue::default();
        for (at, case_no) in [(10, 1), (20, 2), (30, 3)] {
            queue.arm(due(at, case_no));
        }
        assert_eq!(queue.take_due(100), Some(due(10, 1)));
        let mark = queue.mark();
        assert_eq!(take_all(&mut queue, 100), vec![due(20, 2), due(30, 3)]);
        queue.rollback_to(mark);
        assert_eq!(take_all(&mut queue, 100), vec![due(20, 2), due(30, 3)]);
        queue.rollback_to(0);
        assert_eq!(
            take_all(&mut queue, 100),
            vec![due(10, 1), due(20, 2), due(30, 3)],
            "a whole transaction rolled back puts back everything it took"
        );
    }
}
