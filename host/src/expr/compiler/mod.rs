//! Compiles a CEL syntax tree into typed [`Node`]s. Names are resolved and
//! types checked here, so a typo or a type mismatch is a load error with a
//! position, never a surprise when an event arrives. Operators and
//! functions live in their own rooms; spans in `spans.rs`.

mod functions;
mod operators;
mod spans;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr, LiteralValue, SourceInfo};

use crate::expr::code::{Code, Node, presence_node};
use crate::expr::env::{Env, Facts, Reader};
use crate::expr::error::CompileError;
use crate::expr::expression::MAX_DEPTH;
use crate::expr::named::NamedCondition;
use crate::expr::types::Type;
use crate::expr::value::{List, Value};
use crate::suggest::did_you_mean;

pub(super) struct Compiler<'e> {
    pub(super) env: &'e Env,
    pub(super) info: &'e SourceInfo,
    pub(super) source: &'e str,
    pub(super) errors: Vec<CompileError>,
    pub(super) reads: BTreeMap<String, Reader>,
    /// Uses of named conditions: where, and the text the analyses read
    /// in their place.
    pub(super) inlined: Vec<(Range<usize>, Arc<str>)>,
}

impl Compiler<'_> {
    fn error(&mut self, error: CompileError) -> Node {
        let span = error.span.clone();
        self.errors.push(error);
        Node {
            ty: Type::Dyn,
            code: Code::never(),
            span,
        }
    }

    pub(super) fn compile(&mut self, expr: &IdedExpr, depth: u16) -> Node {
        let span = self.span(expr);
        if depth > MAX_DEPTH {
            return self.error(CompileError::new("condition is nested too deeply", span));
        }
        match &expr.expr {
            Expr::Literal(literal) => self.literal(literal, span),
            Expr::Select(select) if select.test => match qualified_name(&select.operand) {
                Some(mut segments) => {
                    segments.push(select.field.as_str());
                    self.presence(&segments, span)
                }
                None => self.select(expr, depth),
            },
            Expr::Ident(_) | Expr::Select(_) => match qualified_name(expr) {
                Some(segments) => self.path(&segments, span),
                None => self.select(expr, depth),
            },
            Expr::Call(call) => self.call(call, span, depth),
            Expr::List(list) => self.list(&list.elements, span, depth),
            Expr::Map(_) => self.error(
                CompileError::new("map literals are not supported in conditions", span)
                    .help(Some("read maps from `attrs` instead".into())),
            ),
            Expr::Struct(_) => self.error(CompileError::new(
                "message literals are not supported in conditions",
                span,
            )),
            Expr::Comprehension(_) => self.error(
                CompileError::new(
                    "macros over lists (`all`, `exists`, `map`, `filter`) are not supported",
                    span,
                )
                .help(Some("test membership with `x in list`".into())),
            ),
            Expr::Unspecified => self.error(CompileError::new("incomplete expression", span)),
        }
    }

    fn literal(&mut self, literal: &LiteralValue, span: Range<usize>) -> Node {
        let value = match literal {
            LiteralValue::Boolean(b) => Value::Bool(*b.inner()),
            LiteralValue::Int(i) => Value::Int(*i.inner()),
            LiteralValue::UInt(u) => match i64::try_from(*u.inner()) {
                Ok(i) => Value::Int(i),
                Err(_) => {
                    return self.error(CompileError::new("number is too large", span));
                }
            },
            LiteralValue::Double(d) => Value::Double(*d.inner()),
            LiteralValue::String(s) => Value::Str(Cow::Owned(s.inner().to_string())),
            LiteralValue::Null => Value::Null,
            LiteralValue::Bytes(_) => {
                return self.error(CompileError::new(
                    "byte literals are not supported in conditions",
                    span,
                ));
            }
        };
        let ty = match &value {
            Value::Bool(_) => Type::Bool,
            Value::Int(_) => Type::Int,
            Value::Double(_) => Type::Double,
            Value::Str(_) => Type::String,
            _ => Type::Null,
        };
        Node {
            ty,
            code: Code::Const(value),
            span,
        }
    }

    /// A dotted name: an event field, an `attrs` entry, a plugin output
    /// or a named condition.
    fn path(&mut self, segments: &[&str], span: Range<usize>) -> Node {
        let path = segments.join(".");
        if let [name] = segments
            && let Some(condition) = self.env.condition(name)
        {
            return self.named_condition(name, condition.clone(), span);
        }
        if let Some(field) = self.env.field(&path) {
            self.reads.insert(path, field.reader.clone());
            let code = if field.optional {
                Code::ReadOptional(field.reader.clone())
            } else {
                Code::Read(field.reader.clone())
            };
            return Node {
                ty: field.ty.clone(),
                code,
                span,
            };
        }
        if segments.len() >= 2 && segments[0] == "attrs" {
            let keys: Vec<String> = segments[1..].iter().map(|s| s.to_string()).collect();
            let reader: Reader = Arc::new(move |facts: &Facts<'_>| {
                let mut value = facts.event.attrs.get(keys.first()?)?;
                for key in &keys[1..] {
                    value = value.as_object()?.get(key)?;
                }
                Some(Value::from_json(value))
            });
            self.reads.insert(path, reader.clone());
            return Node {
                ty: Type::Dyn,
                code: Code::ReadOptional(reader),
                span,
            };
        }
        let error = self.unknown_path(segments, &path, span);
        self.error(error)
    }

    /// A use of a named condition: its compiled code, read under its name
    /// (with what it reads) so traces show its value.
    fn named_condition(
        &mut self,
        name: &str,
        condition: NamedCondition,
        span: Range<usize>,
    ) -> Node {
        let NamedCondition::Compiled(expression) = condition else {
            return Node {
                ty: Type::Dyn,
                code: Code::never(),
                span,
            };
        };
        for (path, reader) in &expression.reads {
            self.reads.insert(path.to_string(), reader.clone());
        }
        let reader_of = Arc::clone(&expression);
        let reader: Reader = Arc::new(move |facts: &Facts<'_>| reader_of.evaluate(facts));
        self.reads.insert(name.to_string(), reader);
        self.inlined.push((
            span.clone(),
            Arc::from(format!("({})", expression.analysis_source())),
        ));
        let ty = expression.ty().clone();
        Node {
            ty,
            code: Code::Pred(Box::new(move |facts| expression.test(facts))),
            span,
        }
    }

    fn unknown_path(&self, segments: &[&str], path: &str, span: Range<usize>) -> CompileError {
        if segments[0] == "plugins" && segments.len() >= 2 {
            let plugin = segments[1];
            if let Some(reason) = self.env.refused_plugin(plugin) {
                return CompileError::new(
                    format!("plugin `{plugin}` was refused at load, so its outputs cannot be read"),
                    span,
                )
                .label("refused plugin")
                .help(Some(format!(
                    "fix the plugin (its own error is reported above: {reason})"
                )));
            }
            if !self.env.has_plugin(plugin) {
                let loaded: Vec<&str> = self.env.plugin_names().collect();
                let help = did_you_mean(plugin, loaded.iter().copied()).or_else(|| {
                    Some(if loaded.is_empty() {
                        "no plugins are loaded; plugin outputs need the plugin's manifest in the plugins directory".to_string()
                    } else {
                        format!("loaded plugins: {}", loaded.join(", "))
                    })
                });
                return CompileError::new(format!("no plugin named `{plugin}` is loaded"), span)
                    .label("unknown plugin")
                    .help(help);
            }
            if segments.len() == 2 {
                return self.group_error(path, span);
            }
            let prefix = format!("plugins.{plugin}.");
            let outputs: Vec<&str> = self
                .env
                .paths()
                .filter_map(|p| p.strip_prefix(&prefix))
                .collect();
            let key = segments[2..].join(".");
            let help = did_you_mean(&key, outputs.iter().copied())
                .or_else(|| Some(format!("`{plugin}` declares: {}", outputs.join(", "))));
            return CompileError::new(
                format!("plugin `{plugin}` declares no output `{key}`"),
                span,
            )
            .label("unknown output")
            .help(help);
        }
        if self.env.is_group(path) {
            return self.group_error(path, span);
        }
        let help =
            did_you_mean(path, self.env.paths().chain(self.env.condition_names())).or_else(|| {
                (segments.len() == 1).then(|| {
                    "site-specific values live in `attrs`, e.g. `attrs.store_size`".to_string()
                })
            });
        CompileError::new(format!("unknown field `{path}`"), span)
            .label("unknown field")
            .help(help)
    }

    fn group_error(&self, path: &str, span: Range<usize>) -> CompileError {
        let prefix = format!("{path}.");
        let members: Vec<&str> = self
            .env
            .paths()
            .filter(|p| p.starts_with(&prefix))
            .collect();
        CompileError::new(format!("`{path}` is a group of fields, not a value"), span)
            .label("pick one of its fields")
            .help(Some(format!("fields: {}", members.join(", "))))
    }

    /// `has(a.b)` on a name: whether the field (or `attrs` entry, or plugin
    /// output) is set for this complaint.
    fn presence(&mut self, segments: &[&str], span: Range<usize>) -> Node {
        let field = self.path(segments, span.clone());
        presence_node(field.code, span)
    }

    /// `expr.field` on something that is not a plain name: a map lookup.
    fn select(&mut self, expr: &IdedExpr, depth: u16) -> Node {
        let span = self.span(expr);
        let Expr::Select(select) = &expr.expr else {
            return self.error(CompileError::new("unexpected expression", span));
        };
        let operand = self.compile(&select.operand, depth + 1);
        if !matches!(operand.ty, Type::Map | Type::Dyn) {
            let ty = operand.ty.clone();
            return self.error(
                CompileError::new(format!("{ty} has no field `{}`", select.field), span)
                    .label("no such field"),
            );
        }
        let field = select.field.clone();
        let code = operand.code;
        if select.test {
            return Node {
                ty: Type::Bool,
                code: Code::Dyn(Box::new(move |facts| {
                    Some(Value::Bool(match code.eval(facts)? {
                        Value::Map(map) => map.get(&field).is_some(),
                        _ => return None,
                    }))
                })),
                span,
            };
        }
        Node {
            ty: Type::Dyn,
            code: Code::Dyn(Box::new(move |facts| match code.eval(facts)? {
                Value::Map(map) => map.get(&field).map(Value::from_json),
                _ => None,
            })),
            span,
        }
    }

    fn list(&mut self, elements: &[IdedExpr], span: Range<usize>, depth: u16) -> Node {
        let nodes: Vec<Node> = elements
            .iter()
            .map(|e| self.compile(e, depth + 1))
            .collect();
        let mut element_type: Option<Type> = None;
        for node in &nodes {
            element_type = match (element_type, &node.ty) {
                (None, t) => Some(t.clone()),
                (Some(a), b) if &a == b => Some(a),
                (Some(a), b) if a.is_numeric() && b.is_numeric() => Some(Type::Double),
                (Some(_), Type::Dyn) | (Some(Type::Dyn), _) => Some(Type::Dyn),
                (Some(a), b) => {
                    let b = b.clone();
                    return self.error(CompileError::new(
                        format!("list mixes {a} and {b} elements"),
                        node.span.clone(),
                    ));
                }
            };
        }
        let ty = Type::List(Box::new(element_type.unwrap_or(Type::Dyn)));
        if nodes.iter().all(|n| n.code.as_const().is_some()) {
            let values = nodes
                .into_iter()
                .filter_map(|n| match n.code {
                    Code::Const(v) => Some(v),
                    _ => None,
                })
                .collect();
            return Node {
                ty,
                code: Code::Const(Value::List(List::Owned(values))),
                span,
            };
        }
        let codes: Vec<Code> = nodes.into_iter().map(|n| n.code).collect();
        Node {
            ty,
            code: Code::Dyn(Box::new(move |facts| {
                let values = codes
                    .iter()
                    .map(|c| c.eval(facts))
                    .collect::<Option<Vec<_>>>()?;
                Some(Value::List(List::Owned(values)))
            })),
            span,
        }
    }
}

/// `a.b.c` as `["a", "b", "c"]` when the expression is a plain name.
pub fn qualified_name(expr: &IdedExpr) -> Option<Vec<&str>> {
    let mut segments = Vec::new();
    let mut current = expr;
    loop {
        match &current.expr {
            Expr::Ident(name) => {
                segments.push(name.as_str());
                segments.reverse();
                return Some(segments);
            }
            Expr::Select(select) if !select.test => {
                segments.push(select.field.as_str());
                current = &select.operand;
            }
            _ => return None,
        }
    }
}
