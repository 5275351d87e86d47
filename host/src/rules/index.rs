//! An index over rule conditions that require a string field to equal a
//! literal (`category == "billing"`). For an event, only the rules whose
//! indexed value matches (plus the rules with no such equality) are
//! evaluated, so cost grows with the rules that can match, not with the
//! size of the rule set.

use std::collections::HashMap;

use crate::expr::{Expression, Facts, Reader};

/// One indexed field: its reader and, per value, the rules requiring it.
struct FieldIndex {
    path: String,
    reader: Reader,
    by_value: HashMap<String, Vec<u32>>,
}

/// Candidate selection for one kind of rules.
#[derive(Default)]
pub struct RuleIndex {
    /// Rules the index cannot rule out, in order.
    unindexed: Vec<u32>,
    fields: Vec<FieldIndex>,
    total: usize,
}

impl std::fmt::Debug for RuleIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleIndex")
            .field("unindexed", &self.unindexed.len())
            .field(
                "fields",
                &self.fields.iter().map(|f| &f.path).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Below this many rules, evaluating all of them is as cheap as looking up.
const MIN_RULES_TO_INDEX: usize = 8;

impl RuleIndex {
    /// Indexes each rule on the most shared of its equality hints.
    pub fn build<'a>(conditions: impl Iterator<Item = &'a Expression>) -> Self {
        let conditions: Vec<&Expression> = conditions.collect();
        let total = conditions.len();
        if total < MIN_RULES_TO_INDEX {
            return RuleIndex {
                unindexed: (0..total as u32).collect(),
                fields: Vec::new(),
                total,
            };
        }
        let mut popularity: HashMap<&str, usize> = HashMap::new();
        for condition in &conditions {
            for hint in condition.index_hints() {
                *popularity.entry(hint.path.as_str()).or_default() += 1;
            }
        }
        let mut index = RuleIndex {
            total,
            ..RuleIndex::default()
        };
        for (position, condition) in conditions.iter().enumerate() {
            let position = position as u32;
            let best = condition.index_hints().iter().max_by_key(|hint| {
                (
                    popularity[hint.path.as_str()],
                    std::cmp::Reverse(hint.path.clone()),
                )
            });
            let Some(hint) = best else {
                index.unindexed.push(position);
                continue;
            };
            let field = match index.fields.iter_mut().position(|f| f.path == hint.path) {
                Some(i) => &mut index.fields[i],
                None => {
                    index.fields.push(FieldIndex {
                        path: hint.path.clone(),
                        reader: hint.reader.clone(),
                        by_value: HashMap::new(),
                    });
                    let last = index.fields.len() - 1;
                    &mut index.fields[last]
                }
            };
            for value in &hint.values {
                let rules = field.by_value.entry(value.clone()).or_default();
                if rules.last() != Some(&position) {
                    rules.push(position);
                }
            }
        }
        index
    }

    /// Positions of the rules that may match these facts, in rule order.
    pub fn candidates(&self, facts: &Facts<'_>, out: &mut Vec<u32>) {
        out.clear();
        if self.fields.is_empty() {
            out.extend_from_slice(&self.unindexed);
            return;
        }
        out.extend_from_slice(&self.unindexed);
        for field in &self.fields {
            let value = (field.reader)(facts);
            if let Some(rules) = value
                .as_ref()
                .and_then(|v| v.as_str())
                .and_then(|v| field.by_value.get(v))
            {
                out.extend_from_slice(rules);
            }
        }
        out.sort_unstable();
    }

    /// Whether some rules are selected by the index rather than always
    /// evaluated.
    pub fn is_indexed(&self) -> bool {
        !self.fields.is_empty()
    }

    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The indexed fields and their values for these facts, for
    /// explanations: `category is "billing"`.
    pub fn describe(&self, facts: &Facts<'_>) -> Vec<String> {
        self.fields
            .iter()
            .map(|field| {
                let value = (field.reader)(facts)
                    .map_or_else(|| "not set".to_string(), |v| v.to_json().to_string());
                format!("{} is {value}", field.path)
            })
            .collect()
    }
}
