//! Each operator and function of a condition over abstract values: what
//! it can give for every value its operands can take.

use std::collections::BTreeSet;

use cel::common::ast::{Expr, IdedExpr, LiteralValue, operators as op};

use crate::bounds::domain::{Abstract, Texts, Truth};
use crate::bounds::interval::Interval;

pub(super) fn literal_value(literal: &LiteralValue) -> Abstract {
    match literal {
        LiteralValue::Boolean(b) => Abstract::truth(Truth::exactly(*b.inner())),
        LiteralValue::Int(i) => Abstract::number(Interval::point(*i.inner() as f64)),
        LiteralValue::UInt(u) => Abstract::number(Interval::point(*u.inner() as f64)),
        LiteralValue::Double(d) => Abstract::number(Interval::point(*d.inner())),
        LiteralValue::String(s) => Abstract::text(Texts::one(s.inner())),
        LiteralValue::Null => Abstract {
            null: true,
            ..Abstract::default()
        },
        LiteralValue::Bytes(_) => Abstract::other(),
    }
}

/// `&&` and `||` with CEL's rules for values that fail: `false && x` is
/// false and `true || x` true whatever `x` does.
pub(super) fn logical(is_and: bool, x: &Abstract, y: &Abstract) -> Abstract {
    let (xt, xf, xu) = (x.truth.yes, x.truth.no, x.may_be_non_bool());
    let (yt, yf, yu) = (y.truth.yes, y.truth.no, y.may_be_non_bool());
    let (decisive_x, other_x, decisive_y, other_y) = if is_and {
        (xf, xt, yf, yt)
    } else {
        (xt, xf, yt, yf)
    };
    let decisive = decisive_x || (decisive_y && (other_x || xu));
    let otherwise = other_x && other_y;
    let fails = (other_x && yu) || (xu && (other_y || yu));
    let truth = if is_and {
        Truth {
            yes: otherwise,
            no: decisive,
        }
    } else {
        Truth {
            yes: decisive,
            no: otherwise,
        }
    };
    Abstract {
        truth,
        fails,
        ..Abstract::default()
    }
}

/// The kinds of value an abstract value may be, for "may these differ in
/// kind".
pub(super) fn kinds(x: &Abstract) -> [bool; 5] {
    [
        x.number.is_some(),
        x.text.is_some(),
        x.truth.yes || x.truth.no,
        x.null,
        x.other,
    ]
}

pub(super) fn equality(a: &Abstract, b: &Abstract, equal: bool) -> Abstract {
    let mut may_equal = a.other || b.other || (a.null && b.null);
    let mut may_differ = a.other || b.other;
    if let (Some(x), Some(y)) = (a.number, b.number) {
        may_equal |= x.intersect(&y).is_some();
        may_differ |= !(x.is_point() && y.is_point() && x.lo == y.lo);
    }
    if let (Some(x), Some(y)) = (&a.text, &b.text) {
        may_equal |= match (x, y) {
            (Texts::Only(p), Texts::Only(q)) => p.intersection(q).next().is_some(),
            (Texts::Only(p), Texts::AnyBut(q)) | (Texts::AnyBut(q), Texts::Only(p)) => {
                !p.is_subset(q)
            }
            (Texts::AnyBut(_), Texts::AnyBut(_)) => true,
        };
        may_differ |= !(x.single().is_some() && x.single() == y.single());
    }
    let (p, q) = (a.truth, b.truth);
    if (p.yes || p.no) && (q.yes || q.no) {
        may_equal |= (p.yes && q.yes) || (p.no && q.no);
        may_differ |= (p.yes && q.no) || (p.no && q.yes);
    }
    let (ka, kb) = (kinds(a), kinds(b));
    may_differ |= (0..5).any(|i| ka[i] && (0..5).any(|j| j != i && kb[j]));
    let truth = if equal {
        Truth {
            yes: may_equal,
            no: may_differ,
        }
    } else {
        Truth {
            yes: may_differ,
            no: may_equal,
        }
    };
    Abstract {
        truth,
        fails: a.fails || b.fails,
        ..Abstract::default()
    }
}

