//! The comparisons of a field with a literal that a region can be split
//! on (`amount >= 100`, `category == "billing"`, `has(amount)`).

use std::collections::BTreeSet;
use std::sync::Arc;

use cel::common::ast::{CallExpr, Expr, IdedExpr, LiteralValue, operators as op};

use crate::bounds::domain::{FieldState, Region, Texts, Truth};
use crate::bounds::interval::Interval;
use crate::expr::{PRESENCE_TEST, qualified_name};

use super::operators::literal_value;
use super::{Context, FieldKind};

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
