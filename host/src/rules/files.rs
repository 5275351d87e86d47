//! Rule files on disk: which files of a directory are rule files, and
//! reading them (regular files only, bounded).

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Location};

/// The text of one rule file and the path diagnostics should show.
#[derive(Debug, Clone)]
pub struct RuleFileText {
    /// Path shown to people, e.g. `rules/10-routing.toml`.
    pub path: PathBuf,
    pub text: String,
}

impl RuleFileText {
    /// The file's name, which orders the files and names them in a rule set.
    pub fn name(&self) -> PathBuf {
        self.path
            .file_name()
            .map_or_else(|| self.path.clone(), PathBuf::from)
    }
}

/// Largest rule file read, in bytes.
const MAX_FILE_LEN: u64 = 4 * 1024 * 1024;

/// The rule files of `dir`, sorted by name. Hidden files and editor
/// leftovers (`.#x.toml`, `x.toml~`, swap files) are not rule files.
pub fn read_rule_files(dir: &Path) -> Result<Vec<RuleFileText>, Box<Diagnostic>> {
    let entries = std::fs::read_dir(dir).map_err(|error| {
        Box::new(
            Diagnostic::error(format!("cannot read the rules directory: {error}"))
                .at(Location::file_only(dir))
                .with_help("pass the directory holding your `*.toml` rule files"),
        )
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| is_rule_file(path))
        .collect();
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        match crate::source_file::read_regular_text(&path, MAX_FILE_LEN) {
            Ok(text) => files.push(RuleFileText { path, text }),
            Err(error) => {
                return Err(Box::new(
                    Diagnostic::error(format!("cannot read rule file: {error}"))
                        .at(Location::file_only(&path)),
                ));
            }
        }
    }
    Ok(files)
}

/// Whether `path` names a rule file (as opposed to an editor's temporary).
pub fn is_rule_file(path: &Path) -> bool {
    // Anything but a directory: a FIFO or a device named `x.toml` is
    // refused with a diagnostic when it is read, not skipped in silence.
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_rule_file_name)
        && !path.is_dir()
}

/// Whether a file of the rules directory named `name` is read as a rule
/// file: `something.toml`, not hidden, not an editor's `#` leftover, and no
/// directory in the name. What a file given by name (a simulation, a
/// console draft) must be called to be loaded once it is on disk.
pub fn is_rule_file_name(name: &str) -> bool {
    !name.contains('/')
        && !name.contains('\\')
        && !name.starts_with('.')
        && !name.starts_with('#')
        && Path::new(name).extension().is_some_and(|e| e == "toml")
}