pub(super) fn ordering(name: &str, a: &Abstract, b: &Abstract) -> Abstract {
    let mut truth = Truth::default();
    if let (Some(x), Some(y)) = (a.number, b.number) {
        truth = match name {
            op::LESS => Truth {
                yes: x.lo < y.hi,
                no: x.hi >= y.lo,
            },
            op::LESS_EQUALS => Truth {
                yes: x.lo <= y.hi,
                no: x.hi > y.lo,
            },
            op::GREATER => Truth {
                yes: x.hi > y.lo,
                no: x.lo <= y.hi,
            },
            _ => Truth {
                yes: x.hi >= y.lo,
                no: x.lo < y.hi,
            },
        };
    }
    let texts = a.text.is_some() && b.text.is_some();
    let flags = (a.truth.yes || a.truth.no) && (b.truth.yes || b.truth.no);
    if texts || flags || a.other || b.other {
        truth = Truth::BOTH;
    }
    let (ka, kb) = (kinds(a), kinds(b));
    let mixed = (0..5).any(|i| ka[i] && (0..5).any(|j| j != i && kb[j]));
    Abstract {
        truth,
        fails: a.fails || b.fails || a.null || b.null || mixed || a.other || b.other,
        ..Abstract::default()
    }
}

pub(super) fn arithmetic(name: &str, a: &Abstract, b: &Abstract) -> Abstract {
    let mut out = Abstract {
        fails: a.fails || b.fails || a.null || b.null,
        other: a.other || b.other,
        ..Abstract::default()
    };
    out.fails |= out.other || a.truth != Truth::default() || b.truth != Truth::default();
    if let (Some(x), Some(y)) = (a.number, b.number) {
        let result = match name {
            op::ADD => Some(x.add(&y)),
            op::SUBSTRACT => Some(x.sub(&y)),
            op::MULTIPLY => Some(x.mul(&y)),
            op::DIVIDE => x.div(&y),
            _ => None,
        };
        // Integer overflow and division by zero fail; a double divided by
        // a range holding zero may be anything.
        out.fails = true;
        out.number = Some(result.unwrap_or(Interval::ALL));
    }
    if a.text.is_some() || b.text.is_some() {
        out.fails = true;
        if name == op::ADD && a.text.is_some() && b.text.is_some() {
            out.text = Some(Texts::any());
        }
    }
    out
}

pub(super) fn membership(needle: &Abstract, haystack: &IdedExpr) -> Abstract {
    let Expr::List(list) = &haystack.expr else {
        return Abstract::truth(Truth::BOTH).union(&Abstract::failure());
    };
    let elements: Vec<Abstract> = list
        .elements
        .iter()
        .map(|e| match &e.expr {
            Expr::Literal(literal) => literal_value(literal),
            _ => Abstract::top(),
        })
        .collect();
    let mut truth = Truth::default();
    for element in &elements {
        let equal = equality(needle, element, true);
        truth.yes |= equal.truth.yes;
    }
    // It may be outside the list unless it is one of the list's strings.
    let listed: BTreeSet<&str> = elements
        .iter()
        .filter_map(|e| e.text.as_ref().and_then(Texts::single))
        .collect();
    let surely_listed = elements.len() == listed.len()
        && !needle.null
        && !needle.other
        && needle.number.is_none()
        && needle.truth == Truth::default()
        && matches!(&needle.text, Some(Texts::Only(values)) if values.iter().all(|v| listed.contains(v.as_str())));
    truth.no = !surely_listed;
    Abstract {
        truth,
        fails: needle.fails,
        ..Abstract::default()
    }
}

pub(super) fn conversion(x: &Abstract, f: impl Fn(Interval) -> Interval) -> Abstract {
    let mut out = Abstract {
        number: x.number.map(f),
        fails: x.fails || x.null || x.other || x.truth != Truth::default(),
        ..Abstract::default()
    };
    if x.text.is_some() {
        out.number = Some(Interval::ALL);
        out.fails = true;
    }
    out
}

pub(super) fn min_max(is_min: bool, a: &Abstract, b: &Abstract) -> Abstract {
    let mut out = Abstract {
        fails: a.fails || b.fails || a.null || b.null,
        other: a.other || b.other,
        ..Abstract::default()
    };
    out.fails |= out.other || a.text.is_some() || b.text.is_some();
    if let (Some(x), Some(y)) = (a.number, b.number) {
        out.number = Some(if is_min { x.min(&y) } else { x.max(&y) });
    } else if a.number.is_some() || b.number.is_some() {
        out.fails = true;
    }
    out
}

/// String methods: what they give does not depend on what the analysis
/// knows of the receiver (it does not follow string contents).
pub(super) fn method(name: &str) -> Abstract {
    match name {
        "lowerAscii" | "upperAscii" | "trim" => {
            Abstract::text(Texts::any()).union(&Abstract::failure())
        }
        "size" => Abstract::number(Interval::NON_NEGATIVE).union(&Abstract::failure()),
        // `contains`, `startsWith`, `endsWith`, `matches`: a pattern may
        // match or not; the analysis does not read patterns.
        _ => Abstract {
            truth: Truth::BOTH,
            fails: true,
            ..Abstract::default()
        },
    }
}
