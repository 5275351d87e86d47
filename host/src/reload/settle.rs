//! Rule files caught in the middle of a save.
//!
//! Editors and deploy scripts do not always replace a file in one step:
//! some truncate it and then write, some delete it and create it again.
//! A reload that reads the directory in between would serve a rule set
//! without that file's rules. So when a file of the serving rule set is
//! missing, or any rule file is empty, the reload reads the directory again
//! until that is no longer so, for at most `settle`; after that it takes
//! the directory as it is (an operator who really empties or deletes a file
//! gets that, with a warning: see [`Removals`](super::removals::Removals)).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::diagnostic::Diagnostic;
use crate::rules::{RuleFileText, read_rule_files};

/// How often the directory is read again while waiting.
const RECHECK: Duration = Duration::from_millis(20);

/// The rule files of `dir`, read once no file of `serving` (the serving
/// rule set's file names) is missing and no file is empty, or once
/// `settle` has passed.
pub fn read_settled(
    dir: &Path,
    serving: &[PathBuf],
    settle: Duration,
) -> Result<Vec<RuleFileText>, Box<Diagnostic>> {
    let deadline = Instant::now() + settle;
    let mut waited = false;
    loop {
        let files = read_rule_files(dir);
        let unsettled = match &files {
            Ok(files) => mid_save(files, serving),
            // A file listed and then gone before it was read.
            Err(diagnostic) => diagnostic.message.contains("no such file").then(|| {
                diagnostic
                    .location
                    .as_ref()
                    .map_or_else(String::new, |l| l.file.display().to_string())
            }),
        };
        match unsettled {
            Some(file) if Instant::now() < deadline => {
                if !waited {
                    tracing::debug!(%file, settle_ms = settle.as_millis() as u64, "rule file empty or gone; waiting for the save to finish");
                    waited = true;
                }
                std::thread::sleep(RECHECK);
            }
            Some(file) => {
                if waited {
                    tracing::info!(%file, settle_ms = settle.as_millis() as u64, "rule file still empty or gone after waiting; taking the directory as it is");
                }
                return files;
            }
            None => return files,
        }
    }
}

/// The first file that looks caught mid-save: one of `serving` missing, or
/// an empty file.
fn mid_save(files: &[RuleFileText], serving: &[PathBuf]) -> Option<String> {
    if let Some(empty) = files.iter().find(|f| f.text.is_empty()) {
        return Some(empty.path.display().to_string());
    }
    serving
        .iter()
        .find(|name| !files.iter().any(|f| &f.name() == *name))
        .map(|name| name.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_restored_while_waiting_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("50-compensation.toml");
        std::fs::write(&path, "").unwrap();
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                std::fs::write(&path, "# restored\n").unwrap();
            })
        };
        let files = read_settled(
            dir.path(),
            &[PathBuf::from("50-compensation.toml")],
            Duration::from_secs(5),
        )
        .unwrap();
        writer.join().unwrap();
        assert_eq!(files[0].text, "# restored\n");
    }

    #[test]
    fn a_file_that_stays_gone_is_taken_as_gone_after_settle() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("10-routing.toml"), "# here\n").unwrap();
        let started = Instant::now();
        let files = read_settled(
            dir.path(),
            &[
                PathBuf::from("10-routing.toml"),
                PathBuf::from("50-gone.toml"),
            ],
            Duration::from_millis(100),
        )
        .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(files.len(), 1);
    }
}
