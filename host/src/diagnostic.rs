//! Structured diagnostics: what went wrong, where (file, line, column), in
//! which rule, and a hint. Collected by every loader, rendered like rustc's
//! errors for people and serialized as JSON for the daemon's `/v1/ruleset`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// How bad a diagnostic is. Any `Error` refuses the whole rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a source file: byte span plus the 1-based line and column of
/// its start (columns count characters, not bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    #[serde(skip)]
    pub span: Range<usize>,
}

impl Location {
    /// Locates `span` inside `source`, which is the text of `file`.
    pub fn new(file: &Path, source: &str, span: Range<usize>) -> Self {
        let start = clamp_to_char_boundary(source, span.start);
        let end = clamp_to_char_boundary(source, span.end.max(start));
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[line_start..start].chars().count() + 1;
        Location {
            file: file.to_path_buf(),
            line,
            column,
            span: start..end,
        }
    }

    /// A location naming only a file (for problems with the file as a whole).
    pub fn file_only(file: &Path) -> Self {
        Location {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            span: 0..0,
        }
    }
}

/// Start offsets of every line of a file, so many locations in one file
/// cost a binary search each rather than a scan from the top.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// Same as [`Location::new`], faster for repeated use on one file.
    pub fn locate(&self, file: &Path, source: &str, span: Range<usize>) -> Location {
        let start = clamp_to_char_boundary(source, span.start);
        let end = clamp_to_char_boundary(source, span.end.max(start));
        let line_index = self
            .starts
            .partition_point(|&s| s <= start)
            .saturating_sub(1);
        let line_start = self.starts[line_index];
        let column = source[line_start..start].chars().count() + 1;
        Location {
            file: file.to_path_buf(),
            line: line_index + 1,
            column,
            span: start..end,
        }
    }
}

