//! Compiles a CEL condition once, at load time, into Rust closures over the
//! facts of a complaint. Names are resolved and types checked here, so a
//! typo or a type mismatch is a load error with a position, never a
//! surprise when an event arrives.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use cel::common::ast::{CallExpr, Expr, IdedExpr, LiteralValue, SourceInfo, operators as op};
use regex::Regex;

use crate::expr::env::{Env, Facts, Reader};
use crate::expr::named::NamedCondition;
use crate::expr::types::Type;
use crate::expr::value::{List, Value};
use crate::suggest::did_you_mean;

/// Deepest nesting a condition may have; deeper ones are refused rather
/// than risking the stack.
const MAX_DEPTH: u16 = 64;
/// Longest condition accepted, in bytes.
const MAX_SOURCE_LEN: usize = 8 * 1024;

type DynFn = Box<dyn for<'a> Fn(&Facts<'a>) -> Option<Value<'a>> + Send + Sync>;
/// A boolean sub-expression: no `Value` is built to answer it.
type PredFn = Box<dyn Fn(&Facts<'_>) -> Option<bool> + Send + Sync>;

/// Compiled code of one sub-expression.
enum Code {
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
    fn eval<'a>(&self, facts: &Facts<'a>) -> Option<Value<'a>> {
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
    fn test(&self, facts: &Facts<'_>) -> Option<bool> {
        match self {
            Code::Pred(p) => p(facts),
            Code::Const(Value::Bool(b)) => Some(*b),
            other => other.eval(facts)?.as_bool(),
        }
    }

    /// This code as a predicate closure.
    fn into_pred(self) -> PredFn {
        match self {
            Code::Pred(p) => p,
            Code::Const(Value::Bool(b)) => Box::new(move |_| Some(b)),
            other => Box::new(move |facts| other.eval(facts)?.as_bool()),
        }
    }

    fn never() -> Code {
        Code::Dyn(Box::new(|_| None))
    }

    fn as_const(&self) -> Option<&Value<'static>> {
        match self {
            Code::Const(value) => Some(value),
            _ => None,
        }
    }
}

/// A compiled sub-expression with its static type and source span.
struct Node {
    ty: Type,
    code: Code,
    span: Range<usize>,
}

/// A problem in a condition, with its byte span inside the condition text.
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError {
    pub message: String,
    pub span: Range<usize>,
    pub label: Option<String>,
    pub help: Option<String>,
}

impl CompileError {
    fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        CompileError {
            message: message.into(),
            span,
            label: None,
            help: None,
        }
    }

    fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    fn help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

/// An equality a rule requires of a string field (`category ==
/// "billing"`, `channel in ["phone", "fax"]`): rule sets index on these so
/// an event only meets the rules that can match it.
#[derive(Clone)]
pub struct IndexHint {
    pub path: String,
    pub values: Vec<String>,
    /// Reads the field's value from the facts.
    pub reader: Reader,
}

impl std::fmt::Debug for IndexHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexHint")
            .field("path", &self.path)
            .field("values", &self.values)
            .finish_non_exhaustive()
    }
}

/// A compiled expression of a known type.
pub struct Expression {
    source: String,
    /// The source with every named condition it uses written out in
    /// parentheses, for the analyses that re-read conditions (the worst
    /// case); `None` when it uses none.
    analysis: Option<Arc<str>>,
    ty: Type,
    code: Code,
    reads: Vec<(Arc<str>, Reader)>,
    hints: Vec<IndexHint>,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expression")
            .field("source", &self.source)
            .field("ty", &self.ty)
            .finish_non_exhaustive()
    }
}

/// What type the caller needs the expression to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Bool,
    Number,
    /// Any type: a value to read, such as a `group_by` key.
    Any,
}

