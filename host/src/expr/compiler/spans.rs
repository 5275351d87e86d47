//! Source positions: the byte span of a sub-expression, widened from the
//! parser's token offsets to cover the whole of it.

use std::ops::Range;

use cel::common::ast::{Expr, IdedExpr};

use super::Compiler;

impl Compiler<'_> {
    /// Byte span of the token that produced `expr`.
    pub(super) fn token_span(&self, expr: &IdedExpr) -> Range<usize> {
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
    pub(super) fn span(&self, expr: &IdedExpr) -> Range<usize> {
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

    pub(super) fn text(&self, span: &Range<usize>) -> &str {
        self.source.get(span.clone()).unwrap_or("")
    }
}
