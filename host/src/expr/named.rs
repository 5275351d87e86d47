//! Named conditions (`[conditions]` in a rule file): a condition written
//! once and used by name in other conditions. A use compiles to a call of
//! the named condition's compiled code, and reads as the name's value (and
//! the values the named condition read) in traces and explanations.

use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr};

use crate::expr::env::Env;
use crate::expr::{Expression, syntax_tree};

/// What a name in `[conditions]` stands for.
#[derive(Clone)]
pub enum NamedCondition {
    Compiled(Arc<Expression>),
    /// It did not compile (its errors are reported where it is declared):
    /// uses of it compile quietly to a condition that never matches, so
    /// one mistake is reported once.
    Broken,
}

impl Env {
    /// Makes `name` usable in conditions compiled with this environment.
    pub fn add_condition(&mut self, name: &str, condition: NamedCondition) {
        self.conditions.insert(name.to_string(), condition);
    }

    pub fn condition(&self, name: &str) -> Option<&NamedCondition> {
        self.conditions.get(name)
    }

    /// The names of the named conditions, for "did you mean" hints.
    pub fn condition_names(&self) -> impl Iterator<Item = &str> {
        self.conditions.keys().map(String::as_str)
    }
}

/// Every bare name `source` reads (`a` in `a && b.c`, and `b`), in order of
/// first appearance; empty when it does not parse (the compiler reports
/// that).
pub fn names_used(source: &str) -> Vec<String> {
    fn walk(expr: &IdedExpr, out: &mut Vec<String>) {
        match &expr.expr {
            Expr::Ident(name) if !out.contains(name) => out.push(name.clone()),
            Expr::Select(select) => walk(&select.operand, out),
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    walk(target, out);
                }
                for arg in &call.args {
                    walk(arg, out);
                }
            }
            Expr::List(list) => {
                for element in &list.elements {
                    walk(element, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(tree) = syntax_tree(source) {
        walk(&tree, &mut out);
    }
    out
}