impl Expression {
    /// Compiles `source` against `env`; every problem found is returned.
    pub fn compile(source: &str, env: &Env, expect: Expect) -> Result<Self, Vec<CompileError>> {
        if source.len() > MAX_SOURCE_LEN {
            return Err(vec![CompileError::new(
                format!("condition is longer than {MAX_SOURCE_LEN} bytes"),
                0..0,
            )]);
        }
        if source.trim().is_empty() {
            return Err(vec![
                CompileError::new("condition is empty", 0..source.len()).help(Some(
                    "write `true` for a rule that always applies, or leave the key out".into(),
                )),
            ]);
        }
        let rewritten = rewrite_bare_has(source);
        let (ast, info) = cel::parser::Parser::new()
            .max_recursion_depth(MAX_DEPTH)
            .parse_with_source_info(&rewritten)
            .map_err(|errors| parse_errors(source, errors))?;
        let mut compiler = Compiler {
            env,
            info: &info,
            source,
            errors: Vec::new(),
            reads: BTreeMap::new(),
            inlined: Vec::new(),
        };
        let node = compiler.compile(&ast, 0);
        let full = 0..source.len();
        match (expect, &node.ty) {
            (_, Type::Dyn) | (Expect::Any, _) => {}
            (Expect::Bool, Type::Bool) => {}
            (Expect::Number, t) if t.is_numeric() => {}
            (Expect::Bool, other) => compiler.errors.push(
                CompileError::new(
                    format!("a condition must be true or false, but this is {other}"),
                    full,
                )
                .label(format!("this is {other}"))
                .help(Some(
                    "compare it with something, e.g. `x == \"value\"` or `x >= 10`".into(),
                )),
            ),
            (Expect::Number, other) => compiler.errors.push(
                CompileError::new(format!("expected a number, but this is {other}"), full)
                    .label(format!("this is {other}")),
            ),
        }
        if !compiler.errors.is_empty() {
            return Err(compiler.errors);
        }
        let hints = if expect == Expect::Bool {
            index_hints(&ast, env)
        } else {
            Vec::new()
        };
        let analysis = inline_conditions(source, compiler.inlined);
        Ok(Expression {
            source: source.to_string(),
            analysis,
            ty: node.ty,
            code: node.code,
            reads: compiler
                .reads
                .into_iter()
                .map(|(path, reader)| (Arc::from(path), reader))
                .collect(),
            hints,
        })
    }

    /// The condition `true`.
    pub fn always_true() -> Self {
        Expression {
            source: "true".to_string(),
            analysis: None,
            ty: Type::Bool,
            code: Code::Const(Value::Bool(true)),
            reads: Vec::new(),
            hints: Vec::new(),
        }
    }

    /// A constant number.
    pub fn number(value: f64) -> Self {
        Expression {
            source: value.to_string(),
            analysis: None,
            ty: Type::Double,
            code: Code::Const(Value::Double(value)),
            reads: Vec::new(),
            hints: Vec::new(),
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The source with the named conditions it uses written out: what
    /// [`syntax_tree`] should read for an analysis of what it can match.
    pub fn analysis_source(&self) -> &str {
        self.analysis.as_deref().unwrap_or(&self.source)
    }

    pub fn ty(&self) -> &Type {
        &self.ty
    }

    /// True when the expression is the constant `true`.
    pub fn is_always_true(&self) -> bool {
        matches!(self.code, Code::Const(Value::Bool(true)))
    }

    /// The value for these facts, `None` when something it needs is unset
    /// or an operation failed (a type mismatch on `attrs`, division by
    /// zero): such a condition does not match.
    #[inline]
    pub fn evaluate<'a>(&self, facts: &Facts<'a>) -> Option<Value<'a>> {
        self.code.eval(facts)
    }

    /// Evaluates a condition: `Some(true)` matches.
    #[inline]
    pub fn test(&self, facts: &Facts<'_>) -> Option<bool> {
        self.code.test(facts)
    }

    /// Evaluates a numeric expression.
    pub fn number_value(&self, facts: &Facts<'_>) -> Option<f64> {
        self.code.eval(facts)?.as_f64()
    }

    /// The fields the expression reads and their values for these facts:
    /// what a trace shows as "the values it compared". Unset values are
    /// `null`.
    pub fn inputs(&self, facts: &Facts<'_>) -> BTreeMap<Arc<str>, serde_json::Value> {
        self.reads
            .iter()
            .map(|(path, reader)| {
                let value = match reader(facts) {
                    None => serde_json::Value::Null,
                    Some(Value::Str(text)) => serde_json::Value::String(clip_for_trace(&text)),
                    Some(value) => value.to_json(),
                };
                (path.clone(), value)
            })
            .collect()
    }

