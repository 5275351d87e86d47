//! The serving snapshot with some rule files replaced: what `/v1/simulate`
//! and `/v1/diff` decide with. Only the serving rule set's own texts and
//! the texts given are used; nothing is read from disk, so a request can
//! name no file of the daemon's machine.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostic::{Diagnostic, SourceMap};
use crate::rules::{RuleFileText, is_rule_file_name};
use crate::snapshot::{Snapshot, SnapshotOutcome};

/// Why the changed rule files cannot be decided with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OverlayError {
    #[error(
        "`{0}` is not a rule file name: `something.toml`, not starting with `.` or `#`, without a directory"
    )]
    NotARuleFileName(String),
    /// The rule set they make has errors (or is over a limit it declares).
    #[error("the rules given have errors")]
    Invalid {
        diagnostics: Vec<Diagnostic>,
        sources: SourceMap,
    },
}

/// `live` with `rules` (file name → text) in place of its files of the same
/// names, and added when it has none; its plugins are kept. `rules_dir` is
/// where the serving files live, so diagnostics name the changed files
/// where an editor would save them.
pub fn overlay(
    live: &Snapshot,
    rules_dir: &Path,
    rules: &BTreeMap<String, String>,
) -> Result<Snapshot, OverlayError> {
    let outcome = overlay_outcome(live, rules_dir, rules)?;
    outcome.snapshot.ok_or(OverlayError::Invalid {
        diagnostics: outcome.diagnostics,
        sources: outcome.sources,
    })
}

/// [`overlay`], with everything the load found: the warnings of a rule set
/// that loads as well as the errors of one that does not, and its worst
/// case (what the console's draft shows as it is typed).
pub fn overlay_outcome(
    live: &Snapshot,
    rules_dir: &Path,
    rules: &BTreeMap<String, String>,
) -> Result<SnapshotOutcome, OverlayError> {
    let mut files = live.ruleset.texts.as_ref().clone();
    for (name, text) in rules {
        if !is_rule_file_name(name) {
            return Err(OverlayError::NotARuleFileName(name.clone()));
        }
        files.retain(|f| f.name() != Path::new(name));
        files.push(RuleFileText {
            path: rules_dir.join(name),
            text: text.clone(),
        });
    }
    Ok(Snapshot::from_rule_files(files, live.plugins.clone()))
}
