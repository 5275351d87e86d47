//! What a new rule set no longer has that the serving one had: whole rule
//! files, and whole kinds of rules. Either can be meant, but either can also
//! be a save gone wrong, and it changes what every complaint gets; so a
//! reload that removes them says so at `warn`, in `/v1/ruleset`
//! (`last_reload.removed`) and in the metrics.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use crate::rules::{RuleKind, RuleSet};

/// Files and kinds a reload removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Removals {
    /// Rule files of the serving rule set that the new one does not have,
    /// with the rules each held.
    pub files: Vec<RemovedFile>,
    /// Kinds of rules (`compensate`, `authority`, ...) the serving rule set
    /// had and the new one has none of.
    pub kinds: Vec<RuleKind>,
}

/// A rule file that is gone.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RemovedFile {
    pub file: PathBuf,
    /// `kind name` of each rule it held.
    pub rules: Vec<String>,
}

impl Removals {
    /// What `new` removes from `serving`.
    pub fn between(serving: &RuleSet, new: &RuleSet) -> Self {
        let kept: BTreeSet<&PathBuf> = new.files.iter().collect();
        let rules = serving.rule_names_by_file();
        let files = serving
            .files
            .iter()
            .filter(|file| !kept.contains(file))
            .map(|file| RemovedFile {
                file: file.clone(),
                rules: rules.get(file).cloned().unwrap_or_default(),
            })
            .collect();
        let new_counts = new.rule_counts();
        let kinds = serving
            .rule_counts()
            .into_iter()
            .zip(new_counts)
            .filter(|((_, before), (_, after))| *before > 0 && *after == 0)
            .map(|((kind, _), _)| kind)
            .collect();
        Removals { files, kinds }
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.kinds.is_empty()
    }
}

impl std::fmt::Display for Removals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        for file in &self.files {
            parts.push(format!(
                "file {} ({} rules: {})",
                file.file.display(),
                file.rules.len(),
                file.rules.join(", ")
            ));
        }
        if !self.kinds.is_empty() {
            let kinds: Vec<&str> = self.kinds.iter().map(|kind| kind.name()).collect();
            parts.push(format!("every `{}` rule", kinds.join("`, `")));
        }
        write!(f, "{}", parts.join("; "))
    }
}
