//! What the analysis knows about a value without knowing the complaint:
//! the set of values it may take ([`Abstract`]), and a region of the
//! input space ([`Region`]): for each field read by the rules, whether it
//! may be set and which values it may have.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::bounds::interval::Interval;

/// Which strings a value may be. The sets are shared: regions and values
/// are copied often, and a field compared with a thousand literals keeps
/// a thousand-string set.
#[derive(Debug, Clone, PartialEq)]
pub enum Texts {
    /// One of these.
    Only(Arc<BTreeSet<String>>),
    /// Any string but these.
    AnyBut(Arc<BTreeSet<String>>),
}

impl Texts {
    pub fn any() -> Self {
        Texts::AnyBut(Arc::default())
    }

    pub fn one(value: &str) -> Self {
        Texts::Only(Arc::new(BTreeSet::from([value.to_string()])))
    }

    pub fn may_be(&self, value: &str) -> bool {
        match self {
            Texts::Only(values) => values.contains(value),
            Texts::AnyBut(excluded) => !excluded.contains(value),
        }
    }

    /// Exactly this one string.
    pub fn single(&self) -> Option<&str> {
        match self {
            Texts::Only(values) if values.len() == 1 => values.first().map(String::as_str),
            _ => None,
        }
    }

    pub fn union(&self, other: &Texts) -> Texts {
        match (self, other) {
            (Texts::Only(a), Texts::Only(b)) => {
                Texts::Only(Arc::new(a.union(b).cloned().collect()))
            }
            (Texts::AnyBut(a), Texts::AnyBut(b)) => {
                Texts::AnyBut(Arc::new(a.intersection(b).cloned().collect()))
            }
            (Texts::Only(only), Texts::AnyBut(but)) | (Texts::AnyBut(but), Texts::Only(only)) => {
                Texts::AnyBut(Arc::new(but.difference(only).cloned().collect()))
            }
        }
    }
}

/// Whether a boolean may be true, and whether it may be false.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Truth {
    pub yes: bool,
    pub no: bool,
}

impl Truth {
    pub const BOTH: Truth = Truth {
        yes: true,
        no: true,
    };

    pub fn exactly(value: bool) -> Self {
        Truth {
            yes: value,
            no: !value,
        }
    }

    pub fn union(self, other: Truth) -> Truth {
        Truth {
            yes: self.yes || other.yes,
            no: self.no || other.no,
        }
    }
}

/// Every value an expression may evaluate to, by kind. A kind left out
/// (`None`, `false`) is impossible.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Abstract {
    pub number: Option<Interval>,
    pub text: Option<Texts>,
    pub truth: Truth,
    pub null: bool,
    /// The evaluation may fail (an unset value ordered, a division by
    /// zero): a condition that fails does not match, an offer whose value
    /// fails is left out.
    pub fails: bool,
    /// Timestamps, durations, lists, maps: values the analysis does not
    /// follow.
    pub other: bool,
}

impl Abstract {
    /// Anything at all.
    pub fn top() -> Self {
        Abstract {
            number: Some(Interval::ALL),
            text: Some(Texts::any()),
            truth: Truth::BOTH,
            null: true,
            fails: true,
            other: true,
        }
    }

    pub fn number(interval: Interval) -> Self {
        Abstract {
            number: Some(interval),
            ..Abstract::default()
        }
    }

    pub fn text(texts: Texts) -> Self {
        Abstract {
            text: Some(texts),
            ..Abstract::default()
        }
    }

    pub fn truth(truth: Truth) -> Self {
        Abstract {
            truth,
            ..Abstract::default()
        }
    }

    pub fn failure() -> Self {
        Abstract {
            fails: true,
            ..Abstract::default()
        }
    }

    pub fn other() -> Self {
        Abstract {
            other: true,
            ..Abstract::default()
        }
    }

    pub fn union(&self, other: &Abstract) -> Abstract {
        Abstract {
            number: match (self.number, other.number) {
                (Some(a), Some(b)) => Some(a.hull(&b)),
                (a, b) => a.or(b),
            },
            text: match (&self.text, &other.text) {
                (Some(a), Some(b)) => Some(a.union(b)),
                (a, b) => a.clone().or_else(|| b.clone()),
            },
            truth: self.truth.union(other.truth),
            null: self.null || other.null,
            fails: self.fails || other.fails,
            other: self.other || other.other,
        }
    }

    /// May be something other than a boolean (including a failure).
    pub fn may_be_non_bool(&self) -> bool {
        self.number.is_some() || self.text.is_some() || self.null || self.fails || self.other
    }

    /// As a condition: may it match (evaluate to true)?
    pub fn may_match(&self) -> bool {
        self.truth.yes
    }

    /// As a condition: does it match whatever the complaint in the region?
    pub fn must_match(&self) -> bool {
        self.truth.yes && !self.truth.no && !self.may_be_non_bool()
    }

    /// The condition's possible outcomes: (true, not true).
    pub fn outcome(&self) -> Outcome {
        match (self.may_match(), self.must_match()) {
            (_, true) => Outcome::Always,
            (true, false) => Outcome::Maybe,
            (false, _) => Outcome::Never,
        }
    }
}

/// Whether a rule's condition matches in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Always,
    Maybe,
    Never,
}

/// What is known of one field in a region.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldState {
    pub may_be_set: bool,
    pub may_be_unset: bool,
    /// Its values when set (numbers).
    pub number: Interval,
    /// Its values when set (strings).
    pub text: Texts,
    /// Its values when set (flags).
    pub flag: Truth,
}

/// A part of the input space: fields narrowed by splitting; fields not
/// listed have their defaults (see `Context::default_state`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Region {
    pub fields: BTreeMap<String, FieldState>,
}
