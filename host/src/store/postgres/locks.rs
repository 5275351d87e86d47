//! What the nodes of a cluster serialize on, as PostgreSQL advisory locks
//! held until the transaction ends.
//!
//! Row locks cannot cover what does not exist yet (the first complaint of
//! a control-line cell, a budget not used today, an event id never seen),
//! and serializable transactions would make every busy cell a retry. So
//! before reading a count the rules then decide on, a transaction locks
//! the thing counted: a node deciding the sixth complaint of a cell waits
//! until the node deciding the fifth has committed, then reads five (Read
//! Committed gives each statement a fresh snapshot).
//!
//! Without care, two nodes taking two locks in opposite orders deadlock,
//! and PostgreSQL takes a second to notice. So a transaction waits for
//! locks only at its start, all at once, in the order of their keys; what
//! it finds it needs later (a cell its rules count) it only *tries* to
//! take. If another node holds it, the writer rolls the batch back and runs
//! it again with that lock among those taken at the start ([`LockSet`]).
//! Waiting only while holding nothing taken out of order, no two
//! transactions can wait on each other in a cycle.

use std::cell::RefCell;
use std::collections::BTreeSet;

use sha2::{Digest as _, Sha256};

/// The key of a lock on `(what, parts...)`: 64 bits of a SHA-256, so two
/// different things share a lock only by a collision (which costs a wait,
/// never a wrong count).
pub fn key(what: &str, parts: &[&str]) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(what.as_bytes());
    for part in parts {
        hasher.update([0]);
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// A complaint's event id: one node decides it, a retry elsewhere waits
/// and is answered from the log.
pub fn event(id: &str) -> i64 {
    key("event", &[id])
}

/// A customer's cases: the history a decision reads is the one it adds to.
pub fn customer(id: &str) -> i64 {
    key("customer", &[id])
}

/// A control line's cell.
pub fn cell(rule: &str, group: &str) -> i64 {
    key("cell", &[rule, group])
}

/// An authority budget's scope.
pub fn budget(rule: &str, scope: &str) -> i64 {
    key("budget", &[rule, scope])
}

/// The locks of one attempt at a batch: those taken at its start, and
/// those it found it needed but could not take.
#[derive(Debug, Default)]
pub struct LockSet {
    held: RefCell<BTreeSet<i64>>,
    contended: RefCell<BTreeSet<i64>>,
    /// How many locks were taken after the start, by trying: a savepoint
    /// rolled back releases those it took, so the attempt cannot go on
    /// (see [`taken_since`](Self::taken_since)).
    tried_and_taken: RefCell<usize>,
}

impl LockSet {
    /// An attempt that takes `keys` at its start.
    pub fn taking(keys: BTreeSet<i64>) -> Self {
        LockSet {
            held: RefCell::new(keys),
            contended: RefCell::default(),
            tried_and_taken: RefCell::default(),
        }
    }

    /// The keys to take at the start, in order.
    pub fn at_start(&self) -> Vec<i64> {
        self.held.borrow().iter().copied().collect()
    }

    pub fn holds(&self, key: i64) -> bool {
        self.held.borrow().contains(&key)
    }

    /// The result of trying to take `key`.
    pub fn tried(&self, key: i64, taken: bool) {
        if taken {
            self.held.borrow_mut().insert(key);
            *self.tried_and_taken.borrow_mut() += 1;
        } else {
            self.contended.borrow_mut().insert(key);
        }
    }

    /// A point to compare with [`taken_since`](Self::taken_since).
    pub fn mark(&self) -> usize {
        *self.tried_and_taken.borrow()
    }

    /// Whether a lock was taken since `mark`. PostgreSQL releases the
    /// locks a savepoint took when it is rolled back, while what the
    /// transaction did under them before stays: so after such a rollback
    /// the attempt is run again, those locks taken at its start (outside
    /// any savepoint).
    pub fn taken_since(&self, mark: usize) -> bool {
        *self.tried_and_taken.borrow() > mark
    }

    /// Whether a lock was held elsewhere: the attempt must be run again.
    pub fn was_contended(&self) -> bool {
        !self.contended.borrow().is_empty()
    }

    /// What the next attempt takes at its start: everything this one held
    /// or wanted.
    pub fn for_next_attempt(&self) -> BTreeSet<i64> {
        let mut keys = self.held.borrow().clone();
        keys.extend(self.contended.borrow().iter().copied());
        keys
    }
}

/// The order of the audit log. Positions (`seq`) come from a sequence, so
/// they are handed out in the order transactions ask, not the order they
/// commit: a reader paging with `after` could see position 11 committed,
/// move past it, and never see 10 commit a moment later. So every writing
/// transaction holds this lock shared from its start (writers never wait
/// on each other for it), and a reader takes it exclusively for an
/// instant before it reads ([`settled_end`](super::queries::settled_end)):
/// granted, no transaction that was handed a position is still open, so
/// every position up to the largest one committed is final.
///
/// A writer asks for it first, holding nothing else, and a reader holds
/// nothing else while it waits: it cannot be part of a deadlock.
pub const LOG_ORDER: i64 = 0x7265_6472_6573_7302;

/// Schema migrations: one node migrates, the others wait and find it done.
pub const MIGRATIONS: i64 = 0x7265_6472_6573_7301;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_their_parts_apart() {
        assert_ne!(cell("a", "bc"), cell("ab", "c"));
        assert_ne!(event("x"), customer("x"));
        assert_eq!(budget("r", "s"), budget("r", "s"));
    }
}
