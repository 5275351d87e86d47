//! Arithmetic on values: result types, sums and differences of numbers,
//! timestamps and durations, and hints for mixed-type comparisons.

use std::borrow::Cow;

use cel::common::ast::operators as op;

use crate::expr::code::{Code, Node};
use crate::expr::types::Type;
use crate::expr::value::Value;

/// When the other side is a double, an integer literal is read as a double,
/// so `lifetime_value * 2` works as operators expect.
pub(in crate::expr) fn promote_int_literal(node: &mut Node, other: &Type) {
    if *other == Type::Double
        && let Code::Const(Value::Int(i)) = node.code
    {
        node.code = Code::Const(Value::Double(i as f64));
        node.ty = Type::Double;
    }
}

pub(in crate::expr) fn arithmetic_type(name: &str, l: &Type, r: &Type) -> Result<Type, ()> {
    use Type::*;
    Ok(match (name, l, r) {
        (_, Dyn, _) | (_, _, Dyn) => Dyn,
        (op::MODULO, Int, Int) => Int,
        (op::MODULO, _, _) => return Err(()),
        (_, Int, Int) => Int,
        (_, Double, Double) => Double,
        (op::ADD, String, String) => String,
        (op::ADD | op::SUBSTRACT, Duration, Duration) => Duration,
        (op::ADD, Timestamp, Duration) | (op::ADD, Duration, Timestamp) => Timestamp,
        (op::SUBSTRACT, Timestamp, Duration) => Timestamp,
        (op::SUBSTRACT, Timestamp, Timestamp) => Duration,
        _ => return Err(()),
    })
}

pub(in crate::expr) fn add(a: &Value<'_>, b: &Value<'_>) -> Option<Value<'static>> {
    use crate::time::Duration;
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.checked_add(*y).map(Value::Int),
        (Value::Str(x), Value::Str(y)) => Some(Value::Str(Cow::Owned(format!("{x}{y}")))),
        (Value::Duration(x), Value::Duration(y)) => {
            x.0.checked_add(y.0).map(|d| Value::Duration(Duration(d)))
        }
        (Value::Timestamp(t), Value::Duration(d)) | (Value::Duration(d), Value::Timestamp(t)) => {
            t.checked_add(*d).map(Value::Timestamp)
        }
        _ => Some(Value::Double(a.as_f64()? + b.as_f64()?)),
    }
}

pub(in crate::expr) fn subtract(a: &Value<'_>, b: &Value<'_>) -> Option<Value<'static>> {
    use crate::time::{Duration, Timestamp};
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.checked_sub(*y).map(Value::Int),
        (Value::Duration(x), Value::Duration(y)) => {
            x.0.checked_sub(y.0).map(|d| Value::Duration(Duration(d)))
        }
        (Value::Timestamp(t), Value::Duration(d)) => {
            t.0.checked_sub(d.0).map(|m| Value::Timestamp(Timestamp(m)))
        }
        (Value::Timestamp(x), Value::Timestamp(y)) => {
            x.0.checked_sub(y.0).map(|d| Value::Duration(Duration(d)))
        }
        _ => Some(Value::Double(a.as_f64()? - b.as_f64()?)),
    }
}

/// A hint for comparing a string field with a bare word or number.
pub(in crate::expr) fn quote_hint(l: &Type, r: &Type, rhs_text: &str) -> Option<String> {
    match (l, r) {
        (Type::String, Type::Int | Type::Double) => Some(format!(
            "strings compare with strings: write `\"{}\"`",
            rhs_text.trim_matches('"')
        )),
        (Type::Int | Type::Double, Type::String) => Some(format!(
            "numbers compare with numbers: write {} without quotes",
            rhs_text
        )),
        _ => None,
    }
}
