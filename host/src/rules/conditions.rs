//! `[conditions]`: each name checked, the order found in which they use
//! each other (a cycle is an error), each compiled against the ones it
//! uses, and all made usable by name in every rule of the set.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::expr::{Expect, NamedCondition, names_used};
use crate::rules::compile::Checker;
use crate::rules::parse::Parsed;
use crate::rules::raw::RawCondition;

/// Words CEL keeps for itself: a condition named so could not be used.
const RESERVED: [&str; 21] = [
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Names of groups of fields, which a condition may not take either.
const GROUPS: [&str; 3] = ["attrs", "customer", "plugins"];

impl Checker<'_> {
    /// Compiles the rule set's named conditions into the checker's
    /// environment, so that the rules compiled after may use them.
    pub(super) fn conditions(&mut self, raws: &[Parsed<RawCondition>]) {
        let mut declared: BTreeMap<&str, &Parsed<RawCondition>> = BTreeMap::new();
        for parsed in raws {
            let name = parsed.raw.name.get().as_str();
            if let Some((problem, help)) = self.condition_name_problem(name) {
                self.error_at(parsed.file, parsed.raw.name.span(), &problem, Some(help));
                continue;
            }
            if let Some(first) = declared.get(name) {
                let first = self.location(first.file, first.raw.name.span());
                self.diagnostics.push(
                    Diagnostic::error(format!("condition `{name}` is named twice"))
                        .at(self.location(parsed.file, parsed.raw.name.span()))
                        .with_label("duplicate name")
                        .with_help(format!(
                            "named conditions are shared by every file; the first is at {}:{}:{}",
                            first.file.display(),
                            first.line,
                            first.column
                        )),
                );
                continue;
            }
            declared.insert(name, parsed);
        }
        let uses: BTreeMap<&str, Vec<String>> = declared
            .iter()
            .map(|(name, parsed)| {
                let used = names_used(parsed.raw.when.get())
                    .into_iter()
                    .filter(|used| declared.contains_key(used.as_str()))
                    .collect();
                (*name, used)
            })
            .collect();
        let order = UseOrder::of(&uses);
        for cycle in &order.cycles {
            let first = declared[cycle[0].as_str()];
            self.diagnostics.push(
                Diagnostic::error(format!(
                    "named conditions use each other in a cycle: {}",
                    cycle
                        .iter()
                        .chain(std::iter::once(&cycle[0]))
                        .map(|name| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(" -> ")
                ))
                .at(self.location(first.file, first.raw.name.span()))
                .with_label("uses itself through the others")
                .with_help("a condition cannot use itself, directly or through other conditions; write the shared part as a condition of its own"),
            );
        }
        self.in_conditions = true;
        for name in &order.names {
            let parsed = declared[name.as_str()];
            let condition = if order.in_cycle(name) {
                NamedCondition::Broken
            } else {
                match self.expression(
                    parsed.file,
                    &parsed.raw.when,
                    Expect::Bool,
                    &format!("condition `{name}`"),
                ) {
                    Some(expression) => NamedCondition::Compiled(Arc::new(expression)),
                    None => NamedCondition::Broken,
                }
            };
            let broken = matches!(condition, NamedCondition::Broken);
            self.env.to_mut().add_condition(name, condition);
            self.declared_conditions.push(DeclaredCondition {
                name: name.clone(),
                file: parsed.file,
                span: parsed.raw.name.span(),
                uses: uses[name.as_str()].clone(),
                broken,
            });
        }
        self.in_conditions = false;
    }

    /// Warns of each named condition no rule uses: a condition meant for a
    /// rule that never reads it is a rule that silently never narrows.
    pub(super) fn warn_unused_conditions(&mut self) {
        let declared = std::mem::take(&mut self.declared_conditions);
        // Used: named by a rule, or by a used condition.
        let mut used: BTreeSet<&str> = BTreeSet::new();
        let mut next: Vec<&str> = declared
            .iter()
            .filter(|c| self.names_in_rules.contains(&c.name))
            .map(|c| c.name.as_str())
            .collect();
        while let Some(name) = next.pop() {
            if used.insert(name)
                && let Some(condition) = declared.iter().find(|c| c.name == name)
            {
                next.extend(condition.uses.iter().map(String::as_str));
            }
        }
        for condition in &declared {
            let DeclaredCondition {
                name, file, span, ..
            } = condition;
            if !condition.broken && !used.contains(name.as_str()) {
                self.diagnostics.push(
                    Diagnostic::warning(format!("condition `{name}` is never used"))
                        .at(self.location(*file, span.clone()))
                        .with_label("no rule's `when` names it")
                        .with_help(format!(
                            "use it in a rule, e.g. `when = '{name} && ...'`, or remove it"
                        )),
                );
            }
        }
    }

    fn condition_name_problem(&self, name: &str) -> Option<(String, String)> {
        let mut chars = name.chars();
        let is_identifier = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_identifier {
            return Some((
                format!("condition name `{name}` cannot be used in a condition"),
                "a name is letters, digits and `_`, starting with a letter or `_`, e.g. `lost_property`".into(),
            ));
        }
        if RESERVED.contains(&name) {
            return Some((
                format!("condition name `{name}` is a word of the condition language"),
                format!("pick another name, e.g. `is_{name}`"),
            ));
        }
        if self.env.field(name).is_some() || self.env.is_group(name) || GROUPS.contains(&name) {
            return Some((
                format!("condition name `{name}` is already the name of a field"),
                format!(
                    "pick another name, e.g. `is_{name}`; `{name}` in a condition reads the field"
                ),
            ));
        }
        None
    }
}

/// A named condition as compiled, for the warning of one nothing uses.
pub(super) struct DeclaredCondition {
    pub(super) name: String,
    file: usize,
    span: std::ops::Range<usize>,
    /// The named conditions it uses.
    uses: Vec<String>,
    pub(super) broken: bool,
}

/// The order in which named conditions can be compiled (each after those
/// it uses), and the cycles that make it impossible for some.
struct UseOrder {
    names: Vec<String>,
    cycles: Vec<Vec<String>>,
}

impl UseOrder {
    fn of(uses: &BTreeMap<&str, Vec<String>>) -> Self {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        struct Walk<'u> {
            uses: &'u BTreeMap<&'u str, Vec<String>>,
            marks: BTreeMap<&'u str, Mark>,
            path: Vec<&'u str>,
            order: UseOrder,
        }
        impl<'u> Walk<'u> {
            fn visit(&mut self, name: &'u str) {
                match self.marks.get(name) {
                    Some(Mark::Done) => return,
                    Some(Mark::Open) => {
                        if let Some(at) = self.path.iter().position(|n| *n == name) {
                            self.order
                                .cycles
                                .push(self.path[at..].iter().map(|n| n.to_string()).collect());
                        }
                        return;
                    }
                    None => {}
                }
                self.marks.insert(name, Mark::Open);
                self.path.push(name);
                if let Some(used) = self.uses.get(name) {
                    for next in used {
                        if let Some((key, _)) = self.uses.get_key_value(next.as_str()) {
                            self.visit(key);
                        }
                    }
                }
                self.path.pop();
                self.marks.insert(name, Mark::Done);
                self.order.names.push(name.to_string());
            }
        }
        let mut walk = Walk {
            uses,
            marks: BTreeMap::new(),
            path: Vec::new(),
            order: UseOrder {
                names: Vec::new(),
                cycles: Vec::new(),
            },
        };
        for name in uses.keys() {
            walk.visit(name);
        }
        walk.order
    }

    fn in_cycle(&self, name: &str) -> bool {
        self.cycles.iter().flatten().any(|n| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_come_after_those_they_use_and_cycles_are_found() {
        let uses = BTreeMap::from([
            ("a", vec!["b".to_string()]),
            ("b", vec!["c".to_string()]),
            ("c", vec![]),
            ("x", vec!["y".to_string()]),
            ("y", vec!["x".to_string()]),
        ]);
        let order = UseOrder::of(&uses);
        assert_eq!(order.names, ["c", "b", "a", "y", "x"]);
        assert_eq!(order.cycles, [vec!["x".to_string(), "y".to_string()]]);
        assert!(order.in_cycle("y") && !order.in_cycle("a"));
    }
}
