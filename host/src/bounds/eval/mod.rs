//! Evaluates a condition or value expression over a whole [`Region`] at
//! once: the result holds every value the expression can take for any
//! complaint in the region (it may hold more; it never holds less). Also
//! finds the comparisons of a field with a literal (`amount >= 100`,
//! `category == "billing"`, `has(amount)`) that a region can be split on.

//!
//! `operators.rs` evaluates each operator over abstract values,
//! `atoms.rs` finds the comparisons a region can be split on, and
//! `paths.rs` lists what an expression reads.

mod atoms;
mod operators;
mod paths;

use std::borrow::Cow;
use std::collections::BTreeMap;

use cel::common::ast::{CallExpr, Expr, IdedExpr, operators as op};

use crate::bounds::domain::{Abstract, FieldState, Region, Texts, Truth};
use crate::bounds::interval::Interval;
use crate::expr::{Env, PRESENCE_TEST, Type, qualified_name};

pub use atoms::Atom;
use operators::{
    arithmetic, conversion, equality, literal_value, logical, membership, method, min_max, ordering,
};
pub use paths::{numeric_literals, read_paths};

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
