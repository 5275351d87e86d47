//! Putting a data directory whose `decisions.jsonl` was lost, cut short or
//! damaged back into a state the daemon can serve from, keeping every
//! entry whose line is intact and saying exactly which were lost
//! (`redress store repair`).
//!
//! The database knows where each entry's line is (`payload_at`,
//! `payload_len`) and what it must say (its kind and, for a complaint, the
//! event id). Each line is checked against that. A line that is missing or
//! does not match is replaced by a placeholder of the same length,
//! `{"kind":"complaint","lost":true}` padded with spaces, so every other
//! line stays where the database says it is and the file stays one JSON
//! value per line. Lines past the log's end (a batch that never committed)
//! are cut off. Entries with a placeholder read with a `null` decision, and
//! a complaint sent again under such an id is answered `409
//! decision_lost`, not decided a second time.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use rusqlite::Connection;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::audit_file::{FILE_NAME, read_exact_at};
use super::audit_segments::{live_segment_starts, open_read_write, segment_file_name};
use crate::store::StoreError;
use crate::store::sqlite::committed_audit_end;

/// What a repair found and did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RepairReport {
    /// Entries of the log whose line is in the audit file.
    pub entries: u64,
    /// Of those, lines found intact.
    pub intact: u64,
    /// Entries whose line was missing or damaged, now placeholders.
    pub lost: Vec<LostEntry>,
    /// Bytes cut off past the log's end.
    pub cut_off: u64,
    /// Segment files of the log that were not there (they were created).
    pub missing_files: Vec<String>,
}

/// An entry whose decision is gone.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LostEntry {
    pub seq: i64,
    pub event_id: String,
    pub kind: String,
}

impl RepairReport {
    /// Whether anything was wrong.
    pub fn changed_anything(&self) -> bool {
        !self.lost.is_empty() || self.cut_off > 0 || !self.missing_files.is_empty()
    }
}

/// What a line must hold to count as intact.
#[derive(Deserialize)]
struct Checked<'a> {
    kind: &'a str,
    #[serde(borrow)]
    #[allow(dead_code)]
    decision: &'a RawValue,
    #[serde(default)]
    event: Option<EventId>,
}

#[derive(Deserialize)]
struct EventId {
    id: String,
}

/// Repairs the data directory `directory` of a stopped daemon: takes its
/// lock, opens its database (which must be of this version's schema) and
/// repairs the audit file.
pub fn repair_data_dir(directory: &Path) -> Result<RepairReport, StoreError> {
    let database = crate::store::database_path(directory);
    if !database.is_file() {
        return Err(StoreError::Open {
            path: database.display().to_string(),
            message: "no store here (nothing to repair)".to_string(),
        });
    }
    let _lock = crate::store::DataLock::acquire(directory)?;
    let connection =
        crate::store::sqlite::open_connection(&database, crate::store::Durability::Full)?;
    crate::store::sqlite::check_schema_current(&connection, &database)?;
    repair_audit_file(directory, &connection)
}

/// A live segment of the log, open for repair.
struct RepairedSegment {
    start: u64,
    path: std::path::PathBuf,
    file: std::fs::File,
    /// Bytes of it that hold committed lines.
    length: u64,
}

/// Checks every entry's line in `directory`'s audit log against the
/// database on `connection` and repairs the log's segments as the module
/// says.
pub(in crate::store) fn repair_audit_file(
    directory: &Path,
    connection: &Connection,
) -> Result<RepairReport, StoreError> {
    let failed = |path: &Path, error: std::io::Error| StoreError::AuditFile {
        path: path.display().to_string(),
        message: error.to_string(),
    };
    let end = committed_audit_end(connection)?;
    let starts = live_segment_starts(connection)?;
    let mut report = RepairReport::default();
    let mut segments = Vec::with_capacity(starts.len());
    for (index, &start) in starts.iter().enumerate() {
        let limit = starts.get(index + 1).copied().unwrap_or(end).max(start) - start;
        let path = directory.join(segment_file_name(start));
        if !path.exists() {
            report.missing_files.push(path.display().to_string());
        }
        let file = open_read_write(&path).map_err(|error| failed(&path, error))?;
        let length = file.metadata().map_err(|error| failed(&path, error))?.len();
        if length > limit {
            file.set_len(limit).map_err(|error| failed(&path, error))?;
            report.cut_off += length - limit;
        }
        segments.push(RepairedSegment {
            start,
            path,
            file,
            length: length.min(limit),
        });
    }
    let mut line = Vec::new();
    each_entry_line(connection, |entry: EntryLine| -> Result<(), StoreError> {
        report.entries += 1;
        let holding = segments.partition_point(|segment| segment.start <= entry.at);
        let Some(segment) = holding.checked_sub(1).and_then(|index| segments.get(index)) else {
            return Err(StoreError::Inconsistent(format!(
                "audit entry {} points before the first live segment of the log",
                entry.seq
            )));
        };
        let at = entry.at - segment.start;
        let intact = at + entry.len as u64 <= segment.length && {
            line.resize(entry.len, 0);
            read_exact_at(&segment.file, &mut line, at)
                .map_err(|error| failed(&segment.path, error))?;
            line_matches(&line, &entry.kind, &entry.event_id)
        };
        if intact {
            report.intact += 1;
            return Ok(());
        }
        let mut writer = &segment.file;
        writer
            .seek(SeekFrom::Start(at))
            .map_err(|error| failed(&segment.path, error))?;
        writer
            .write_all(&placeholder(&entry.kind, entry.len))
            .map_err(|error| failed(&segment.path, error))?;
        report.lost.push(LostEntry {
            seq: entry.seq,
            event_id: entry.event_id,
            kind: entry.kind,
        });
        Ok(())
    })?;
    for segment in &segments {
        segment
            .file
            .sync_all()
            .map_err(|error| failed(&segment.path, error))?;
    }
    Ok(report)
}

