//! A snapshot: one compiled rule set with the plugins it was checked
//! against. Everything a decision needs, immutable; the daemon swaps whole
//! snapshots on reload, and in-flight events finish on the one they
//! started with.

use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::bounds::{WorstCase, analyze, check_limits};
use crate::decision::Name;
use crate::diagnostic::{Diagnostic, SourceMap};
use crate::plugin::{PluginRuntime, PluginSet, load_plugins};
use crate::rules::{RuleFileText, RuleSet, load_files, read_rule_files};

/// Where a snapshot's parts come from.
#[derive(Debug, Clone)]
pub struct Sources {
    pub rules_dir: PathBuf,
    /// `None`: no plugins.
    pub plugins_dir: Option<PathBuf>,
}

/// Rules and plugins ready to decide.
#[derive(Debug)]
pub struct Snapshot {
    pub ruleset: RuleSet,
    pub plugins: PluginSet,
    /// Hash of the rule set's version and every plugin's digest and
    /// manifest: changes whenever anything that decides changes.
    pub version: Name,
    /// The most the rule set can pay, computed when it loaded.
    pub worst_case: Arc<WorstCase>,
}

/// What building a snapshot produced.
#[derive(Debug)]
pub struct SnapshotOutcome {
    pub snapshot: Option<Snapshot>,
    /// The rule set's worst case, when its rules compiled: also when it
    /// was refused for passing a declared limit.
    pub worst_case: Option<Arc<WorstCase>>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
}

impl Snapshot {
    /// Loads plugins (with `runtime`) and then the rules, checked against
    /// the plugins' declared outputs. Plugins unchanged since `previous`
    /// are reused.
    pub fn load(
        sources: &Sources,
        runtime: Option<&Arc<PluginRuntime>>,
        previous: Option<&Snapshot>,
    ) -> SnapshotOutcome {
        let files = read_rule_files(&sources.rules_dir);
        Self::load_with_files(sources, runtime, previous, files)
    }

    /// [`Snapshot::load`], with the rule files already read.
    pub fn load_with_files(
        sources: &Sources,
        runtime: Option<&Arc<PluginRuntime>>,
        previous: Option<&Snapshot>,
        files: Result<Vec<RuleFileText>, Box<Diagnostic>>,
    ) -> SnapshotOutcome {
        let mut diagnostics = Vec::new();
        let plugins = match (&sources.plugins_dir, runtime) {
            (Some(dir), Some(runtime)) => {
                let load = load_plugins(dir, runtime, previous.map(|s| &s.plugins));
                diagnostics.extend(load.diagnostics);
                load.set
            }
            (Some(dir), None) => {
                diagnostics.push(
                    Diagnostic::error(
                        "plugins were asked for but the plugin runtime is not available",
                    )
                    .at(crate::diagnostic::Location::file_only(dir)),
                );
                None
            }
            (None, _) => Some(PluginSet::empty()),
        };
        let files = match files {
            Ok(files) => files,
            Err(diagnostic) => {
                diagnostics.push(*diagnostic);
                return SnapshotOutcome {
                    snapshot: None,
                    worst_case: None,
                    diagnostics,
                    sources: SourceMap::default(),
                };
            }
        };
        // Rules are checked against the plugins that loaded; a plugin that
        // did not is refused alone, and rules reading it are told so.
        let checked_against = plugins.clone().unwrap_or_default();
        let mut outcome = Snapshot::from_rule_files(files, checked_against);
        diagnostics.append(&mut outcome.diagnostics);
        outcome.diagnostics = diagnostics;
        if plugins.is_none() {
            outcome.snapshot = None;
        }
        outcome
    }

    /// Builds a snapshot from rule file texts and loaded plugins.
    pub fn from_rule_files(files: Vec<RuleFileText>, plugins: PluginSet) -> SnapshotOutcome {
        let env = plugins.env();
        let mut outcome = load_files(files, &env);
        let mut worst = None;
        let snapshot = outcome.ruleset.and_then(|ruleset| {
            // The worst case is part of loading: a rule set over a limit
            // it declares is refused like any other error.
            let worst_case = Arc::new(analyze(&ruleset, &env));
            worst = Some(Arc::clone(&worst_case));
            let over = check_limits(&worst_case, &ruleset);
            let refused = !over.is_empty();
            outcome.diagnostics.extend(over);
            if refused {
                return None;
            }
            let version = snapshot_version(&ruleset, &plugins);
            Some(Snapshot {
                ruleset,
                plugins,
                version,
                worst_case,
            })
        });
        SnapshotOutcome {
            snapshot,
            worst_case: worst,
            diagnostics: outcome.diagnostics,
            sources: outcome.sources,
        }
    }
}

impl Snapshot {
    /// Both versions, named as the decisions and the API name them: every
    /// decision carries `ruleset_version` (the rule files); `version` also
    /// covers the plugins, and is the rule set's own when there are none.
    pub fn versions(&self) -> String {
        if self.version == self.ruleset.version {
            format!("ruleset_version {}", self.ruleset.version)
        } else {
            format!(
                "ruleset_version {} (rules), version {} (rules and plugins)",
                self.ruleset.version, self.version
            )
        }
    }

    /// What the store keeps of this snapshot so that its decisions can be
    /// decided again: the rule files' texts, and each plugin's manifest and
    /// component.
    pub fn record(&self) -> crate::store::SnapshotRecord {
        crate::store::SnapshotRecord {
            version: self.version.clone(),
            ruleset_version: self.ruleset.version.clone(),
            files: self
                .ruleset
                .texts
                .iter()
                .map(|file| RuleFileText {
                    path: file.name(),
                    text: file.text.clone(),
                })
                .collect(),
            plugins: self
                .plugins
                .plugins()
                .iter()
                .map(|plugin| crate::store::PluginRecord {
                    name: plugin.spec.name.clone(),
                    digest: plugin.digest.clone(),
                    manifest: plugin.spec.source.to_string(),
                    component: Some(plugin.component.clone()),
                })
                .collect(),
        }
    }
}

fn snapshot_version(ruleset: &RuleSet, plugins: &PluginSet) -> Name {
    if plugins.is_empty() {
        return ruleset.version.clone();
    }
    let mut hasher = Sha256::new();
    hasher.update(ruleset.version.as_bytes());
    for plugin in plugins.plugins() {
        hasher.update(plugin.digest.as_bytes());
        hasher.update(format!("{:?}", plugin.spec).as_bytes());
    }
    Name::from(crate::digest::short_of(hasher))
}
