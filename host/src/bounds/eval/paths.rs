//! What an expression reads: its field paths and its numeric literals
//! (where witnesses look for values that matter).

use std::collections::BTreeSet;

use cel::common::ast::{Expr, IdedExpr, LiteralValue};

use crate::expr::{PRESENCE_TEST, qualified_name};

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
