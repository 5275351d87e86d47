//! A snapshot: one compiled rule set with the plugins it was checked
//! against. Everything a decision needs, immutable; the daemon swaps whole
//! snapshots on reload, and in-flight events finish on the one they
//! started with.

use std::path::{Path, PathBuf};

use crate::decision::{Decision, TraceLevel};
use crate::diagnostic::{Diagnostic, SourceMap};
use crate::engine::{Enrichment, StateView, decide};
use crate::event::ComplaintEvent;
use crate::expr::Env;
use crate::rules::{RuleFileText, RuleSet, load_files, read_rule_files};

/// Where a snapshot's parts come from.
#[derive(Debug, Clone)]
pub struct Sources {
    pub rules_dir: PathBuf,
}

/// Rules (and plugins) ready to decide.
#[derive(Debug)]
pub struct Snapshot {
    pub ruleset: RuleSet,
    /// The snapshot's version: the rule set's.
    pub version: crate::decision::Name,
}

/// What building a snapshot produced.
#[derive(Debug)]
pub struct SnapshotOutcome {
    pub snapshot: Option<Snapshot>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
}

impl Snapshot {
    /// Loads the rules of `sources.rules_dir`.
    pub fn load(sources: &Sources) -> SnapshotOutcome {
        match read_rule_files(&sources.rules_dir) {
            Ok(files) => Snapshot::from_rule_files(files),
            Err(diagnostic) => SnapshotOutcome {
                snapshot: None,
                diagnostics: vec![*diagnostic],
                sources: SourceMap::default(),
            },
        }
    }

    /// Builds a snapshot from rule file texts.
    pub fn from_rule_files(files: Vec<RuleFileText>) -> SnapshotOutcome {
        let env = Env::standard();
        let outcome = load_files(files, &env);
        let snapshot = outcome.ruleset.map(|ruleset| Snapshot {
            version: ruleset.version.clone(),
            ruleset,
        });
        SnapshotOutcome {
            snapshot,
            diagnostics: outcome.diagnostics,
            sources: outcome.sources,
        }
    }

    /// Decides one complaint with no plugin enrichment.
    pub fn decide(
        &self,
        event: &ComplaintEvent,
        state: &dyn StateView,
        trace: TraceLevel,
    ) -> Decision {
        decide(&self.ruleset, event, &Enrichment::none(), state, trace)
    }

    pub fn rules_dir_name(dir: &Path) -> String {
        dir.display().to_string()
    }
}
