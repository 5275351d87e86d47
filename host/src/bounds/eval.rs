//! Evaluates a condition or value expression over a whole [`Region`] at
//! once: the result holds every value the expression can take for any
//! complaint in the region (it may hold more; it never holds less). Also
//! finds the comparisons of a field with a literal (`amount >= 100`,
//! `category == "billing"`, `has(amount)`) that a region can be split on.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cel::common::ast::{CallExpr, Expr, IdedExpr, LiteralValue, operators as op};

use crate::bounds::domain::{Abstract, FieldState, Region, Texts, Truth};
use crate::bounds::interval::Interval;
use crate::expr::{Env, PRESENCE_TEST, Type, qualified_name};

/// How a field's values are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Number {
        int: bool,
    },
    Text,
    Flag,
    /// Timestamps, durations, lists, maps, `attrs` entries.
    Other,
}

/// The fields conditions read, with the ranges their values are known to
/// keep.
pub struct Context<'e> {
    env: &'e Env,
    ranges: BTreeMap<String, Interval>,
}

impl<'e> Context<'e> {
    pub fn new(env: &'e Env, ranges: BTreeMap<String, Interval>) -> Self {
        Context { env, ranges }
    }

    pub fn env(&self) -> &Env {
        self.env
    }

    pub fn kind(&self, path: &str) -> Option<FieldKind> {
        Some(match &self.env.field(path)?.ty {
            Type::Int => FieldKind::Number { int: true },
            Type::Double => FieldKind::Number { int: false },
            Type::String => FieldKind::Text,
            Type::Bool => FieldKind::Flag,
            _ => FieldKind::Other,
        })
    }

    /// The range a numeric field keeps: declared, or its natural one.
    pub fn range(&self, path: &str) -> Interval {
        self.ranges.get(path).copied().unwrap_or(Interval::ALL)
    }

    /// What is known of a field before any split.
    pub fn default_state(&self, path: &str) -> FieldState {
        let optional = self.env.field(path).is_none_or(|f| f.optional);
        FieldState {
            may_be_set: true,
            may_be_unset: optional,
            number: self.range(path),
            text: Texts::any(),
            flag: Truth::BOTH,
        }
    }

