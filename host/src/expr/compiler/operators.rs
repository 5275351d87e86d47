//! Operators and calls: logic, equality, ordering, arithmetic, membership,
//! indexing and the dispatch of function and method calls.

use std::ops::Range;

use cel::common::ast::{CallExpr, Expr, IdedExpr, operators as op};

use super::Compiler;
use super::functions::METHODS;
use crate::expr::arith::{add, arithmetic_type, promote_int_literal, quote_hint, subtract};
use crate::expr::code::{Code, Node, binary, compare_node, logical, presence_node, unary};
use crate::expr::error::CompileError;
use crate::expr::rewrite::PRESENCE_TEST;
use crate::expr::types::Type;
use crate::expr::value::Value;
use crate::suggest::did_you_mean;

impl Compiler<'_> {
    pub(super) fn call(&mut self, call: &CallExpr, span: Range<usize>, depth: u16) -> Node {
        let name = call.func_name.as_str();
        if let Some(target) = &call.target {
            return self.method(name, target, &call.args, span, depth);
        }
        let args = &call.args;
        match (name, args.len()) {
            (op::LOGICAL_AND, 2) | (op::LOGICAL_OR, 2) => {
                let is_and = name == op::LOGICAL_AND;
                let lhs = self.compile(&args[0], depth + 1);
                let rhs = self.compile(&args[1], depth + 1);
                let word = if is_and { "&&" } else { "||" };
                self.expect_bool(&lhs, word);
                self.expect_bool(&rhs, word);
                logical(is_and, lhs, rhs, span)
            }
            (op::LOGICAL_NOT, 1) => {
                let operand = self.compile(&args[0], depth + 1);
                self.expect_bool(&operand, "!");
                let inner = operand.code.into_pred();
                Node {
                    ty: Type::Bool,
                    code: Code::Pred(Box::new(move |facts| inner(facts).map(|b| !b))),
                    span,
                }
            }
            (op::NEGATE, 1) => {
                let operand = self.compile(&args[0], depth + 1);
                let ty = operand.ty.clone();
                if !(ty.is_numeric() || ty == Type::Duration || ty.is_dyn()) {
                    return self.error(CompileError::new(format!("cannot negate {ty}"), span));
                }
                unary(operand, ty, span, |v| match v {
                    Value::Int(i) => i.checked_neg().map(Value::Int),
                    Value::Double(d) => Some(Value::Double(-d)),
                    Value::Duration(d) => Some(Value::Duration(crate::time::Duration(-d.0))),
                    _ => None,
                })
            }
            (op::CONDITIONAL, 3) => self.conditional(args, span, depth),
            (op::EQUALS | op::NOT_EQUALS, 2) => {
                self.equality(name == op::EQUALS, args, span, depth)
            }
            (op::LESS | op::LESS_EQUALS | op::GREATER | op::GREATER_EQUALS, 2) => {
                self.ordering(name, args, span, depth)
            }
            (op::ADD | op::SUBSTRACT | op::MULTIPLY | op::DIVIDE | op::MODULO, 2) => {
                self.arithmetic(name, args, span, depth)
            }
            (op::IN, 2) => self.membership(args, span, depth),
            (op::INDEX, 2) => self.index(args, span, depth),
            ("size", 1) => {
                let operand = self.compile(&args[0], depth + 1);
                self.size(operand, span)
            }
            ("duration", 1) => self.duration_literal(&args[0], span, depth),
            ("timestamp", 1) => self.timestamp_literal(&args[0], span, depth),
            ("int" | "double" | "string", 1) => {
                let operand = self.compile(&args[0], depth + 1);
                self.conversion(name, operand, span)
            }
            ("min" | "max", n) if n >= 2 => self.min_max(name == "min", args, span, depth),
            (PRESENCE_TEST, 1) => self.bare_presence_test(&args[0], span),
            ("has", _) | (PRESENCE_TEST, _) => self.error(
                CompileError::new("`has()` takes one field, like `has(category)`", span)
                    .label("not a field"),
            ),
            _ => self.unknown_function(name, args.len(), span),
        }
    }

    /// `has(category)`: whether a top-level field is set.
    pub(super) fn bare_presence_test(&mut self, arg: &IdedExpr, span: Range<usize>) -> Node {
        let Expr::Ident(name) = &arg.expr else {
            return self.error(CompileError::new("`has()` takes a field", span));
        };
        let field = self.path(&[name.as_str()], self.span(arg));
        presence_node(field.code, span)
    }

    pub(super) fn unknown_function(
        &mut self,
        name: &str,
        arity: usize,
        span: Range<usize>,
    ) -> Node {
        const FUNCTIONS: [&str; 9] = [
            "size",
            "duration",
            "timestamp",
            "int",
            "double",
            "string",
            "min",
            "max",
            "has",
        ];
        let known = FUNCTIONS.contains(&name);
        let message = if known {
            format!(
                "`{name}` does not take {arity} argument{}",
                if arity == 1 { "" } else { "s" }
            )
        } else if name.starts_with(['_', '@', '!', '-']) {
            format!("unsupported operator `{name}`")
        } else {
            format!("unknown function `{name}`")
        };
        let help = if known {
            None
        } else {
            did_you_mean(
                name,
                FUNCTIONS.iter().copied().chain(METHODS.iter().copied()),
            )
            .or_else(|| Some(format!("functions: {}", FUNCTIONS.join(", "))))
        };
        self.error(CompileError::new(message, span).label("here").help(help))
    }

    pub(super) fn expect_bool(&mut self, node: &Node, operator: &str) {
        if !(node.ty == Type::Bool || node.ty.is_dyn()) {
            let ty = node.ty.clone();
            self.errors.push(
                CompileError::new(
                    format!("`{operator}` needs true or false, but this is {ty}"),
                    node.span.clone(),
                )
                .label(format!("this is {ty}")),
            );
        }
    }

    pub(super) fn conditional(
        &mut self,
        args: &[IdedExpr],
        span: Range<usize>,
        depth: u16,
    ) -> Node {
        let condition = self.compile(&args[0], depth + 1);
        self.expect_bool(&condition, "? :");
        let then = self.compile(&args[1], depth + 1);
        let otherwise = self.compile(&args[2], depth + 1);
        let ty = match (&then.ty, &otherwise.ty) {
            (a, b) if a == b => a.clone(),
            (a, b) if a.is_numeric() && b.is_numeric() => Type::Double,
            (Type::Dyn, _) | (_, Type::Dyn) => Type::Dyn,
            (a, b) => {
                let message = format!("the two branches of `? :` differ: {a} and {b}");
                return self.error(CompileError::new(message, span));
            }
        };
        let (c, t, o) = (condition.code, then.code, otherwise.code);
        Node {
            ty,
            code: Code::Dyn(Box::new(move |facts| {
                if c.test(facts)? {
                    t.eval(facts)
                } else {
                    o.eval(facts)
                }
            })),
            span,
        }
    }

    pub(super) fn equality(
        &mut self,
        equal: bool,
        args: &[IdedExpr],
        span: Range<usize>,
        depth: u16,
    ) -> Node {
        let lhs = self.compile(&args[0], depth + 1);
        let rhs = self.compile(&args[1], depth + 1);
        if lhs.ty == Type::Null || rhs.ty == Type::Null {
            let (field, other) = if lhs.ty == Type::Null {
                (&rhs, &lhs)
            } else {
                (&lhs, &rhs)
            };
            if !field.ty.is_dyn() && other.ty == Type::Null {
                let text = self.text(&field.span).to_string();
                let negate = if equal { "!" } else { "" };
                return self.error(
                    CompileError::new(format!("{} is never null", field.ty), span)
                        .label("compares with null")
                        .help(Some(format!(
                            "to test whether it is set, write `{negate}has({text})`"
                        ))),
                );
            }
        }
        if !lhs.ty.comparable_for_equality(&rhs.ty) {
            let (l, r) = (lhs.ty.clone(), rhs.ty.clone());
            let word = if equal { "==" } else { "!=" };
            let help = quote_hint(&l, &r, self.text(&rhs.span));
            return self.error(
                CompileError::new(format!("cannot compare {l} with {r} using `{word}`"), span)
                    .label(format!("{l} {word} {r}"))
                    .help(help),
            );
        }
        if equal {
            compare_node(lhs, rhs, span, |a, b| a.equals(b))
        } else {
            compare_node(lhs, rhs, span, |a, b| a.equals(b).map(|e| !e))
        }
    }

    pub(super) fn ordering(
        &mut self,
        name: &str,
        args: &[IdedExpr],
        span: Range<usize>,
        depth: u16,
    ) -> Node {
        let lhs = self.compile(&args[0], depth + 1);
        let rhs = self.compile(&args[1], depth + 1);
        let word = name.trim_matches('_');
        if !lhs.ty.orderable_with(&rhs.ty) {
            let (l, r) = (lhs.ty.clone(), rhs.ty.clone());
            let help = quote_hint(&l, &r, self.text(&rhs.span))
                .or_else(|| Some("`<`, `<=`, `>`, `>=` compare numbers with numbers, strings with strings, durations with durations and timestamps with timestamps".into()));
            return self.error(
                CompileError::new(format!("cannot compare {l} with {r} using `{word}`"), span)
                    .label(format!("{l} {word} {r}"))
                    .help(help),
            );
        }
        use std::cmp::Ordering::*;
        match name {
            op::LESS => compare_node(lhs, rhs, span, |a, b| Some(a.compare(b)? == Less)),
            op::LESS_EQUALS => compare_node(lhs, rhs, span, |a, b| Some(a.compare(b)? != Greater)),
            op::GREATER => compare_node(lhs, rhs, span, |a, b| Some(a.compare(b)? == Greater)),
            _ => compare_node(lhs, rhs, span, |a, b| Some(a.compare(b)? != Less)),
        }
    }

    pub(super) fn arithmetic(
        &mut self,
        name: &str,
        args: &[IdedExpr],
        span: Range<usize>,
        depth: u16,
    ) -> Node {
        let mut lhs = self.compile(&args[0], depth + 1);
        let mut rhs = self.compile(&args[1], depth + 1);
        promote_int_literal(&mut lhs, &rhs.ty);
        promote_int_literal(&mut rhs, &lhs.ty);
        let word = name.trim_matches('_');
        let ty = match arithmetic_type(name, &lhs.ty, &rhs.ty) {
            Ok(ty) => ty,
            Err(()) => {
                let (l, r) = (lhs.ty.clone(), rhs.ty.clone());
                let help = if l.is_numeric() && r.is_numeric() {
                    let int_side = if l == Type::Int { &lhs.span } else { &rhs.span };
                    Some(format!(
                        "int and double do not mix in arithmetic; write `double({})`",
                        self.text(int_side)
                    ))
                } else {
                    None
                };
                return self.error(
                    CompileError::new(format!("cannot apply `{word}` to {l} and {r}"), span)
                        .label(format!("{l} {word} {r}"))
                        .help(help),
                );
            }
        };
        match name {
            op::ADD => binary(lhs, rhs, ty, span, add),
            op::SUBSTRACT => binary(lhs, rhs, ty, span, subtract),
            op::MULTIPLY => binary(lhs, rhs, ty, span, |a, b| match (a, b) {
                (Value::Int(x), Value::Int(y)) => x.checked_mul(*y).map(Value::Int),
                _ => Some(Value::Double(a.as_f64()? * b.as_f64()?)),
            }),
            op::DIVIDE => binary(lhs, rhs, ty, span, |a, b| match (a, b) {
                (Value::Int(x), Value::Int(y)) => x.checked_div(*y).map(Value::Int),
                _ => Some(Value::Double(a.as_f64()? / b.as_f64()?)),
            }),
            _ => binary(lhs, rhs, ty, span, |a, b| match (a, b) {
                (Value::Int(x), Value::Int(y)) => x.checked_rem(*y).map(Value::Int),
                _ => None,
            }),
        }
    }

    pub(super) fn membership(&mut self, args: &[IdedExpr], span: Range<usize>, depth: u16) -> Node {
        let needle = self.compile(&args[0], depth + 1);
        let haystack = self.compile(&args[1], depth + 1);
        match &haystack.ty {
            Type::List(element) => {
                if !needle.ty.comparable_for_equality(element) {
                    let (n, e) = (needle.ty.clone(), element.as_ref().clone());
                    return self.error(
                        CompileError::new(format!("cannot look for {n} in a list of {e}"), span)
                            .label(format!("{n} in list({e})")),
                    );
                }
            }
            Type::Map => {
                if !(needle.ty == Type::String || needle.ty.is_dyn()) {
                    let n = needle.ty.clone();
                    return self.error(CompileError::new(
                        format!("map keys are strings, but this is {n}"),
                        needle.span,
                    ));
                }
            }
            Type::Dyn => {}
            other => {
                let other = other.clone();
                return self.error(
                    CompileError::new(
                        format!("`in` needs a list or a map, but this is {other}"),
                        haystack.span,
                    )
                    .label(format!("this is {other}"))
                    .help(Some(
                        "write a list, like `channel in [\"phone\", \"fax\"]`".into(),
                    )),
                );
            }
        }
        compare_node(needle, haystack, span, |needle, haystack| match haystack {
            Value::List(list) => Some(list.contains(needle)),
            Value::Map(map) => Some(map.get(needle.as_str()?).is_some()),
            Value::Null => Some(false),
            _ => None,
        })
    }

    pub(super) fn index(&mut self, args: &[IdedExpr], span: Range<usize>, depth: u16) -> Node {
        let container = self.compile(&args[0], depth + 1);
        let key = self.compile(&args[1], depth + 1);
        let ty = match (&container.ty, &key.ty) {
            (Type::Map, Type::String | Type::Dyn) => Type::Dyn,
            (Type::List(element), Type::Int | Type::Dyn) => element.as_ref().clone(),
            (Type::Dyn, _) => Type::Dyn,
            (c, k) => {
                let message = format!("cannot index {c} with {k}");
                return self.error(CompileError::new(message, span));
            }
        };
        let (c, k) = (container.code, key.code);
        Node {
            ty,
            code: Code::Dyn(Box::new(move |facts| {
                let container = c.eval(facts)?;
                let key = k.eval(facts)?;
                match container {
                    Value::Map(map) => map.get(key.as_str()?).map(Value::from_json),
                    Value::List(list) => match key {
                        Value::Int(i) => list.get(usize::try_from(i).ok()?),
                        _ => None,
                    },
                    _ => None,
                }
            })),
            span,
        }
    }

    pub(super) fn size(&mut self, operand: Node, span: Range<usize>) -> Node {
        if !matches!(
            operand.ty,
            Type::String | Type::List(_) | Type::Map | Type::Dyn
        ) {
            let ty = operand.ty.clone();
            return self.error(CompileError::new(format!("{ty} has no size"), span));
        }
        unary(operand, Type::Int, span, |v| {
            let n = match v {
                Value::Str(s) => s.chars().count(),
                Value::List(list) => list.len(),
                Value::Map(map) => map.len(),
                _ => return None,
            };
            i64::try_from(n).ok().map(Value::Int)
        })
    }
}
