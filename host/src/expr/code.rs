//! The compiled form of a condition: closures over the facts, and the
//! combinators that build them from sub-expressions.

use std::ops::Range;

use regex::Regex;

use crate::expr::env::{Facts, Reader};
use crate::expr::types::Type;
use crate::expr::value::Value;

pub(in crate::expr) type DynFn = Box<dyn for<'a> Fn(&Facts<'a>) -> Option<Value<'a>> + Send + Sync>;
/// A boolean sub-expression: no `Value` is built to answer it.
pub(in crate::expr) type PredFn = Box<dyn Fn(&Facts<'_>) -> Option<bool> + Send + Sync>;

/// Compiled code of one sub-expression.
pub(in crate::expr) enum Code {
    Const(Value<'static>),
    Read(Reader),
    /// A field that may be unset: unset reads as `null`, which is unequal
    /// to everything and cannot be ordered (CEL's `null`).
    ReadOptional(Reader),
    Dyn(DynFn),
    Pred(PredFn),
}

impl Code {
    #[inline]
    pub(in crate::expr) fn eval<'a>(&self, facts: &Facts<'a>) -> Option<Value<'a>> {
        match self {
            Code::Const(value) => Some(value.clone()),
            Code::Read(reader) => reader(facts),
            Code::ReadOptional(reader) => Some(reader(facts).unwrap_or(Value::Null)),
            Code::Dyn(f) => f(facts),
            Code::Pred(p) => p(facts).map(Value::Bool),
        }
    }

    /// Evaluates a boolean sub-expression.
    #[inline]
    pub(in crate::expr) fn test(&self, facts: &Facts<'_>) -> Option<bool> {
        match self {
            Code::Pred(p) => p(facts),
            Code::Const(Value::Bool(b)) => Some(*b),
            other => other.eval(facts)?.as_bool(),
        }
    }

    /// This code as a predicate closure.
    pub(in crate::expr) fn into_pred(self) -> PredFn {
        match self {
            Code::Pred(p) => p,
            Code::Const(Value::Bool(b)) => Box::new(move |_| Some(b)),
            other => Box::new(move |facts| other.eval(facts)?.as_bool()),
        }
    }

    pub(in crate::expr) fn never() -> Code {
        Code::Dyn(Box::new(|_| None))
    }

    pub(in crate::expr) fn as_const(&self) -> Option<&Value<'static>> {
        match self {
            Code::Const(value) => Some(value),
            _ => None,
        }
    }
}

/// A compiled sub-expression with its static type and source span.
pub(in crate::expr) struct Node {
    pub(in crate::expr) ty: Type,
    pub(in crate::expr) code: Code,
    pub(in crate::expr) span: Range<usize>,
}

pub(in crate::expr) fn regex_node(receiver: Node, regex: Regex, span: Range<usize>) -> Node {
    let code = receiver.code;
    Node {
        ty: Type::Bool,
        code: Code::Pred(Box::new(move |facts| {
            let value = code.eval(facts)?;
            Some(regex.is_match(value.as_str()?))
        })),
        span,
    }
}

pub(in crate::expr) fn unary<F>(operand: Node, ty: Type, span: Range<usize>, f: F) -> Node
where
    F: for<'a> Fn(Value<'a>) -> Option<Value<'a>> + Send + Sync + 'static,
{
    let code = match operand.code {
        Code::Const(value) => match f(value) {
            Some(result) => Code::Const(result),
            None => Code::never(),
        },
        code => Code::Dyn(Box::new(move |facts| f(code.eval(facts)?))),
    };
    Node { ty, code, span }
}