    /// The paths the expression reads.
    pub fn read_paths(&self) -> impl Iterator<Item = &str> {
        self.reads.iter().map(|(path, _)| &**path)
    }

    pub fn index_hints(&self) -> &[IndexHint] {
        &self.hints
    }
}

/// The syntax tree of a condition that compiled, for analyses that read
/// its structure (the worst-case bounds). A bare `has(name)` appears as a
/// call of [`PRESENCE_TEST`] on the name.
pub fn syntax_tree(source: &str) -> Option<IdedExpr> {
    cel::parser::Parser::new()
        .max_recursion_depth(MAX_DEPTH)
        .parse(&rewrite_bare_has(source))
        .ok()
}

/// Longest string a trace shows in full; the event has the rest.
const TRACE_TEXT: usize = 120;

/// A string for a trace: long ones keep their start and say how long they
/// were, so a 1 KB complaint is not copied into every trace entry.
fn clip_for_trace(text: &str) -> String {
    if text.len() <= TRACE_TEXT {
        return text.to_string();
    }
    let mut end = TRACE_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} characters)", &text[..end], text.chars().count())
}

fn parse_errors(source: &str, errors: cel::ParseErrors) -> Vec<CompileError> {
    errors
        .errors
        .into_iter()
        .map(|error| {
            let offset = line_column_to_offset(source, error.pos.0, error.pos.1);
            let message = error
                .msg
                .strip_prefix("Syntax error: ")
                .unwrap_or(&error.msg)
                .replace("<EOF>", "end of condition");
            CompileError::new(format!("syntax error: {message}"), offset..offset + 1).label("here")
        })
        .collect()
}

fn line_column_to_offset(source: &str, line: isize, column: isize) -> usize {
    let line = usize::try_from(line).unwrap_or(1).max(1);
    let column = usize::try_from(column).unwrap_or(1).max(1);
    let line_start: usize = source
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let line_text = &source[line_start.min(source.len())..];
    let within = line_text
        .char_indices()
        .nth(column - 1)
        .map_or(line_text.len(), |(i, _)| i);
    (line_start + within).min(source.len())
}

