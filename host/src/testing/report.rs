//! What `redress test` prints.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::compare::Mismatch;
use super::load::CaseError;

/// The result of one case.
#[derive(Debug)]
pub struct CaseResult {
    pub file: PathBuf,
    pub line: usize,
    pub name: String,
    pub outcome: Result<Vec<Mismatch>, String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        matches!(&self.outcome, Ok(m) if m.is_empty())
    }
}

/// Renders results: failures with their differences, then the count.
pub fn render_results(results: &[CaseResult], errors: &[CaseError], color: bool) -> String {
    let (red, green, bold, reset) = if color {
        ("\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let mut out = String::new();
    for error in errors {
        let _ = writeln!(
            out,
            "{red}error{reset}: {}:{}{}: {}",
            error.file.display(),
            error.line,
            error
                .name
                .as_ref()
                .map_or(String::new(), |n| format!(" (case `{n}`)")),
            error.message
        );
    }
    for result in results {
        match &result.outcome {
            Ok(mismatches) if mismatches.is_empty() => {
                let _ = writeln!(out, "{green}pass{reset} {}", result.name);
            }
            Ok(mismatches) => {
                let _ = writeln!(
                    out,
                    "{red}FAIL{reset} {bold}{}{reset} ({}:{})",
                    result.name,
                    result.file.display(),
                    result.line
                );
                for mismatch in mismatches {
                    let _ = writeln!(out, "     at {bold}{}{reset}", mismatch.path);
                    let _ = writeln!(out, "     {red}- expected: {}{reset}", mismatch.expected);
                    let _ = writeln!(out, "     {green}+ found:    {}{reset}", mismatch.found);
                }
            }
            Err(message) => {
                let _ = writeln!(
                    out,
                    "{red}FAIL{reset} {bold}{}{reset} ({}:{}): {message}",
                    result.name,
                    result.file.display(),
                    result.line
                );
            }
        }
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    let failed = results.len() - passed + errors.len();
    let _ = writeln!(out, "\n{passed} passed, {failed} failed");
    out
}