pub(in crate::expr) fn binary<F>(lhs: Node, rhs: Node, ty: Type, span: Range<usize>, f: F) -> Node
where
    F: for<'x, 'y> Fn(&Value<'x>, &Value<'y>) -> Option<Value<'static>> + Send + Sync + 'static,
{
    let code = match (lhs.code, rhs.code) {
        (Code::Const(a), Code::Const(b)) => match f(&a, &b) {
            Some(result) => Code::Const(result),
            None => Code::never(),
        },
        (Code::Const(a), Code::Read(b)) => Code::Dyn(Box::new(move |facts| f(&a, &b(facts)?))),
        (Code::Read(a), Code::Const(b)) => Code::Dyn(Box::new(move |facts| f(&a(facts)?, &b))),
        (Code::Const(a), b) => Code::Dyn(Box::new(move |facts| f(&a, &b.eval(facts)?))),
        (a, Code::Const(b)) => Code::Dyn(Box::new(move |facts| f(&a.eval(facts)?, &b))),
        (a, b) => Code::Dyn(Box::new(move |facts| f(&a.eval(facts)?, &b.eval(facts)?))),
    };
    Node { ty, code, span }
}

/// `&&` and `||` with CEL's rules for missing values: `false && x` is
/// false and `true || x` is true even when `x` cannot be evaluated.
pub(in crate::expr) fn logical(is_and: bool, lhs: Node, rhs: Node, span: Range<usize>) -> Node {
    let (a, b) = (lhs.code.into_pred(), rhs.code.into_pred());
    let decisive = !is_and;
    let code = Code::Pred(Box::new(move |facts| {
        let x = a(facts);
        if x == Some(decisive) {
            return Some(decisive);
        }
        match (x, b(facts)) {
            (_, Some(v)) if v == decisive => Some(decisive),
            (Some(_), Some(_)) => Some(!decisive),
            _ => None,
        }
    }));
    Node {
        ty: Type::Bool,
        code,
        span,
    }
}

/// `has(...)`: whether a field is set (and not null).
pub(in crate::expr) fn presence_node(code: Code, span: Range<usize>) -> Node {
    let code = match code {
        Code::Read(read) | Code::ReadOptional(read) => Code::Pred(Box::new(move |facts| {
            Some(read(facts).is_some_and(|v| v != Value::Null))
        })),
        other => Code::Pred(Box::new(move |facts| {
            Some(other.eval(facts).is_some_and(|v| v != Value::Null))
        })),
    };
    Node {
        ty: Type::Bool,
        code,
        span,
    }
}

/// A comparison: like [`binary`], but answering true or false directly.
pub(in crate::expr) fn compare_node<F>(lhs: Node, rhs: Node, span: Range<usize>, f: F) -> Node
where
    F: for<'x, 'y> Fn(&Value<'x>, &Value<'y>) -> Option<bool> + Send + Sync + 'static,
{
    let code = match (lhs.code, rhs.code) {
        (Code::Const(a), Code::Const(b)) => match f(&a, &b) {
            Some(result) => Code::Const(Value::Bool(result)),
            None => Code::never(),
        },
        (Code::ReadOptional(read), Code::Const(b)) => {
            Code::Pred(Box::new(move |facts| match read(facts) {
                Some(value) => f(&value, &b),
                None => f(&Value::Null, &b),
            }))
        }
        (Code::Read(read), Code::Const(b)) => {
            Code::Pred(Box::new(move |facts| f(&read(facts)?, &b)))
        }
        (Code::Const(a), Code::ReadOptional(read)) => {
            Code::Pred(Box::new(move |facts| match read(facts) {
                Some(value) => f(&a, &value),
                None => f(&a, &Value::Null),
            }))
        }
        (Code::Const(a), b) => Code::Pred(Box::new(move |facts| f(&a, &b.eval(facts)?))),
        (a, Code::Const(b)) => Code::Pred(Box::new(move |facts| f(&a.eval(facts)?, &b))),
        (a, b) => Code::Pred(Box::new(move |facts| f(&a.eval(facts)?, &b.eval(facts)?))),
    };
    Node {
        ty: Type::Bool,
        code,
        span,
    }
}