/// An entry of the log and where its line is in the audit file.
pub(in crate::store) struct EntryLine {
    pub seq: i64,
    pub event_id: String,
    pub kind: String,
    pub at: u64,
    pub len: usize,
}

/// Visits every entry that has a line in the audit file, in the file's
/// order.
pub(in crate::store) fn each_entry_line<E: From<StoreError>>(
    connection: &Connection,
    mut visit: impl FnMut(EntryLine) -> Result<(), E>,
) -> Result<(), E> {
    let mut statement = connection
        .prepare(
            "SELECT seq, event_id, kind, payload_at, payload_len FROM decisions
             WHERE payload_at IS NOT NULL ORDER BY payload_at",
        )
        .map_err(StoreError::from)?;
    let mut rows = statement.query([]).map_err(StoreError::from)?;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        let read = |row: &rusqlite::Row<'_>| -> rusqlite::Result<(i64, String, String, i64, i64)> {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        };
        let (seq, event_id, kind, at, len) = read(row).map_err(StoreError::from)?;
        let (Ok(at), Ok(len)) = (u64::try_from(at), usize::try_from(len)) else {
            return Err(StoreError::Inconsistent(format!(
                "audit entry {seq} points at a negative place in {FILE_NAME}"
            ))
            .into());
        };
        visit(EntryLine {
            seq,
            event_id,
            kind,
            at,
            len,
        })?;
    }
    Ok(())
}

/// Whether `line` is the line of an entry of `kind` about `event_id`.
pub(in crate::store) fn line_matches(line: &[u8], kind: &str, event_id: &str) -> bool {
    let Some((&b'\n', body)) = line.split_last() else {
        return false;
    };
    match serde_json::from_slice::<Checked<'_>>(body) {
        Ok(checked) => {
            checked.kind == kind && checked.event.is_none_or(|event| event.id == event_id)
        }
        Err(_) => false,
    }
}

/// Whether `line` is the placeholder a repair left for a lost entry of
/// `kind`.
pub(in crate::store) fn is_placeholder(line: &[u8], kind: &str) -> bool {
    line == placeholder(kind, line.len()).as_slice()
}

/// A line of exactly `len` bytes saying an entry of `kind` was lost.
fn placeholder(kind: &str, len: usize) -> Vec<u8> {
    let mut text = serde_json::json!({ "kind": kind, "lost": true })
        .to_string()
        .into_bytes();
    if text.len() + 1 > len {
        text = b"null".to_vec();
    }
    if text.len() + 1 > len {
        text.clear();
    }
    text.resize(len.saturating_sub(1), b' ');
    if len > 0 {
        text.push(b'\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_keep_the_length_and_are_json() {
        for len in [40, 33, 10, 5, 1] {
            let line = placeholder("complaint", len);
            assert_eq!(line.len(), len);
            assert_eq!(line.last(), Some(&b'\n'));
            let text = std::str::from_utf8(&line).unwrap().trim();
            if !text.is_empty() {
                serde_json::from_str::<serde_json::Value>(text).unwrap();
            }
        }
        assert!(line_matches(
            b"{\"kind\":\"complaint\",\"event\":{\"id\":\"a\"},\"decision\":{}}\n",
            "complaint",
            "a"
        ));
        assert!(!line_matches(
            b"{\"kind\":\"complaint\",\"event\":{\"id\":\"b\"},\"decision\":{}}\n",
            "complaint",
            "a"
        ));
        assert!(!line_matches(
            &placeholder("complaint", 40),
            "complaint",
            "a"
        ));
    }
}
