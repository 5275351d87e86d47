//! Loading a rule set: read the files (`files`), turn their TOML into raw
//! rules (`parse`), check those into a [`RuleSet`] (`compile`). Every
//! problem becomes a diagnostic with its place.

use std::path::Path;

use crate::diagnostic::{Diagnostic, SourceMap};
use crate::expr::Env;
use crate::rules::compile::compile;
use crate::rules::files::{RuleFileText, read_rule_files};
use crate::rules::parse::parse_files;
use crate::rules::ruleset::RuleSet;

/// What loading a rule set produced: the rule set if there was no error,
/// every diagnostic, and the sources they quote.
#[derive(Debug)]
pub struct LoadOutcome {
    pub ruleset: Option<RuleSet>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
}

impl LoadOutcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Loads every `*.toml` directly inside `dir` (not `tests/`), files in
/// name order.
pub fn load_dir(dir: &Path, env: &Env) -> LoadOutcome {
    match read_rule_files(dir) {
        Ok(files) => load_files(files, env),
        Err(diagnostic) => LoadOutcome {
            ruleset: None,
            diagnostics: vec![*diagnostic],
            sources: SourceMap::default(),
        },
    }
}

/// Loads a rule set from file texts (the daemon's simulate endpoint and the
/// tests use this directly).
pub fn load_files(mut files: Vec<RuleFileText>, env: &Env) -> LoadOutcome {
    files.sort_by_key(RuleFileText::name);
    let mut diagnostics = Vec::new();
    let raw = parse_files(&files, &mut diagnostics);
    let ruleset = compile(raw, &files, env, &mut diagnostics);
    let mut sources = SourceMap::default();
    for file in files {
        sources.insert(file.path, file.text);
    }
    let ruleset = ruleset.filter(|_| !diagnostics.iter().any(Diagnostic::is_error));
    LoadOutcome {
        ruleset,
        diagnostics,
        sources,
    }
}
