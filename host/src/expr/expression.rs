//! The public compiled expression: compile once at load, evaluate per
//! complaint, and report what it read for traces.

use std::collections::BTreeMap;
use std::sync::Arc;

use cel::common::ast::IdedExpr;

use crate::expr::code::Code;
use crate::expr::compiler::Compiler;
use crate::expr::env::{Env, Facts, Reader};
use crate::expr::error::{CompileError, parse_errors};
use crate::expr::hints::{IndexHint, index_hints};
use crate::expr::rewrite::{inline_conditions, rewrite_bare_has};
use crate::expr::types::Type;
use crate::expr::value::Value;

/// Deepest nesting a condition may have; deeper ones are refused rather
/// than risking the stack.
pub(in crate::expr) const MAX_DEPTH: u16 = 64;
/// Longest condition accepted, in bytes.
pub(in crate::expr) const MAX_SOURCE_LEN: usize = 8 * 1024;

/// A compiled expression of a known type.
pub struct Expression {
    source: String,
    /// The source with every named condition it uses written out in
    /// parentheses, for the analyses that re-read conditions (the worst
    /// case); `None` when it uses none.
    analysis: Option<Arc<str>>,
    ty: Type,
    code: Code,
    pub(in crate::expr) reads: Vec<(Arc<str>, Reader)>,
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
/// call of [`PRESENCE_TEST`](crate::expr::PRESENCE_TEST) on the name.
pub fn syntax_tree(source: &str) -> Option<IdedExpr> {
    cel::parser::Parser::new()
        .max_recursion_depth(MAX_DEPTH)
        .parse(&rewrite_bare_has(source))
        .ok()
}

/// Longest string a trace shows in full; the event has the rest.
pub(in crate::expr) const TRACE_TEXT: usize = 120;

/// A string for a trace: long ones keep their start and say how long they
/// were, so a 1 KB complaint is not copied into every trace entry.
pub(in crate::expr) fn clip_for_trace(text: &str) -> String {
    if text.len() <= TRACE_TEXT {
        return text.to_string();
    }
    let mut end = TRACE_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} characters)", &text[..end], text.chars().count())
}
