//! An entry of the audit log as one line of JSON, the same on every
//! backend: SQLite appends it to `decisions.jsonl`, PostgreSQL rebuilds it
//! from the entry's columns, and `redress replay` and `diff` read it
//! through [`LoggedComplaint::parts`](super::LoggedComplaint::parts).

/// Appends the line of an entry to `out`:
/// `{"kind":K,"event":E,"decision":D,"replay":R}` and a newline, with
/// `event` and `replay` left out when absent. The parts are JSON already.
pub(in crate::store) fn write_line(
    out: &mut Vec<u8>,
    kind: &str,
    event: Option<&str>,
    decision: &str,
    replay: Option<&str>,
) {
    out.extend_from_slice(b"{\"kind\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.push(b'"');
    if let Some(event) = event {
        out.extend_from_slice(b",\"event\":");
        out.extend_from_slice(event.as_bytes());
    }
    out.extend_from_slice(b",\"decision\":");
    out.extend_from_slice(decision.as_bytes());
    if let Some(replay) = replay {
        out.extend_from_slice(b",\"replay\":");
        out.extend_from_slice(replay.as_bytes());
    }
    out.extend_from_slice(b"}\n");
}
