//! What every console screen shares: HTML responses, problems, and how
//! diagnostics, times and money are shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use crate::diagnostic::{Diagnostic, Severity, SourceMap};
use crate::time::Timestamp;

/// An HTML response, with the headers that keep the console to itself: no
/// script or style from anywhere else, no framing, no referrer.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A fragment that rendered.
pub fn ok(markup: Markup) -> Response {
    respond(StatusCode::OK, markup)
}

/// A fragment saying what went wrong, with the status the API would give.
pub fn problem(status: StatusCode, message: impl AsRef<str>) -> Response {
    Problem::new(status, message.as_ref()).into_response()
}

/// What went wrong, before it is rendered: what the screens' helpers
/// return so their handlers can pass it on with `?`.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Problem {
            status,
            message: message.into(),
        }
    }
}

/// The API's error, shown as the console shows problems: the same words
/// an API client gets (the store turned off, overloaded, ...).
impl From<crate::server::ApiError> for Problem {
    fn from(error: crate::server::ApiError) -> Self {
        Problem::new(error.status, error.message)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        respond(
            self.status,
            html! { p.problem role="alert" { (self.message) } },
        )
    }
}

/// `value` percent-encoded for a path segment or a query value: ids and
/// grid values may hold any character.
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A moment as the operator reads it: RFC 3339 in UTC.
pub fn time(at: Timestamp) -> String {
    at.to_rfc3339()
}

/// An amount of money in `currency`.
pub fn money(amount: f64, currency: &str) -> String {
    format!("{amount:.2} {currency}")
}

/// Diagnostics as a list: each with its severity, file, line and column,
/// the source line it points at and a caret under the column, then its
/// notes and help, as `redress check` prints them.
pub fn diagnostics(diagnostics: &[Diagnostic], sources: &SourceMap) -> Markup {
    html! {
        ul.diagnostics {
            @for diagnostic in diagnostics {
                @let class = match diagnostic.severity {
                    Severity::Error => "diagnostic error",
                    Severity::Warning => "diagnostic warning",
                };
                li class=(class) data-line=[diagnostic.location.as_ref().map(|l| l.line)] {
                    p.headline {
                        strong { (severity_word(diagnostic.severity)) } ": " (diagnostic.message)
                    }
                    @if let Some(location) = &diagnostic.location {
                        p.where {
                            span.file { (location.file.display()) }
                            ":" span.line { (location.line) } ":" span.column { (location.column) }
                            @if let Some(rule) = &diagnostic.rule { " in " (rule) }
                        }
                        @if let Some(line) = source_line(sources, &location.file, location.line) {
                            pre.source {
                                span.number { (location.line) " | " } (line) "\n"
                                span.number { (" ".repeat(location.line.to_string().len())) " | " }
                                (" ".repeat(location.column.saturating_sub(1))) "^"
                                @if let Some(label) = &diagnostic.label { " " (label) }
                            }
                        }
                    }
                    @for note in &diagnostic.notes { p.note { "= note: " (note) } }
                    @if let Some(help) = &diagnostic.help { p.help { "= help: " (help) } }
                }
            }
        }
    }
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn source_line<'a>(sources: &'a SourceMap, file: &std::path::Path, line: usize) -> Option<&'a str> {
    sources.get(file)?.lines().nth(line.checked_sub(1)?)
}