struct Compiler<'e> {
    env: &'e Env,
    info: &'e SourceInfo,
    source: &'e str,
    errors: Vec<CompileError>,
    reads: BTreeMap<String, Reader>,
    /// Uses of named conditions: where, and the text the analyses read
    /// in their place.
    inlined: Vec<(Range<usize>, Arc<str>)>,
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

    /// Byte span of the token that produced `expr`.
    fn token_span(&self, expr: &IdedExpr) -> Range<usize> {
        match self.info.offset_for(expr.id) {
            Some((start, stop)) => {
                let start = start as usize;
                let stop = (stop as usize + 1).max(start);
                start.min(self.source.len())..stop.min(self.source.len())
            }
            None => 0..self.source.len(),
        }
    }

    /// Byte span of the whole sub-expression.
    fn span(&self, expr: &IdedExpr) -> Range<usize> {
        let own = self.token_span(expr);
        let mut span = own.clone();
        fn widen_to(span: &mut Range<usize>, other: Range<usize>) {
            span.start = span.start.min(other.start);
            span.end = span.end.max(other.end);
        }
        macro_rules! widen {
            ($other:expr) => {{
                let other = $other;
                widen_to(&mut span, other)
            }};
        }
        match &expr.expr {
            Expr::Select(select) => {
                widen!(self.span(&select.operand));
                if !select.test {
                    widen!(own.start..own.start + 1 + select.field.len());
                } else {
                    // `has(a.b)`: the token is `(`; cover through `)`.
                    let end = self.span(&select.operand).end + 1 + select.field.len() + 1;
                    widen!(own.start.saturating_sub(3)..end);
                }
            }
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    widen!(self.span(target));
                }
                for arg in &call.args {
                    widen!(self.span(arg));
                }
                if call.target.is_some() || !call.func_name.starts_with(['_', '@', '!', '-']) {
                    // method or function call: include the closing paren.
                    if let Some(close) = self.source[span.end.min(self.source.len())..].find(')') {
                        widen!(span.end..span.end + close + 1);
                    }
                }
            }
            Expr::List(list) => {
                for element in &list.elements {
                    widen!(self.span(element));
                }
                if let Some(close) = self.source[span.end.min(self.source.len())..].find(']') {
                    widen!(span.end..span.end + close + 1);
                }
            }
            _ => {}
        }
        span.start.min(self.source.len())..span.end.min(self.source.len())
    }

    fn text(&self, span: &Range<usize>) -> &str {
        self.source.get(span.clone()).unwrap_or("")
    }

    fn compile(&mut self, expr: &IdedExpr, depth: u16) -> Node {
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
        let ty = expression.ty.clone();
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

    fn call(&mut self, call: &CallExpr, span: Range<usize>, depth: u16) -> Node {
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
    fn bare_presence_test(&mut self, arg: &IdedExpr, span: Range<usize>) -> Node {
        let Expr::Ident(name) = &arg.expr else {
            return self.error(CompileError::new("`has()` takes a field", span));
        };
        let field = self.path(&[name.as_str()], self.span(arg));
        presence_node(field.code, span)
    }

    fn unknown_function(&mut self, name: &str, arity: usize, span: Range<usize>) -> Node {
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

    fn expect_bool(&mut self, node: &Node, operator: &str) {
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

    fn conditional(&mut self, args: &[IdedExpr], span: Range<usize>, depth: u16) -> Node {
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

    fn equality(&mut self, equal: bool, args: &[IdedExpr], span: Range<usize>, depth: u16) -> Node {
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

    fn ordering(&mut self, name: &str, args: &[IdedExpr], span: Range<usize>, depth: u16) -> Node {
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

    fn arithmetic(
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

    fn membership(&mut self, args: &[IdedExpr], span: Range<usize>, depth: u16) -> Node {
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

    fn index(&mut self, args: &[IdedExpr], span: Range<usize>, depth: u16) -> Node {
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

    fn size(&mut self, operand: Node, span: Range<usize>) -> Node {
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

    fn const_string(
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

    fn duration_literal(&mut self, arg: &IdedExpr, span: Range<usize>, depth: u16) -> Node {
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

    fn timestamp_literal(&mut self, arg: &IdedExpr, span: Range<usize>, depth: u16) -> Node {
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

    fn conversion(&mut self, name: &str, operand: Node, span: Range<usize>) -> Node {
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

    fn min_max(&mut self, is_min: bool, args: &[IdedExpr], span: Range<usize>, depth: u16) -> Node {
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

    fn method(
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
    fn const_string_or_dynamic(
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

/// CEL's `has()` macro only accepts `has(a.b)`; operators also write
/// `has(category)`. Outside string literals, `has(ident)` is rewritten to
/// this same-length function name before parsing, so offsets stay exact.
pub const PRESENCE_TEST: &str = "hAs";

fn rewrite_bare_has(source: &str) -> Cow<'_, str> {
    let bytes = source.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if b == b'"' || b == b'\'' {
            quote = Some(b);
        } else if bytes[i..].starts_with(b"has(")
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b'.'))
        {
            let rest = &bytes[i + 4..];
            let inner_len = rest.iter().position(|&c| c == b')').unwrap_or(rest.len());
            let inner = rest[..inner_len].trim_ascii();
            let is_ident = !inner.is_empty()
                && (inner[0].is_ascii_alphabetic() || inner[0] == b'_')
                && inner
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_');
            if is_ident && inner_len < rest.len() {
                let buffer = out.get_or_insert_with(|| bytes.to_vec());
                buffer[i + 1] = b'A';
            }
        }
        i += 1;
    }
    match out.and_then(|b| String::from_utf8(b).ok()) {
        Some(text) => Cow::Owned(text),
        None => Cow::Borrowed(source),
    }
}

const METHODS: [&str; 8] = [
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "lowerAscii",
    "upperAscii",
    "trim",
    "size",
];

/// `source` with each span replaced by its text; `None` when there is none.
fn inline_conditions(source: &str, mut uses: Vec<(Range<usize>, Arc<str>)>) -> Option<Arc<str>> {
    if uses.is_empty() {
        return None;
    }
    uses.sort_by_key(|(span, _)| span.start);
    let mut out = String::with_capacity(source.len());
    let mut at = 0;
    for (span, text) in uses {
        if span.start < at || span.end > source.len() {
            continue;
        }
        out.push_str(&source[at..span.start]);
        out.push_str(&text);
        at = span.end;
    }
    out.push_str(&source[at..]);
    Some(Arc::from(out))
}

/// The regex crate's errors show the pattern with a caret, and end with the
/// line that says what is wrong: that line is the message.
fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or(text).trim()
}

fn regex_node(receiver: Node, regex: Regex, span: Range<usize>) -> Node {
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

/// When the other side is a double, an integer literal is read as a double,
/// so `lifetime_value * 2` works as operators expect.
fn promote_int_literal(node: &mut Node, other: &Type) {
    if *other == Type::Double
        && let Code::Const(Value::Int(i)) = node.code
    {
        node.code = Code::Const(Value::Double(i as f64));
        node.ty = Type::Double;
    }
}

fn arithmetic_type(name: &str, l: &Type, r: &Type) -> Result<Type, ()> {
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

fn add(a: &Value<'_>, b: &Value<'_>) -> Option<Value<'static>> {
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

fn subtract(a: &Value<'_>, b: &Value<'_>) -> Option<Value<'static>> {
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
fn quote_hint(l: &Type, r: &Type, rhs_text: &str) -> Option<String> {
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

fn unary<F>(operand: Node, ty: Type, span: Range<usize>, f: F) -> Node
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

fn binary<F>(lhs: Node, rhs: Node, ty: Type, span: Range<usize>, f: F) -> Node
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
fn logical(is_and: bool, lhs: Node, rhs: Node, span: Range<usize>) -> Node {
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
fn presence_node(code: Code, span: Range<usize>) -> Node {
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
fn compare_node<F>(lhs: Node, rhs: Node, span: Range<usize>, f: F) -> Node
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

/// Equalities required by the whole condition: conjuncts of the form
/// `field == "literal"`, `"literal" == field` or `field in ["a", "b"]` on a
/// string field of the event.
fn index_hints(ast: &IdedExpr, env: &Env) -> Vec<IndexHint> {
    let mut conjuncts = Vec::new();
    collect_conjuncts(ast, &mut conjuncts);
    let mut hints = Vec::new();
    for conjunct in conjuncts {
        let Expr::Call(call) = &conjunct.expr else {
            continue;
        };
        if call.target.is_some() || call.args.len() != 2 {
            continue;
        }
        let (field, values) = match call.func_name.as_str() {
            op::EQUALS => match (&call.args[0].expr, &call.args[1].expr) {
                (_, Expr::Literal(LiteralValue::String(s))) => {
                    (&call.args[0], vec![s.inner().to_string()])
                }
                (Expr::Literal(LiteralValue::String(s)), _) => {
                    (&call.args[1], vec![s.inner().to_string()])
                }
                _ => continue,
            },
            op::IN => match &call.args[1].expr {
                Expr::List(list) if !list.elements.is_empty() => {
                    let values: Option<Vec<String>> = list
                        .elements
                        .iter()
                        .map(|e| match &e.expr {
                            Expr::Literal(LiteralValue::String(s)) => Some(s.inner().to_string()),
                            _ => None,
                        })
                        .collect();
                    match values {
                        Some(values) => (&call.args[0], values),
                        None => continue,
                    }
                }
                _ => continue,
            },
            _ => continue,
        };
        let Some(segments) = qualified_name(field) else {
            continue;
        };
        let path = segments.join(".");
        if let Some(field) = env.field(&path).filter(|f| f.ty == Type::String) {
            hints.push(IndexHint {
                path,
                values,
                reader: field.reader.clone(),
            });
        }
    }
    hints
}

fn collect_conjuncts<'a>(expr: &'a IdedExpr, out: &mut Vec<&'a IdedExpr>) {
    match &expr.expr {
        Expr::Call(call) if call.func_name == op::LOGICAL_AND && call.args.len() == 2 => {
            collect_conjuncts(&call.args[0], out);
            collect_conjuncts(&call.args[1], out);
        }
        _ => out.push(expr),
    }
}
