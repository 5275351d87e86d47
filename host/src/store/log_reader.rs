//! Reading the complaint decisions of the audit log back whole, with their
//! events and recordings, for `redress replay`, `redress diff` and the
//! reload gate: through [`AuditReader`], which the daemon's store and the
//! offline [`Archive`](super::Archive) both implement.

use std::ops::ControlFlow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::intake::Recording;
use crate::store::SnapshotRecord;
use crate::store::StoreError;
use crate::time::Timestamp;

/// Which complaint decisions to read, oldest first.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Decided at or after.
    pub since: Option<Timestamp>,
    /// Decided before.
    pub until: Option<Timestamp>,
    /// Only this case's.
    pub case_id: Option<String>,
    /// Only the last this many (of those the other filters let through).
    pub last: Option<usize>,
}

/// One complaint decision as logged.
#[derive(Debug, Clone)]
pub struct LoggedComplaint {
    pub seq: i64,
    pub event_id: String,
    pub decided_at: Timestamp,
    /// Its line of `decisions.jsonl`; `None` when the line is missing (a
    /// repaired loss) or the entry predates the file (schema version 5).
    pub line: Option<Vec<u8>>,
}

/// The parts of a complaint's line: its event and decision as JSON text,
/// and what it read.
#[derive(Debug)]
pub struct LineParts<'a> {
    pub event: &'a str,
    pub decision: &'a str,
    /// What it read; absent for decisions recorded before Redress kept it.
    pub replay: Option<Recording>,
}

/// A line as JSON, when it is not laid out as the store writes it.
#[derive(Deserialize)]
struct AnyLine<'a> {
    #[serde(borrow)]
    event: &'a RawValue,
    #[serde(borrow)]
    decision: &'a RawValue,
    #[serde(default)]
    replay: Option<Recording>,
}

impl LoggedComplaint {
    /// Its line's parts, or why there are none. The event and decision are
    /// not checked here: callers parse them.
    pub fn parts(&self) -> Result<LineParts<'_>, String> {
        let line = self.line.as_deref().ok_or_else(|| {
            "its line is not in decisions.jsonl (lost and repaired, or written before schema version 5)".to_string()
        })?;
        if let Some(parts) = laid_out(line) {
            return Ok(parts);
        }
        self.parts_parsed()
    }

    /// Its line's parts, by parsing the whole line.
    pub fn parts_parsed(&self) -> Result<LineParts<'_>, String> {
        let line = self.line.as_deref().ok_or_else(|| {
            "its line is not in decisions.jsonl (lost and repaired, or written before schema version 5)".to_string()
        })?;
        let any: AnyLine<'_> = serde_json::from_slice(line)
            .map_err(|error| format!("its line cannot be read: {error}"))?;
        Ok(LineParts {
            event: any.event.get(),
            decision: any.decision.get(),
            replay: any.replay,
        })
    }
}

/// The parts of a line laid out as the store writes a complaint's
/// (`{"kind":"complaint","event":E,"decision":D,"replay":R}`), found by
/// those markers rather than by parsing the whole line: most of a line is
/// the decision's trace, which replay and diff read differently or not at
/// all. `None` if the line is not laid out so. A decision marker inside the
/// event (an attribute object holding one) would cut the event short, so
/// callers parse the event whole and, if it does not parse, read the line
/// again with [`LoggedComplaint::parts_parsed`].
fn laid_out(line: &[u8]) -> Option<LineParts<'_>> {
    let text = std::str::from_utf8(line).ok()?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let rest = text.strip_prefix("{\"kind\":\"complaint\",\"event\":")?;
    let replay_at = memchr::memmem::rfind(rest.as_bytes(), b",\"replay\":{\"snapshot\":")?;
    let replay = rest[replay_at + ",\"replay\":".len()..].strip_suffix('}')?;
    let before_replay = &rest[..replay_at];
    let decision_at =
        memchr::memmem::find(before_replay.as_bytes(), b",\"decision\":{\"event_id\":")?;
    let event = &before_replay[..decision_at];
    let decision = &before_replay[decision_at + ",\"decision\":".len()..];
    let replay: Recording = serde_json::from_str(replay).ok()?;
    Some(LineParts {
        event,
        decision,
        replay: Some(replay),
    })
}

/// What replay and diff read from a store.
pub trait AuditReader {
    /// Calls `visit` with each complaint decision `query` selects, oldest
    /// first, until it breaks.
    fn complaints(
        &self,
        query: &LogQuery,
        visit: &mut dyn FnMut(LoggedComplaint) -> ControlFlow<()>,
    ) -> Result<(), StoreError>;

    /// The kept snapshot `version` (rule texts and plugin manifests).
    fn snapshot(&self, version: &str) -> Result<Option<SnapshotRecord>, StoreError>;

    /// The plugin component of `digest` (`sha256:<hex>`), if kept.
    fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;
}
