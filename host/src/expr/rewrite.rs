//! Source rewrites done before parsing (bare `has(name)`) and after
//! compiling (named conditions written out for the analyses).

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

/// CEL's `has()` macro only accepts `has(a.b)`; operators also write
/// `has(category)`. Outside string literals, `has(ident)` is rewritten to
/// this same-length function name before parsing, so offsets stay exact.
pub const PRESENCE_TEST: &str = "hAs";

pub(in crate::expr) fn rewrite_bare_has(source: &str) -> Cow<'_, str> {
    let bytes = source.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if b == b'"' || b == b'\'' {
            quote = Some(b);
        } else if bytes[i..].starts_with(b"has(")
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b'.'))
        {
            let rest = &bytes[i + 4..];
            let inner_len = rest.iter().position(|&c| c == b')').unwrap_or(rest.len());
            let inner = rest[..inner_len].trim_ascii();
            let is_ident = !inner.is_empty()
                && (inner[0].is_ascii_alphabetic() || inner[0] == b'_')
                && inner
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_');
            if is_ident && inner_len < rest.len() {
                let buffer = out.get_or_insert_with(|| bytes.to_vec());
                buffer[i + 1] = b'A';
            }
        }
        i += 1;
    }
    match out.and_then(|b| String::from_utf8(b).ok()) {
        Some(text) => Cow::Owned(text),
        None => Cow::Borrowed(source),
    }
}

/// `source` with each span replaced by its text; `None` when there is none.
pub(in crate::expr) fn inline_conditions(
    source: &str,
    mut uses: Vec<(Range<usize>, Arc<str>)>,
) -> Option<Arc<str>> {
    if uses.is_empty() {
        return None;
    }
    uses.sort_by_key(|(span, _)| span.start);
    let mut out = String::with_capacity(source.len());
    let mut at = 0;
    for (span, text) in uses {
        if span.start < at || span.end > source.len() {
            continue;
        }
        out.push_str(&source[at..span.start]);
        out.push_str(&text);
        at = span.end;
    }
    out.push_str(&source[at..]);
    Some(Arc::from(out))
}
