//! Conditions and amounts written in TOML strings: compiled in the rule
//! set's environment, with errors placed at their column in the file and
//! warnings for control characters an escape put there.

use std::ops::Range;

use super::Checker;
use crate::diagnostic::Diagnostic;
use crate::expr::{CompileError, Env, Expect, Expression};
use crate::rules::raw::Located;

impl Checker<'_> {
    /// Compiles an expression written in a TOML string, mapping its errors
    /// to positions in the file.
    pub(in crate::rules) fn expression(
        &mut self,
        file: usize,
        source: &Located<String>,
        expect: Expect,
        rule: &str,
    ) -> Option<Expression> {
        if !self.in_conditions && !self.declared_conditions.is_empty() {
            self.names_in_rules
                .extend(crate::expr::names_used(source.get()));
        }
        self.warn_control_characters(file, source, rule);
        match Expression::compile(source.get(), &self.env, expect) {
            Ok(expression) => Some(expression),
            Err(errors) => {
                let text = &self.files[file].text;
                let start = string_content_start(text, source.span(), source.get());
                for error in errors {
                    let span = match start {
                        Some(start) => {
                            start + error.span.start
                                ..start + error.span.end.max(error.span.start + 1)
                        }
                        None => source.span(),
                    };
                    self.diagnostics
                        .push(self.compile_error(file, span, error, rule));
                }
                None
            }
        }
    }

    /// A control character in a condition is almost always an escape taken
    /// too early: in a TOML basic string (`"..."`) `\b` is a backspace, and
    /// so it is again in a condition's own string literal (`"\b"`), so
    /// `matches("\bbroken")` passes and never matches a word boundary.
    fn warn_control_characters(&mut self, file: usize, source: &Located<String>, rule: &str) {
        let found = source
            .get()
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
        let (message, help) = match (found, control_escape(source.get())) {
            (Some(found), _) => {
                let name = match found {
                    '\u{8}' => "a backspace (`\\b` in a TOML basic string)".to_string(),
                    '\u{c}' => "a form feed (`\\f` in a TOML basic string)".to_string(),
                    other => format!("the control character U+{:04X}", other as u32),
                };
                (
                    format!("this condition contains {name}"),
                    "write the condition in a literal string, `'...'`, where a backslash stays a backslash, and the pattern as a raw string: `when = 'text.matches(r\"\\bbroken\")'`",
                )
            }
            (None, Some(escape)) => (
                format!(
                    "`\\{escape}` in a condition's string is a control character, not a regex escape"
                ),
                "write the pattern as a raw string, `r\"\\bbroken\"`, or double the backslash, `\"\\\\bbroken\"`",
            ),
            (None, None) => return,
        };
        let mut diagnostic = Diagnostic::warning(message)
            .at(self.location(file, source.span()))
            .with_label("a control character")
            .with_help(help);
        if !rule.is_empty() {
            diagnostic = diagnostic.in_rule(rule);
        }
        self.diagnostics.push(diagnostic);
    }

    fn compile_error(
        &self,
        file: usize,
        span: Range<usize>,
        error: CompileError,
        rule: &str,
    ) -> Diagnostic {
        let mut diagnostic = Diagnostic::error(error.message).at(self.location(file, span.clone()));
        if !rule.is_empty() {
            diagnostic = diagnostic.in_rule(rule);
        }
        if let Some(label) = error.label {
            diagnostic = diagnostic.with_label(label);
        }
        let source = self.files[file].text.get(span).unwrap_or_default();
        for note in plugin_output_notes(&self.env, source) {
            diagnostic = diagnostic.with_note(note);
        }
        diagnostic.with_help_opt(error.help)
    }
}

/// Where the content of a TOML string starts in the file, when the content
/// appears verbatim (no escapes), so positions inside it map exactly.
fn string_content_start(text: &str, span: Range<usize>, value: &str) -> Option<usize> {
    let raw = text.get(span.clone())?;
    for (prefix, multiline) in [("'''", true), ("\"\"\"", true), ("'", false), ("\"", false)] {
        if raw.starts_with(prefix) {
            let mut start = span.start + prefix.len();
            if multiline {
                if text[start..].starts_with("\r\n") {
                    start += 2;
                } else if text[start..].starts_with('\n') {
                    start += 1;
                }
            }
            return (text.get(start..start + value.len()) == Some(value)).then_some(start);
        }
    }
    None
}

/// The first `\a`, `\b`, `\f` or `\v` escape inside a (not raw) string
/// literal of a condition: CEL reads each as a control character.
fn control_escape(source: &str) -> Option<char> {
    let bytes = source.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            None => {
                let raw = i > 0 && matches!(bytes[i - 1], b'r' | b'R');
                if (b == b'"' || b == b'\'') && !raw {
                    quote = Some(b);
                } else if b == b'"' || b == b'\'' {
                    // A raw string: skip to its end.
                    let end = bytes[i + 1..]
                        .iter()
                        .position(|&c| c == b)
                        .map_or(bytes.len(), |p| i + 1 + p);
                    i = end;
                }
            }
            Some(q) => {
                if b == b'\\' {
                    if let Some(&next) = bytes.get(i + 1)
                        && matches!(next, b'a' | b'b' | b'f' | b'v')
                    {
                        return Some(next as char);
                    }
                    i += 2;
                    continue;
                }
                if b == q {
                    quote = None;
                }
            }
        }
        i += 1;
    }
    None
}

/// For each plugin output a condition's faulty part reads: its type in the
/// manifest's words, and that the type comes from the plugin's manifest
/// (a type error there is as often a wrong manifest as a wrong rule).
fn plugin_output_notes(env: &Env, source: &str) -> Vec<String> {
    let mut notes: Vec<String> = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("plugins.") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .unwrap_or(tail.len());
        let path = tail[..end].trim_end_matches('.');
        rest = &tail[end..];
        let Some(field) = env.field(path).filter(|f| f.slot.is_some()) else {
            continue;
        };
        let (Some(plugin), Some(output)) = (path.split('.').nth(1), path.split('.').nth(2)) else {
            continue;
        };
        let word = crate::expr::manifest_word(&field.ty);
        let note = format!(
            "`{path}` is a `{word}` output (`{}` in conditions): its type comes from plugin `{plugin}`'s manifest (`[outputs] {output} = {{ type = \"{word}\" }}`)",
            field.ty
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    notes
}