    pub fn state<'s>(&self, region: &'s Region, path: &str) -> Cow<'s, FieldState> {
        match region.fields.get(path) {
            Some(state) => Cow::Borrowed(state),
            None => Cow::Owned(self.default_state(path)),
        }
    }

    /// Every value `expr` may take for a complaint in `region`.
    pub fn eval(&self, expr: &IdedExpr, region: &Region) -> Abstract {
        match &expr.expr {
            Expr::Literal(literal) => literal_value(literal),
            Expr::Ident(_) | Expr::Select(_) => {
                if let Expr::Select(select) = &expr.expr
                    && select.test
                {
                    return match qualified_name(&select.operand) {
                        Some(mut segments) => {
                            segments.push(select.field.as_str());
                            self.presence(&segments.join("."), region)
                        }
                        None => Abstract::truth(Truth::BOTH).union(&Abstract::failure()),
                    };
                }
                match qualified_name(expr) {
                    Some(segments) => self.read(&segments.join("."), region),
                    None => Abstract::top(),
                }
            }
            Expr::Call(call) => self.call(call, region),
            Expr::List(_) | Expr::Map(_) | Expr::Struct(_) => Abstract::other(),
            Expr::Comprehension(_) | Expr::Unspecified => Abstract::top(),
        }
    }

    fn read(&self, path: &str, region: &Region) -> Abstract {
        let Some(kind) = self.kind(path) else {
            // `attrs` entries: anything.
            return Abstract::top();
        };
        let state = self.state(region, path);
        let mut value = Abstract {
            null: state.may_be_unset,
            ..Abstract::default()
        };
        if state.may_be_set {
            match kind {
                FieldKind::Number { .. } => value.number = Some(state.number),
                FieldKind::Text => value.text = Some(state.text.clone()),
                FieldKind::Flag => value.truth = state.flag,
                FieldKind::Other => value.other = true,
            }
        }
        value
    }

    fn presence(&self, path: &str, region: &Region) -> Abstract {
        if self.kind(path).is_none() {
            return Abstract::truth(Truth::BOTH);
        }
        let state = self.state(region, path);
        Abstract::truth(Truth {
            yes: state.may_be_set,
            no: state.may_be_unset,
        })
    }

    fn call(&self, call: &CallExpr, region: &Region) -> Abstract {
        let args = &call.args;
        if call.target.is_some() {
            return method(&call.func_name);
        }
        let eval = |i: usize| self.eval(&args[i], region);
        match (call.func_name.as_str(), args.len()) {
            (op::LOGICAL_AND, 2) => logical(true, &eval(0), &eval(1)),
            (op::LOGICAL_OR, 2) => logical(false, &eval(0), &eval(1)),
            (op::LOGICAL_NOT, 1) => {
                let x = eval(0);
                Abstract {
                    truth: Truth {
                        yes: x.truth.no,
                        no: x.truth.yes,
                    },
                    fails: x.may_be_non_bool(),
                    ..Abstract::default()
                }
            }
            (op::NEGATE, 1) => {
                let x = eval(0);
                // Durations negate too (`other`); anything but a number
                // or a duration fails.
                Abstract {
                    number: x.number.map(|n| n.neg()),
                    fails: x.fails || x.null || x.text.is_some() || x.truth != Truth::default(),
                    other: x.other,
                    ..Abstract::default()
                }
            }
            (op::CONDITIONAL, 3) => {
                let condition = eval(0);
                let mut out = Abstract {
                    fails: condition.may_be_non_bool(),
                    ..Abstract::default()
                };
                if condition.truth.yes {
                    out = out.union(&eval(1));
                }
                if condition.truth.no {
                    out = out.union(&eval(2));
                }
                out
            }
            (op::EQUALS, 2) => equality(&eval(0), &eval(1), true),
            (op::NOT_EQUALS, 2) => equality(&eval(0), &eval(1), false),
            (name @ (op::LESS | op::LESS_EQUALS | op::GREATER | op::GREATER_EQUALS), 2) => {
                ordering(name, &eval(0), &eval(1))
            }
            (name @ (op::ADD | op::SUBSTRACT | op::MULTIPLY | op::DIVIDE | op::MODULO), 2) => {
                arithmetic(name, &eval(0), &eval(1))
            }
            (op::IN, 2) => membership(&eval(0), &args[1]),
            ("size", 1) => Abstract::number(Interval::NON_NEGATIVE).union(&Abstract::failure()),
            ("duration" | "timestamp", 1) => Abstract::other(),
            ("double", 1) => {
                let x = eval(0);
                conversion(&x, |n| n)
            }
            ("int", 1) => {
                let x = eval(0);
                conversion(&x, |n| n.trunc())
            }
            ("string", 1) => Abstract::text(Texts::any()).union(&Abstract::failure()),
            (name @ ("min" | "max"), n) if n >= 2 => {
                let is_min = name == "min";
                let mut out: Option<Abstract> = None;
                for i in 0..n {
                    let x = eval(i);
                    out = Some(match out {
                        None => x,
                        Some(current) => min_max(is_min, &current, &x),
                    });
                }
                out.unwrap_or_else(Abstract::top)
            }
            (PRESENCE_TEST, 1) => match &args[0].expr {
                Expr::Ident(name) => self.presence(name, region),
                _ => Abstract::top(),
            },
            _ => Abstract::top(),
        }
    }
}

