//! One decision under construction: the facts the rules read, the trace,
//! and what several stages add to (flags, escalations, people to notify).
//! `matching` evaluates one kind's rules through its index, first match or
//! every match as the kind says ([`RuleKind::first_match`]).

use std::collections::BTreeMap;

use crate::decision::{EscalationDecision, Name, TraceEntry, TraceLevel};
use crate::expr::Facts;
use crate::rule_kind::RuleKind;
use crate::rules::{Rule, RuleList};
use crate::time::Timestamp;

/// The rules of one kind that matched; most complaints match a handful,
/// which stay off the heap.
pub(super) type Matched<'k, K> = smallvec::SmallVec<[&'k Rule<K>; 8]>;

/// Evaluation state for one decision.
pub(super) struct Run<'r, 'a> {
    pub facts: &'r Facts<'a>,
    pub level: TraceLevel,
    /// When the complaint was received: what due times count from.
    pub received_at: Timestamp,
    /// The currency every amount of the decision is in.
    pub currency: Name,
    pub trace: Vec<TraceEntry>,
    /// Reused between kinds: the index's candidate positions.
    candidates: Vec<u32>,
    pub flags: Vec<Name>,
    /// Escalations with their level's position (higher is more senior).
    pub escalations: Vec<(usize, EscalationDecision)>,
    pub notify: Vec<Name>,
}

impl<'r, 'a> Run<'r, 'a> {
    pub fn new(
        facts: &'r Facts<'a>,
        level: TraceLevel,
        received_at: Timestamp,
        currency: Name,
    ) -> Self {
        Run {
            facts,
            level,
            received_at,
            currency,
            trace: Vec::new(),
            candidates: Vec::new(),
            flags: Vec::new(),
            escalations: Vec::new(),
            notify: Vec::new(),
        }
    }

    /// The matching rules of `kind`, in order: only the first for a
    /// first-match kind. Each evaluated rule leaves a trace entry, and a
    /// matching rule's flags are added.
    pub fn matching<'k, K>(&mut self, kind: RuleKind, list: &'k RuleList<K>) -> Matched<'k, K> {
        let first_only = kind.first_match();
        let mut candidates = std::mem::take(&mut self.candidates);
        list.index.candidates(self.facts, &mut candidates);
        let mut matched = Matched::new();
        let mut evaluated = 0;
        for &position in &candidates {
            let rule = &list.rules[position as usize];
            let outcome = rule.when.test(self.facts);
            evaluated += 1;
            let is_match = outcome == Some(true);
            if self.level != TraceLevel::None {
                self.trace.push(TraceEntry {
                    kind,
                    rule: rule.name.clone(),
                    matched: is_match,
                    inputs: rule.when.inputs(self.facts),
                    note: outcome.is_none().then(|| {
                        "undecided: a value the condition needs is not set, so the rule does not apply".to_string()
                    }),
                });
            }
            if is_match {
                self.flags.extend(rule.flags.iter().cloned());
                matched.push(rule);
                if first_only {
                    break;
                }
            }
        }
        if self.level == TraceLevel::Full {
            self.trace_unevaluated(
                kind,
                list,
                &candidates[..evaluated],
                &candidates[evaluated..],
            );
        }
        self.candidates = candidates;
        matched
    }

    /// Full traces also list the rules that were not evaluated, and why.
    fn trace_unevaluated<K>(
        &mut self,
        kind: RuleKind,
        list: &RuleList<K>,
        evaluated: &[u32],
        not_reached: &[u32],
    ) {
        let indexed = list.index.describe(self.facts).join(", ");
        for (position, rule) in list.rules.iter().enumerate() {
            let position = position as u32;
            if evaluated.contains(&position) {
                continue;
            }
            let note = if not_reached.contains(&position) {
                format!("not evaluated: an earlier {kind} rule matched first")
            } else {
                format!("ruled out by the index without evaluating: {indexed}")
            };
            self.trace.push(TraceEntry {
                kind,
                rule: rule.name.clone(),
                matched: false,
                inputs: BTreeMap::new(),
                note: Some(note),
            });
        }
    }

    /// Adds a note to the newest trace entry of `rule`.
    pub fn note_last(&mut self, rule: &str, note: String) {
        if self.level == TraceLevel::None {
            return;
        }
        if let Some(entry) = self.trace.iter_mut().rev().find(|e| &*e.rule == rule) {
            entry.note = Some(match entry.note.take() {
                Some(existing) => format!("{existing}; {note}"),
                None => note,
            });
        }
    }

    /// A note of the `kind` stage that belongs to no rule.
    pub fn note_unattributed(&mut self, kind: RuleKind, note: String) {
        if self.level == TraceLevel::None {
            return;
        }
        self.trace.push(TraceEntry {
            kind,
            rule: Name::from(""),
            matched: false,
            inputs: BTreeMap::new(),
            note: Some(note),
        });
    }
}
