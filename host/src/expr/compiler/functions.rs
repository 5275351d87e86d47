//! Functions and string methods: `duration`, `timestamp`, conversions,
//! `min`/`max`, and `contains`, `matches` and the rest.

use std::borrow::Cow;
use std::ops::Range;

use cel::common::ast::IdedExpr;

use super::Compiler;
use crate::expr::code::{Code, Node, regex_node, unary};
use crate::expr::error::CompileError;
use crate::expr::types::Type;
use crate::expr::value::Value;
use crate::suggest::did_you_mean;

impl Compiler<'_> {
    pub(super) fn const_string(
        &mut self,
        arg: &IdedExpr,
        depth: u16,
        what: &str,
    ) -> Option<(String, Range<usize>)> {
        let node = self.compile(arg, depth + 1);
        match node.code.as_const() {
            Some(Value::Str(s)) => Some((s.to_string(), node.span)),
            _ => {
                self.errors.push(
                    CompileError::new(format!("{what} must be a string literal"), node.span)
                        .label("not a literal"),
                );
                None
            }
        }
    }

    pub(super) fn duration_literal(
        &mut self,
        arg: &IdedExpr,
        span: Range<usize>,
        depth: u16,
    ) -> Node {
        let Some((text, text_span)) = self.const_string(arg, depth, "the argument of `duration()`")
        else {
            return self.error(CompileError::new("invalid duration", span));
        };
        match text.parse::<crate::time::Duration>() {
            Ok(duration) => Node {
                ty: Type::Duration,
                code: Code::Const(Value::Duration(duration)),
                span,
            },
            Err(error) => {
                self.error(CompileError::new(error.to_string(), text_span).label("bad duration"))
            }
        }
    }

    pub(super) fn timestamp_literal(
        &mut self,
        arg: &IdedExpr,
        span: Range<usize>,
        depth: u16,
    ) -> Node {
        let Some((text, text_span)) =
            self.const_string(arg, depth, "the argument of `timestamp()`")
        else {
            return self.error(CompileError::new("invalid timestamp", span));
        };
        match text.parse::<crate::time::Timestamp>() {
            Ok(ts) => Node {
                ty: Type::Timestamp,
                code: Code::Const(Value::Timestamp(ts)),
                span,
            },
            Err(error) => {
                self.error(CompileError::new(error.to_string(), text_span).label("bad timestamp"))
            }
        }
    }

    pub(super) fn conversion(&mut self, name: &str, operand: Node, span: Range<usize>) -> Node {
        let from = operand.ty.clone();
        let ok = match name {
            "int" => matches!(from, Type::Int | Type::Double | Type::String | Type::Dyn),
            "double" => matches!(from, Type::Int | Type::Double | Type::String | Type::Dyn),
            _ => !matches!(from, Type::List(_) | Type::Map),
        };
        if !ok {
            return self.error(CompileError::new(
                format!("cannot convert {from} with `{name}()`"),
                span,
            ));
        }
        match name {
            "int" => unary(operand, Type::Int, span, |v| match v {
                Value::Int(i) => Some(Value::Int(i)),
                Value::Double(d) if d.is_finite() && d.abs() < 9.2e18 => {
                    Some(Value::Int(d.trunc() as i64))
                }
                Value::Str(s) => s.trim().parse().ok().map(Value::Int),
                _ => None,
            }),
            "double" => unary(operand, Type::Double, span, |v| match v {
                Value::Str(s) => s.trim().parse().ok().map(Value::Double),
                other => other.as_f64().map(Value::Double),
            }),
            _ => unary(operand, Type::String, span, |v| {
                Some(Value::Str(Cow::Owned(match v {
                    Value::Str(s) => s.into_owned(),
                    Value::Null => "null".to_string(),
                    other => match other.to_json() {
                        serde_json::Value::String(s) => s,
                        json => json.to_string(),
                    },
                })))
            }),
        }
    }

    pub(super) fn min_max(
        &mut self,
        is_min: bool,
        args: &[IdedExpr],
        span: Range<usize>,
        depth: u16,
    ) -> Node {
        let nodes: Vec<Node> = args.iter().map(|a| self.compile(a, depth + 1)).collect();
        let mut ty: Option<Type> = None;
        for node in &nodes {
            ty = Some(match (ty, &node.ty) {
                (None, t) => t.clone(),
                (Some(a), b) if &a == b => a,
                (Some(a), b) if a.is_numeric() && b.is_numeric() => Type::Double,
                (Some(Type::Dyn), _) | (Some(_), Type::Dyn) => Type::Dyn,
                (Some(a), b) => {
                    let message =
                        format!("`{}` mixes {a} and {b}", if is_min { "min" } else { "max" });
                    return self.error(CompileError::new(message, span));
                }
            });
        }
        let ty = ty.unwrap_or(Type::Dyn);
        if !(ty.is_numeric() || matches!(ty, Type::Duration | Type::Timestamp | Type::Dyn)) {
            return self.error(CompileError::new(
                format!("`min`/`max` need numbers, durations or timestamps, not {ty}"),
                span,
            ));
        }
        let codes: Vec<Code> = nodes.into_iter().map(|n| n.code).collect();
        let widen = ty == Type::Double;
        Node {
            ty,
            code: Code::Dyn(Box::new(move |facts| {
                let mut best: Option<Value<'_>> = None;
                for code in &codes {
                    let value = code.eval(facts)?;
                    best = Some(match best {
                        None => value,
                        Some(current) => {
                            let ordering = value.compare(&current)?;
                            let better = if is_min {
                                ordering.is_lt()
                            } else {
                                ordering.is_gt()
                            };
                            if better { value } else { current }
                        }
                    });
                }
                match best {
                    Some(Value::Int(i)) if widen => Some(Value::Double(i as f64)),
                    other => other,
                }
            })),
            span,
        }
    }

    pub(super) fn method(
        &mut self,
        name: &str,
        target: &IdedExpr,
        args: &[IdedExpr],
        span: Range<usize>,
        depth: u16,
    ) -> Node {
        let receiver = self.compile(target, depth + 1);
        let receiver_ty = receiver.ty.clone();
        let string_receiver = matches!(receiver_ty, Type::String | Type::Dyn);
        match (name, args.len()) {
            ("contains" | "startsWith" | "endsWith", 1) if string_receiver => {
                let Some((needle, _)) = self.const_string_or_dynamic(&args[0], depth) else {
                    return self.error(CompileError::new(format!("`{name}` needs a string"), span));
                };
                let code = receiver.code;
                let kind = name.to_string();
                let test: fn(&str, &str) -> bool = match kind.as_str() {
                    "contains" => |h, n| h.contains(n),
                    "startsWith" => |h, n| h.starts_with(n),
                    _ => |h, n| h.ends_with(n),
                };
                Node {
                    ty: Type::Bool,
                    code: Code::Pred(Box::new(move |facts| {
                        let haystack = code.eval(facts)?;
                        let haystack = haystack.as_str()?;
                        let needle_value;
                        let needle: &str = match &needle {
                            Code::Const(Value::Str(s)) => s,
                            other => {
                                needle_value = other.eval(facts)?;
                                needle_value.as_str()?
                            }
                        };
                        Some(test(haystack, needle))
                    })),
                    span,
                }
            }
            ("matches", 1) if string_receiver => {
                let Some((pattern, pattern_span)) =
                    self.const_string(&args[0], depth, "the pattern of `matches()`")
                else {
                    return self
                        .error(CompileError::new("`matches` needs a literal pattern", span));
                };
                let regex = match regex::RegexBuilder::new(&pattern)
                    .size_limit(1 << 20)
                    .build()
                {
                    Ok(regex) => regex,
                    Err(error) => {
                        let message = format!(
                            "invalid regular expression: {}",
                            last_line(&error.to_string())
                        );
                        return self
                            .error(CompileError::new(message, pattern_span).label("bad pattern"));
                    }
                };
                regex_node(receiver, regex, span)
            }
            ("lowerAscii" | "upperAscii" | "trim", 0) if string_receiver => {
                let lower = name == "lowerAscii";
                let trim = name == "trim";
                unary(receiver, Type::String, span, move |v| {
                    let s = v.as_str()?;
                    Some(Value::Str(Cow::Owned(if trim {
                        s.trim().to_string()
                    } else if lower {
                        s.to_ascii_lowercase()
                    } else {
                        s.to_ascii_uppercase()
                    })))
                })
            }
            ("size", 0) => self.size(receiver, span),
            _ => {
                let known = METHODS.contains(&name);
                let message = if known {
                    format!(
                        "`{name}()` is not defined on {receiver_ty} with {} argument(s)",
                        args.len()
                    )
                } else {
                    format!("unknown method `{name}`")
                };
                let help = if known {
                    None
                } else {
                    did_you_mean(name, METHODS.iter().copied())
                        .or_else(|| Some(format!("string methods: {}", METHODS.join(", "))))
                };
                self.error(CompileError::new(message, span).label("here").help(help))
            }
        }
    }

    /// A string argument, constant or computed.
    pub(super) fn const_string_or_dynamic(
        &mut self,
        arg: &IdedExpr,
        depth: u16,
    ) -> Option<(Code, Range<usize>)> {
        let node = self.compile(arg, depth + 1);
        if !matches!(node.ty, Type::String | Type::Dyn) {
            let ty = node.ty.clone();
            self.errors.push(CompileError::new(
                format!("expected a string, but this is {ty}"),
                node.span,
            ));
            return None;
        }
        Some((node.code, node.span))
    }
}

/// The string methods a condition may call, for the did-you-mean hints.
pub(super) const METHODS: [&str; 8] = [
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "lowerAscii",
    "upperAscii",
    "trim",
    "size",
];

/// The regex crate's errors show the pattern with a caret, and end with the
/// line that says what is wrong: that line is the message.
pub(super) fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or(text).trim()
}