fn literal_value(literal: &LiteralValue) -> Abstract {
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
fn logical(is_and: bool, x: &Abstract, y: &Abstract) -> Abstract {
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
fn kinds(x: &Abstract) -> [bool; 5] {
    [
        x.number.is_some(),
        x.text.is_some(),
        x.truth.yes || x.truth.no,
        x.null,
        x.other,
    ]
}

fn equality(a: &Abstract, b: &Abstract, equal: bool) -> Abstract {
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

fn ordering(name: &str, a: &Abstract, b: &Abstract) -> Abstract {
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

fn arithmetic(name: &str, a: &Abstract, b: &Abstract) -> Abstract {
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

fn membership(needle: &Abstract, haystack: &IdedExpr) -> Abstract {
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

fn conversion(x: &Abstract, f: impl Fn(Interval) -> Interval) -> Abstract {
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

fn min_max(is_min: bool, a: &Abstract, b: &Abstract) -> Abstract {
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
fn method(name: &str) -> Abstract {
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

/// A way to split a region in two or more parts, taken from a comparison
/// of a field with a literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// Set, or not set.
    Presence(String),
    /// At most `below`, or at least `above` (the two sides of `x >= c`).
    Threshold {
        path: String,
        below: f64,
        above: f64,
    },
    /// Each of these strings, or any other.
    Texts {
        path: String,
        values: BTreeSet<String>,
    },
    /// True, or false.
    Flag(String),
}

impl Atom {
    pub fn path(&self) -> &str {
        match self {
            Atom::Presence(path) | Atom::Flag(path) => path,
            Atom::Threshold { path, .. } | Atom::Texts { path, .. } => path,
        }
    }
}

impl Context<'_> {
    /// The atoms of `expr`, in the order they appear.
    pub fn atoms(&self, expr: &IdedExpr, out: &mut Vec<Atom>) {
        match &expr.expr {
            Expr::Select(select) if select.test => {
                if let Some(mut segments) = qualified_name(&select.operand) {
                    segments.push(select.field.as_str());
                    self.push(out, Atom::Presence(segments.join(".")));
                }
            }
            Expr::Ident(_) | Expr::Select(_) => {
                if let Some(segments) = qualified_name(expr) {
                    let path = segments.join(".");
                    if self.kind(&path) == Some(FieldKind::Flag) {
                        self.push(out, Atom::Presence(path.clone()));
                        self.push(out, Atom::Flag(path));
                    }
                }
            }
            Expr::Call(call) => {
                self.call_atoms(call, out);
                if let Some(target) = &call.target {
                    self.atoms(target, out);
                }
                for arg in &call.args {
                    self.atoms(arg, out);
                }
            }
            Expr::List(list) => {
                for element in &list.elements {
                    self.atoms(element, out);
                }
            }
            _ => {}
        }
    }

    fn push(&self, out: &mut Vec<Atom>, atom: Atom) {
        // Only a field that can be unset splits on being set.
        if let Atom::Presence(path) = &atom
            && self.env.field(path).is_some_and(|f| !f.optional)
        {
            return;
        }
        if !out.contains(&atom) {
            out.push(atom);
        }
    }

    fn call_atoms(&self, call: &CallExpr, out: &mut Vec<Atom>) {
        let args = &call.args;
        let name = call.func_name.as_str();
        if name == PRESENCE_TEST
            && let Some(Expr::Ident(ident)) = args.first().map(|a| &a.expr)
        {
            self.push(out, Atom::Presence(ident.clone()));
            return;
        }
        if args.len() != 2 {
            return;
        }
        let field = |e: &IdedExpr| qualified_name(e).map(|s| s.join("."));
        let literal = |e: &IdedExpr| match &e.expr {
            Expr::Literal(l) => Some(literal_value(l)),
            _ => None,
        };
        match name {
            op::IN => {
                let (Some(path), Expr::List(list)) = (field(&args[0]), &args[1].expr) else {
                    return;
                };
                let values: BTreeSet<String> = list
                    .elements
                    .iter()
                    .filter_map(|e| match &e.expr {
                        Expr::Literal(LiteralValue::String(s)) => Some(s.inner().to_string()),
                        _ => None,
                    })
                    .collect();
                if self.kind(&path) == Some(FieldKind::Text) && !values.is_empty() {
                    self.push(out, Atom::Presence(path.clone()));
                    self.push(out, Atom::Texts { path, values });
                }
            }
            op::EQUALS
            | op::NOT_EQUALS
            | op::LESS
            | op::LESS_EQUALS
            | op::GREATER
            | op::GREATER_EQUALS => {
                let (path, value, flipped) = match (field(&args[0]), field(&args[1])) {
                    (Some(path), None) => (path, literal(&args[1]), false),
                    (None, Some(path)) => (path, literal(&args[0]), true),
                    _ => return,
                };
                let Some(value) = value else { return };
                let Some(kind) = self.kind(&path) else { return };
                match (kind, &value.text, value.number) {
                    (FieldKind::Text, Some(texts), _) => {
                        if let Some(text) = texts.single() {
                            self.push(out, Atom::Presence(path.clone()));
                            self.push(
                                out,
                                Atom::Texts {
                                    path,
                                    values: BTreeSet::from([text.to_string()]),
                                },
                            );
                        }
                    }
                    (FieldKind::Number { int }, _, Some(number)) if number.is_point() => {
                        self.push(out, Atom::Presence(path.clone()));
                        let c = number.lo;
                        // `c < x` is `x > c`.
                        let name = match (name, flipped) {
                            (op::LESS, true) => op::GREATER,
                            (op::LESS_EQUALS, true) => op::GREATER_EQUALS,
                            (op::GREATER, true) => op::LESS,
                            (op::GREATER_EQUALS, true) => op::LESS_EQUALS,
                            (other, _) => other,
                        };
                        // Split points: `x < c` / `x >= c` part below c;
                        // `x <= c` / `x > c` part above it; `==` both.
                        let below_c = threshold(int, c, true);
                        let above_c = threshold(int, c, false);
                        if matches!(
                            name,
                            op::LESS | op::GREATER_EQUALS | op::EQUALS | op::NOT_EQUALS
                        ) {
                            self.push(
                                out,
                                Atom::Threshold {
                                    path: path.clone(),
                                    below: below_c.0,
                                    above: below_c.1,
                                },
                            );
                        }
                        if matches!(
                            name,
                            op::LESS_EQUALS | op::GREATER | op::EQUALS | op::NOT_EQUALS
                        ) {
                            self.push(
                                out,
                                Atom::Threshold {
                                    path,
                                    below: above_c.0,
                                    above: above_c.1,
                                },
                            );
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// The parts of `region` on either side of `atom`, or `None` when the
    /// region lies on one side already.
    pub fn split(&self, region: &Region, atom: &Atom) -> Option<Vec<Region>> {
        let path = atom.path();
        let state = self.state(region, path).into_owned();
        let with = |state: FieldState| {
            let mut part = region.clone();
            part.fields.insert(path.to_string(), state);
            part
        };
        let presence_split = || {
            Some(vec![
                with(FieldState {
                    may_be_unset: false,
                    ..state.clone()
                }),
                with(FieldState {
                    may_be_set: false,
                    ..state.clone()
                }),
            ])
        };
        if state.may_be_set && state.may_be_unset {
            return presence_split();
        }
        if !state.may_be_set {
            return None;
        }
        match atom {
            Atom::Presence(_) => None,
            Atom::Threshold { below, above, .. } => {
                let low = state
                    .number
                    .intersect(&Interval::new(f64::NEG_INFINITY, *below))?;
                let high = state
                    .number
                    .intersect(&Interval::new(*above, f64::INFINITY))?;
                Some(vec![
                    with(FieldState {
                        number: high,
                        ..state.clone()
                    }),
                    with(FieldState {
                        number: low,
                        ..state.clone()
                    }),
                ])
            }
            Atom::Flag(_) => (state.flag == Truth::BOTH).then(|| {
                vec![
                    with(FieldState {
                        flag: Truth::exactly(true),
                        ..state.clone()
                    }),
                    with(FieldState {
                        flag: Truth::exactly(false),
                        ..state.clone()
                    }),
                ]
            }),
            Atom::Texts { values, .. } => {
                let mut parts: Vec<Texts> = values
                    .iter()
                    .filter(|v| state.text.may_be(v))
                    .map(|v| Texts::one(v))
                    .collect();
                let rest = match &state.text {
                    Texts::Only(only) => {
                        let rest: BTreeSet<String> = only.difference(values).cloned().collect();
                        (!rest.is_empty()).then_some(Texts::Only(Arc::new(rest)))
                    }
                    Texts::AnyBut(but) => Some(Texts::AnyBut(Arc::new(
                        but.union(values).cloned().collect(),
                    ))),
                };
                parts.extend(rest);
                (parts.len() >= 2).then(|| {
                    parts
                        .into_iter()
                        .map(|text| {
                            with(FieldState {
                                text,
                                ..state.clone()
                            })
                        })
                        .collect()
                })
            }
        }
    }
}

/// The two sides of a split at `c`: `(largest below, smallest above)`.
/// `strict_below`: the lower side is `x < c` (else `x <= c`).
fn threshold(int: bool, c: f64, strict_below: bool) -> (f64, f64) {
    match (int, strict_below) {
        (true, true) => (c.ceil() - 1.0, c.ceil()),
        (true, false) => (c.floor(), c.floor() + 1.0),
        (false, true) => (c.next_down(), c),
        (false, false) => (c, c.next_up()),
    }
}

/// The field paths an expression reads.
pub fn read_paths(expr: &IdedExpr, out: &mut BTreeSet<String>) {
    match &expr.expr {
        Expr::Select(select) if select.test => {
            if let Some(mut segments) = qualified_name(&select.operand) {
                segments.push(select.field.as_str());
                out.insert(segments.join("."));
            }
        }
        Expr::Ident(_) | Expr::Select(_) => {
            if let Some(segments) = qualified_name(expr) {
                out.insert(segments.join("."));
            } else if let Expr::Select(select) = &expr.expr {
                read_paths(&select.operand, out);
            }
        }
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                read_paths(target, out);
            }
            for arg in &call.args {
                if call.func_name == PRESENCE_TEST
                    && let Expr::Ident(name) = &arg.expr
                {
                    out.insert(name.clone());
                    continue;
                }
                read_paths(arg, out);
            }
        }
        Expr::List(list) => {
            for element in &list.elements {
                read_paths(element, out);
            }
        }
        _ => {}
    }
}

/// Numeric literals of an expression: where witnesses look for values.
pub fn numeric_literals(expr: &IdedExpr, out: &mut Vec<f64>) {
    match &expr.expr {
        Expr::Literal(LiteralValue::Int(i)) => out.push(*i.inner() as f64),
        Expr::Literal(LiteralValue::Double(d)) => out.push(*d.inner()),
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                numeric_literals(target, out);
            }
            for arg in &call.args {
                numeric_literals(arg, out);
            }
        }
        Expr::List(list) => {
            for element in &list.elements {
                numeric_literals(element, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::syntax_tree;

    fn eval(source: &str, region: &Region) -> Abstract {
        let env = Env::standard();
        let ranges = BTreeMap::from([("amount".to_string(), Interval::new(0.0, 1000.0))]);
        let context = Context::new(&env, ranges);
        let tree = syntax_tree(source).unwrap();
        context.eval(&tree, region)
    }

    #[test]
    fn value_expressions_get_intervals() {
        let value = eval("min(amount * 0.1, 50.0)", &Region::default());
        assert_eq!(value.number, Some(Interval::new(0.0, 50.0)));
        assert!(value.null || value.fails, "amount may be unset");
        let value = eval("has(amount) ? amount : 50.0", &Region::default());
        assert_eq!(value.number, Some(Interval::new(0.0, 1000.0)));
    }

    #[test]
    fn conditions_are_three_valued() {
        let region = Region::default();
        assert_eq!(
            eval("category == \"billing\"", &region).outcome(),
            crate::bounds::domain::Outcome::Maybe
        );
        assert_eq!(
            eval("true || amount > 5.0", &region).outcome(),
            crate::bounds::domain::Outcome::Always
        );
        assert!(
            eval("customer.tenure_days < 0 && true", &region).truth.yes,
            "a context without a range for tenure lets it be negative"
        );
    }

    #[test]
    fn splitting_a_region_decides_its_atoms() {
        let env = Env::standard();
        let context = Context::new(&env, BTreeMap::new());
        let tree = syntax_tree("customer.lifetime_value >= 5000.0").unwrap();
        let mut atoms = Vec::new();
        context.atoms(&tree, &mut atoms);
        assert_eq!(atoms.len(), 1, "{atoms:?}");
        let parts = context.split(&Region::default(), &atoms[0]).unwrap();
        let outcomes: Vec<_> = parts
            .iter()
            .map(|p| context.eval(&tree, p).outcome())
            .collect();
        use crate::bounds::domain::Outcome::*;
        assert_eq!(outcomes, vec![Always, Never]);
    }
}
