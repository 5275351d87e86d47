//! A problem in a condition, with its byte span, and the parser's errors
//! translated to it.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq)]
pub struct CompileError {
    pub message: String,
    pub span: Range<usize>,
    pub label: Option<String>,
    pub help: Option<String>,
}

impl CompileError {
    pub(in crate::expr) fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        CompileError {
            message: message.into(),
            span,
            label: None,
            help: None,
        }
    }

    pub(in crate::expr) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub(in crate::expr) fn help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

pub(in crate::expr) fn parse_errors(source: &str, errors: cel::ParseErrors) -> Vec<CompileError> {
    errors
        .errors
        .into_iter()
        .map(|error| {
            let offset = line_column_to_offset(source, error.pos.0, error.pos.1);
            let message = error
                .msg
                .strip_prefix("Syntax error: ")
                .unwrap_or(&error.msg)
                .replace("<EOF>", "end of condition");
            CompileError::new(format!("syntax error: {message}"), offset..offset + 1).label("here")
        })
        .collect()
}

pub(in crate::expr) fn line_column_to_offset(source: &str, line: isize, column: isize) -> usize {
    let line = usize::try_from(line).unwrap_or(1).max(1);
    let column = usize::try_from(column).unwrap_or(1).max(1);
    let line_start: usize = source
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let line_text = &source[line_start.min(source.len())..];
    let within = line_text
        .char_indices()
        .nth(column - 1)
        .map_or(line_text.len(), |(i, _)| i);
    (line_start + within).min(source.len())
}
