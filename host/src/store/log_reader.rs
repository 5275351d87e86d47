//! Reading the complaint decisions of the audit log back whole, with their
//! events and recordings, for `redress replay`, `redress diff` and the
//! reload gate: through [`AuditReader`], which the daemon's store and the
//! offline [`Archive`](super::Archive) both implement.

use std::ops::ControlFlow;

use rusqlite::{Connection, params_from_iter};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::intake::Recording;
use crate::store::StoreError;
use crate::store::audit_file::{AuditFile, Span};
use crate::store::versions::SnapshotRecord;
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

/// The parts of a complaint's line.
#[derive(Debug, Deserialize)]
pub struct LineParts<'a> {
    #[serde(borrow)]
    pub event: &'a RawValue,
    #[serde(borrow)]
    pub decision: &'a RawValue,
    /// What it read; absent for decisions recorded before Redress kept it.
    #[serde(default)]
    pub replay: Option<Recording>,
}

impl LoggedComplaint {
    /// Its line's parts, or why there are none.
    pub fn parts(&self) -> Result<LineParts<'_>, String> {
        let line = self.line.as_deref().ok_or_else(|| {
            "its line is not in decisions.jsonl (lost and repaired, or written before schema version 5)".to_string()
        })?;
        serde_json::from_slice(line).map_err(|error| format!("its line cannot be read: {error}"))
    }
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

/// A row of the query: seq, event id, decided at, payload at and length.
type Row = (i64, String, i64, Option<i64>, Option<i64>);

/// [`AuditReader::complaints`] on a connection and the audit file.
pub(super) fn visit_complaints(
    connection: &Connection,
    audit: &AuditFile,
    query: &LogQuery,
    visit: &mut dyn FnMut(LoggedComplaint) -> ControlFlow<()>,
) -> Result<(), StoreError> {
    let mut sql = String::from(
        "SELECT seq, event_id, decided_at, payload_at, payload_len FROM decisions WHERE kind = 'complaint'",
    );
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(since) = query.since {
        sql.push_str(" AND decided_at >= ?");
        values.push(since.millis().into());
    }
    if let Some(until) = query.until {
        sql.push_str(" AND decided_at < ?");
        values.push(until.millis().into());
    }
    if let Some(case) = &query.case_id {
        sql.push_str(" AND case_id = ?");
        values.push(case.clone().into());
    }
    let rows: Vec<Row> = match query.last {
        Some(last) => {
            sql.push_str(" ORDER BY seq DESC LIMIT ?");
            values.push((last as i64).into());
            let mut rows = collect(connection, &sql, values)?;
            rows.reverse();
            rows
        }
        None => {
            sql.push_str(" ORDER BY seq");
            // Streamed: a year's log does not fit in memory as rows.
            let mut statement = connection.prepare(&sql)?;
            let mut rows = statement.query(params_from_iter(values))?;
            while let Some(row) = rows.next()? {
                let entry = logged(
                    audit,
                    (
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ),
                )?;
                if visit(entry).is_break() {
                    break;
                }
            }
            return Ok(());
        }
    };
    for row in rows {
        if visit(logged(audit, row)?).is_break() {
            break;
        }
    }
    Ok(())
}

fn collect(
    connection: &Connection,
    sql: &str,
    values: Vec<rusqlite::types::Value>,
) -> Result<Vec<Row>, StoreError> {
    let mut statement = connection.prepare(sql)?;
    let rows = statement
        .query_map(params_from_iter(values), |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn logged(
    audit: &AuditFile,
    (seq, event_id, decided_at, at, len): Row,
) -> Result<LoggedComplaint, StoreError> {
    let line = match (at, len) {
        (Some(at), Some(len)) => audit.read_line(Span { at, len })?,
        _ => None,
    };
    Ok(LoggedComplaint {
        seq,
        event_id,
        decided_at: Timestamp(decided_at),
        line,
    })
}
