//! Index hints: the equalities on string fields a condition requires, so a
//! rule set meets an event only with the rules that can match it.

use cel::common::ast::{Expr, IdedExpr, LiteralValue, operators as op};

use crate::expr::compiler::qualified_name;
use crate::expr::env::{Env, Reader};
use crate::expr::types::Type;

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

/// Equalities required by the whole condition: conjuncts of the form
/// `field == "literal"`, `"literal" == field` or `field in ["a", "b"]` on a
/// string field of the event.
pub(in crate::expr) fn index_hints(ast: &IdedExpr, env: &Env) -> Vec<IndexHint> {
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

pub(in crate::expr) fn collect_conjuncts<'a>(expr: &'a IdedExpr, out: &mut Vec<&'a IdedExpr>) {
    match &expr.expr {
        Expr::Call(call) if call.func_name == op::LOGICAL_AND && call.args.len() == 2 => {
            collect_conjuncts(&call.args[0], out);
            collect_conjuncts(&call.args[1], out);
        }
        _ => out.push(expr),
    }
}
