//! [`AuditReader::complaints`](crate::store::AuditReader::complaints) on
//! SQLite: the `decisions` table says where each complaint's line is in the
//! audit file.

use std::ops::ControlFlow;

use rusqlite::{Connection, params_from_iter};

use super::audit_file::{AuditFile, Span};
use crate::store::{LogQuery, LoggedComplaint, StoreError};
use crate::time::Timestamp;

/// A row of the query: seq, event id, decided at, payload at and length.
type Row = (i64, String, i64, Option<i64>, Option<i64>);

/// [`AuditReader::complaints`] on a connection and the audit file.
pub(in crate::store) fn visit_complaints(
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
                let entry = logged(audit, row_of(row)?)?;
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
        .query_map(params_from_iter(values), row_of)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn row_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
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