fn clamp_to_char_boundary(source: &str, mut index: usize) -> usize {
    index = index.min(source.len());
    while index > 0 && !source.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// One problem found while loading rules, plugins or tests.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// A short label printed under the underlined span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The rule the problem belongs to, as `kind `name``.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Facts that explain the problem, printed as `= note:` lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            label: None,
            rule: None,
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn in_rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col: error: message`, one line, for logs.
    pub fn one_line(&self) -> String {
        let mut out = String::new();
        if let Some(location) = &self.location {
            let _ = write!(out, "{}", location.file.display());
            if location.line > 0 {
                let _ = write!(out, ":{}:{}", location.line, location.column);
            }
            out.push_str(": ");
        }
        let _ = write!(out, "{}: {}", self.severity_word(), self.message);
        if let Some(rule) = &self.rule {
            let _ = write!(out, " (in {rule})");
        }
        if let Some(help) = &self.help {
            let _ = write!(out, "; help: {help}");
        }
        out
    }

    fn severity_word(&self) -> &'static str {
        match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    /// Renders the diagnostic the way rustc does, with the offending source
    /// line and a caret underline when `sources` has the file's text.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}: {}", self.severity_word(), self.message);
        let mut gutter = 1;
        if let Some(location) = &self.location {
            let snippet = sources
                .get(&location.file)
                .filter(|_| location.line > 0)
                .map(|text| snippet_for(text, location));
            gutter = snippet
                .as_ref()
                .map_or(1, |s| s.line_number.to_string().len());
            let pad = " ".repeat(gutter);
            if location.line > 0 {
                let _ = writeln!(
                    out,
                    "{pad}--> {}:{}:{}",
                    location.file.display(),
                    location.line,
                    location.column
                );
            } else {
                let _ = writeln!(out, "{pad}--> {}", location.file.display());
            }
            if let Some(snippet) = snippet {
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{} | {}", snippet.line_number, snippet.line);
                let underline = format!(
                    "{}{}",
                    " ".repeat(snippet.caret_offset),
                    "^".repeat(snippet.caret_width.max(1))
                );
                match &self.label {
                    Some(label) => {
                        let _ = writeln!(out, "{pad} | {underline} {label}");
                    }
                    None => {
                        let _ = writeln!(out, "{pad} | {underline}");
                    }
                }
            }
        }
        let pad = " ".repeat(gutter);
        if self.rule.is_some() || self.help.is_some() || !self.notes.is_empty() {
            let _ = writeln!(out, "{pad} |");
        }
        if let Some(rule) = &self.rule {
            let _ = writeln!(out, "{pad} = note: in {rule}");
        }
        for note in &self.notes {
            let _ = writeln!(out, "{pad} = note: {note}");
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out
    }
}

struct Snippet<'a> {
    line_number: usize,
    line: &'a str,
    caret_offset: usize,
    caret_width: usize,
}

fn snippet_for<'a>(text: &'a str, location: &Location) -> Snippet<'a> {
    let line = text.lines().nth(location.line - 1).unwrap_or("");
    let caret_offset = location.column.saturating_sub(1);
    let line_start = text
        .lines()
        .take(location.line - 1)
        .map(|l| l.len() + 1)
        .sum::<usize>();
    let line_end = line_start + line.len();
    let span_end = location.span.end.min(line_end).max(location.span.start);
    let caret_width = text
        .get(location.span.start..span_end)
        .map_or(1, |s| s.chars().count());
    Snippet {
        line_number: location.line,
        line,
        caret_offset,
        caret_width,
    }
}

/// The text of every file a load read, so diagnostics can quote it.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: BTreeMap<PathBuf, String>,
}

impl SourceMap {
    pub fn insert(&mut self, path: PathBuf, text: String) {
        self.files.insert(path, text);
    }

    pub fn get(&self, path: &Path) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PathBuf, &String)> {
        self.files.iter()
    }

    /// Only the files `diagnostics` point to.
    pub fn named_by(&self, diagnostics: &[Diagnostic]) -> SourceMap {
        let mut named = SourceMap::default();
        for location in diagnostics.iter().filter_map(|d| d.location.as_ref()) {
            if let Some(text) = self.files.get(&location.file) {
                named.insert(location.file.clone(), text.clone());
            }
        }
        named
    }
}

/// Renders every diagnostic and a summary line, for the CLI.
pub fn render_all(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&diagnostic.render(sources));
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if errors > 0 {
        let _ = writeln!(
            out,
            "error: {} error{} and {} warning{} found",
            errors,
            plural(errors),
            warnings,
            plural(warnings)
        );
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let source = "a = 1\nwhen = 'é == x'\n";
        let offset = source.find("x").unwrap();
        let location = Location::new(Path::new("r.toml"), source, offset..offset + 1);
        assert_eq!((location.line, location.column), (2, 14));
    }

    #[test]
    fn line_index_agrees_with_location() {
        let source = "a\nbé\n\ncd = 'x'\n";
        let index = LineIndex::new(source);
        for offset in 0..source.len() {
            if source.is_char_boundary(offset) {
                let path = Path::new("f");
                assert_eq!(
                    index.locate(path, source, offset..offset),
                    Location::new(path, source, offset..offset)
                );
            }
        }
    }

    #[test]
    fn render_quotes_the_line_and_underlines_the_span() {
        let source = "[[route]]\nname = \"x\"\nqeue = \"billing\"\n";
        let mut sources = SourceMap::default();
        sources.insert(PathBuf::from("r.toml"), source.to_string());
        let start = source.find("qeue").unwrap();
        let diagnostic = Diagnostic::error("unknown key `qeue`")
            .at(Location::new(Path::new("r.toml"), source, start..start + 4))
            .with_label("unknown key")
            .in_rule("route `x`")
            .with_help("did you mean `queue`?");
        let text = diagnostic.render(&sources);
        assert!(text.contains("--> r.toml:3:1"), "{text}");
        assert!(text.contains("3 | qeue = \"billing\""), "{text}");
        assert!(text.contains("  | ^^^^ unknown key"), "{text}");
        assert!(text.contains("= help: did you mean `queue`?"), "{text}");
    }
}
