//! Moving a data directory's store onto PostgreSQL (`redress store copy`).
//!
//! Every table of the SQLite store is copied into an empty PostgreSQL
//! database in one transaction, with `COPY ... FROM STDIN BINARY`: the
//! audit log, archived entries (`archive/`) first and then the live ones,
//! with each entry's line split back into the columns PostgreSQL keeps it
//! in (event, decision, what the rules read), cases keyed by their id instead of the number a node keeps in
//! memory, their history and timers, control-line tallies, grants and
//! authority uses, and the kept snapshots with their blobs. Positions in
//! the log (`seq`) are kept, so a cursor of `GET /v1/decisions` stays
//! valid, and the database's sequences continue after them. Before it
//! commits, each table's rows are counted on both sides; any difference
//! rolls the whole copy back.
//!
//! The data directory is locked for the copy, as a daemon locks it, so no
//! decision can be made there and missed.

use std::ops::ControlFlow;
use std::path::Path;

use rusqlite::Connection;
use rusqlite::types::Value;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_postgres::types::{ToSql, Type};

use super::postgres::client::{CopyIn, PgConnection, redacted};
use super::postgres::schema;
use super::sqlite::archive::open_read_only;
use super::sqlite::audit_archive::{ArchiveIndex, archive_dir, read_archived};
use super::sqlite::audit_file::{AuditFile, Span};
use super::sqlite::audit_segments::{live_segment_starts, segment_file_name};
use super::sqlite::committed_audit_end;
use super::sqlite::lock::DataLock;
use super::sqlite::with_archive::unavailable;
use crate::store::{StoreError, database_path};

/// What a copy moved, table by table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CopyReport {
    /// Every table, in the order copied.
    pub tables: Vec<TableCount>,
    /// Audit entries whose line had been lost and repaired (`redress store
    /// repair`): copied with a `null` decision, as the data directory
    /// reads them.
    pub lost_lines: u64,
    /// The last position of the audit log (0 if it is empty); the
    /// database's log continues after it.
    pub last_seq: i64,
    /// Audit entries of the archive copied (included in `decisions`).
    pub archived_entries: u64,
    /// What the archive no longer held (files an operator deleted), one
    /// sentence per file: those entries are not in the database either.
    pub unavailable: Vec<String>,
}

/// One table's rows on both sides.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableCount {
    pub table: &'static str,
    /// Rows in the data directory's database.
    pub source: u64,
    /// Rows in PostgreSQL once copied, counted there before committing.
    pub copied: u64,
}

/// Why a copy did not happen; nothing was committed in any case.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "{database} is not empty ({holds}); copy into a new database (`createdb`), so that nothing already there is mixed with the copied state"
    )]
    NotEmpty { database: String, holds: String },
    #[error(
        "{table}: {in_directory} rows in the data directory but {copied} in the database after copying; nothing was committed"
    )]
    CountsDiffer {
        table: &'static str,
        in_directory: u64,
        copied: u64,
    },
    #[error(
        "audit entry {seq} ({kind} `{event_id}`): its line in decisions.jsonl {problem}; run `redress store repair --data DIR` first, then copy again"
    )]
    BadLine {
        seq: i64,
        kind: String,
        event_id: String,
        problem: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A column's type, on both sides.
#[derive(Debug, Clone, Copy)]
enum Column {
    Text,
    Integer,
    Real,
    Bytes,
}

use Column::{Bytes, Integer, Real, Text};

impl Column {
    fn postgres(self) -> Type {
        match self {
            Text => Type::TEXT,
            Integer => Type::INT8,
            Real => Type::FLOAT8,
            Bytes => Type::BYTEA,
        }
    }
}

/// A table copied as it is: its columns on both sides, with their
/// PostgreSQL types. `source` selects them in that order.
struct PlainTable {
    name: &'static str,
    source: &'static str,
    columns: &'static [(&'static str, Column)],
}

const BLOBS: PlainTable = PlainTable {
    name: "blobs",
    source: "SELECT sha256, content FROM blobs",
    columns: &[("sha256", Text), ("content", Bytes)],
};

const SNAPSHOTS: PlainTable = PlainTable {
    name: "snapshots",
    source: "SELECT version, ruleset_version, rule_files, plugins, first_served FROM snapshots",
    columns: &[
        ("version", Text),
        ("ruleset_version", Text),
        ("rule_files", Text),
        ("plugins", Text),
        ("first_served", Integer),
    ],
};

const CASES: PlainTable = PlainTable {
    name: "cases",
    source: "SELECT id, customer_id, status, opened_at, updated_at, category, product_line, tier, location,
                    queue, handler, escalation_level, escalation_rank, goodwill, currency, resolve_ms, follow_up_ms,
                    breach_escalate, breach_rank, breach_notify, responded_at, resolved_at, confirmed_at, closed_at,
                    sla_breaches, follow_up_scheduled, follow_ups_done
             FROM cases ORDER BY no",
    columns: &[
        ("id", Text),
        ("customer_id", Text),
        ("status", Text),
        ("opened_at", Integer),
        ("updated_at", Integer),
        ("category", Text),
        ("product_line", Text),
        ("tier", Text),
        ("location", Text),
        ("queue", Text),
        ("handler", Text),
        ("escalation_level", Text),
        ("escalation_rank", Integer),
        ("goodwill", Real),
        ("currency", Text),
        ("resolve_ms", Integer),
        ("follow_up_ms", Integer),
        ("breach_escalate", Text),
        ("breach_rank", Integer),
        ("breach_notify", Text),
        ("responded_at", Integer),
        ("resolved_at", Integer),
        ("confirmed_at", Integer),
        ("closed_at", Integer),
        ("sla_breaches", Integer),
        ("follow_up_scheduled", Integer),
        ("follow_ups_done", Integer),
    ],
};

/// A case's history, by case id rather than number (a row whose case is
/// missing is not copied, and the counts then differ).
const CASE_EVENTS: PlainTable = PlainTable {
    name: "case_events",
    source: "SELECT e.seq, c.id, e.kind, e.at, e.data FROM case_events e JOIN cases c ON c.no = e.case_no ORDER BY e.seq",
    columns: &[
        ("seq", Integer),
        ("case_id", Text),
        ("kind", Text),
        ("at", Integer),
        ("data", Text),
    ],
};

const TIMERS: PlainTable = PlainTable {
    name: "timers",
    source: "SELECT c.id, t.kind, t.due_at, t.state, t.fired_at FROM timers t JOIN cases c ON c.no = t.case_no",
    columns: &[
        ("case_id", Text),
        ("kind", Text),
        ("due_at", Integer),
        ("state", Text),
        ("fired_at", Integer),
    ],
};

const CONTROL_TALLIES: PlainTable = PlainTable {
    name: "control_tallies",
    source: "SELECT rule, grp, level, bucket, count FROM control_tallies",
    columns: &[
        ("rule", Text),
        ("grp", Text),
        ("level", Integer),
        ("bucket", Integer),
        ("count", Integer),
    ],
};

const CASE_GRANTS: PlainTable = PlainTable {
    name: "case_grants",
    source: "SELECT case_id, rule, policy, max_cost, scope, budget_window, budget_count, budget_amount FROM case_grants",
    columns: &[
        ("case_id", Text),
        ("rule", Text),
        ("policy", Text),
        ("max_cost", Real),
        ("scope", Text),
        ("budget_window", Integer),
        ("budget_count", Integer),
        ("budget_amount", Real),
    ],
};

const AUTHORITY_USES: PlainTable = PlainTable {
    name: "authority_uses",
    source: "SELECT rule, scope, policy, case_id, at, cost, used_by FROM authority_uses ORDER BY rowid",
    columns: &[
        ("rule", Text),
        ("scope", Text),
        ("policy", Text),
        ("case_id", Text),
        ("at", Integer),
        ("cost", Real),
        ("used_by", Text),
    ],
};

const PLAIN_TABLES: [PlainTable; 8] = [
    BLOBS,
    SNAPSHOTS,
    CASES,
    CASE_EVENTS,
    TIMERS,
    CONTROL_TALLIES,
    CASE_GRANTS,
    AUTHORITY_USES,
];

/// The audit log's columns in PostgreSQL, in the order copied.
const DECISION_COLUMNS: &[(&str, Column)] = &[
    ("seq", Integer),
    ("event_id", Text),
    ("case_id", Text),
    ("kind", Text),
    ("decided_at", Integer),
    ("ruleset_version", Text),
    ("plugin_digests", Text),
    ("event_digest", Text),
    ("event", Text),
    ("decision", Text),
    ("replay", Text),
];

/// Every table of the PostgreSQL schema the copy fills, as checked for
/// being empty and counted at the end.
fn target_tables() -> impl Iterator<Item = &'static str> {
    std::iter::once("decisions").chain(PLAIN_TABLES.iter().map(|table| table.name))
}

/// Copies the store of the data directory `directory` into the empty
/// PostgreSQL database at `url` (migrating its schema first), in one
/// transaction; `progress` hears of each table as it is done.
pub fn copy_to_postgres(
    directory: &Path,
    url: &str,
    progress: &mut dyn FnMut(&TableCount),
) -> Result<CopyReport, CopyError> {
    let path = database_path(directory);
    if !path.is_file() {
        return Err(StoreError::Open {
            path: path.display().to_string(),
            message: "no store here (nothing to copy)".to_string(),
        }
        .into());
    }
    let _lock = DataLock::acquire(directory)?;
    let source = open_read_only(&path, false)?;
    let committed_end = committed_audit_end(&source)?;
    let starts = live_segment_starts(&source)?;
    refuse_short_audit_file(
        directory,
        committed_end,
        starts.last().copied().unwrap_or(0),
    )?;
    let audit = AuditFile::open_for_reading(directory, committed_end, &starts)?;
    // No statement timeout: copying a big table is one long statement.
    let target = PgConnection::connect(url, None)?;
    schema::migrate(&target, url)?;
    refuse_unless_empty(&target, url)?;
    target.batch("BEGIN")?;
    let archive = ArchiveIndex::load(directory)?;
    match copy_tables(
        &source,
        &audit,
        &Archived {
            directory,
            index: &archive,
        },
        &target,
        progress,
    ) {
        Ok(report) => {
            target.batch("COMMIT")?;
            Ok(report)
        }
        Err(error) => {
            let _ = target.batch("ROLLBACK");
            Err(error)
        }
    }
}

/// Lines missing from the end of the audit file were lost, not repaired:
/// copying would carry their entries over as lost without anyone having
/// been told, so the copy stops where the daemon would.
/// Refuses a log whose last segment (starting at `last`) is shorter than
/// the database says.
fn refuse_short_audit_file(
    directory: &Path,
    committed_end: u64,
    last: u64,
) -> Result<(), StoreError> {
    let path = directory.join(segment_file_name(last));
    let length = std::fs::metadata(&path).map_or(0, |metadata| metadata.len());
    let expected = committed_end.saturating_sub(last);
    if length < expected {
        return Err(StoreError::AuditFileShort {
            path: path.display().to_string(),
            length,
            expected,
        });
    }
    Ok(())
}

fn refuse_unless_empty(target: &PgConnection, url: &str) -> Result<(), CopyError> {
    let mut holds = Vec::new();
    for table in target_tables() {
        let rows = count_target(target, table)?;
        if rows > 0 {
            holds.push(format!("{rows} rows in {table}"));
        }
    }
    if holds.is_empty() {
        return Ok(());
    }
    Err(CopyError::NotEmpty {
        database: redacted(url),
        holds: holds.join(", "),
    })
}

/// A data directory's archive of the audit log.
struct Archived<'a> {
    directory: &'a Path,
    index: &'a ArchiveIndex,
}

fn copy_tables(
    source: &Connection,
    audit: &AuditFile,
    archived: &Archived<'_>,
    target: &PgConnection,
    progress: &mut dyn FnMut(&TableCount),
) -> Result<CopyReport, CopyError> {
    let mut tables = Vec::new();
    let log = copy_decisions(source, audit, archived, target)?;
    let count = checked(target, "decisions", log.in_directory)?;
    progress(&count);
    tables.push(count);
    for table in &PLAIN_TABLES {
        copy_plain(source, target, table)?;
        let count = checked(target, table.name, count_source(source, table.name)?)?;
        progress(&count);
        tables.push(count);
    }
    // New entries and history continue after the copied positions.
    for table in ["decisions", "case_events"] {
        target.batch(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'seq'), GREATEST(MAX(seq), 1), MAX(seq) IS NOT NULL) FROM {table}"
        ))?;
    }
    Ok(CopyReport {
        tables,
        lost_lines: log.lost,
        last_seq: log.last_seq,
        archived_entries: log.archived,
        unavailable: log.unavailable,
    })
}

/// The count of `table` in PostgreSQL, which must be `source`'s.
fn checked(
    target: &PgConnection,
    table: &'static str,
    source: u64,
) -> Result<TableCount, CopyError> {
    let copied = count_target(target, table)?;
    if copied != source {
        return Err(CopyError::CountsDiffer {
            table,
            in_directory: source,
            copied,
        });
    }
    Ok(TableCount {
        table,
        source,
        copied,
    })
}

fn count_source(source: &Connection, table: &str) -> Result<u64, StoreError> {
    let rows: i64 = source.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
        row.get(0)
    })?;
    Ok(rows.max(0) as u64)
}

/// `table` is one of [`target_tables`], never a user's text.
fn count_target(target: &PgConnection, table: &str) -> Result<u64, StoreError> {
    let rows: i64 = target
        .query_one_unprepared(&format!("SELECT COUNT(*) FROM {table}"))?
        .try_get(0)?;
    Ok(rows.max(0) as u64)
}

fn copy_statement(table: &str, columns: &[(&str, Column)]) -> (String, Vec<Type>) {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    (
        format!(
            "COPY {table} ({}) FROM STDIN (FORMAT binary)",
            names.join(", ")
        ),
        columns.iter().map(|(_, kind)| kind.postgres()).collect(),
    )
}

fn copy_plain(
    source: &Connection,
    target: &PgConnection,
    table: &PlainTable,
) -> Result<u64, CopyError> {
    let (sql, types) = copy_statement(table.name, table.columns);
    let mut copy = target.copy_in(&sql, &types)?;
    let mut statement = source.prepare(table.source).map_err(StoreError::from)?;
    let mut rows = statement.query([]).map_err(StoreError::from)?;
    let mut cells = Vec::with_capacity(table.columns.len());
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        cells.clear();
        for (index, (column, kind)) in table.columns.iter().enumerate() {
            let value: Value = row.get(index).map_err(StoreError::from)?;
            cells.push(Cell::of(value, *kind).ok_or_else(|| {
                StoreError::Inconsistent(format!(
                    "{}.{column} holds a value that is not {}",
                    table.name,
                    kind.postgres()
                ))
            })?);
        }
        let params: Vec<&(dyn ToSql + Sync)> = cells.iter().map(Cell::as_sql).collect();
        copy.write(&params)?;
    }
    Ok(copy.finish()?)
}

/// One value of a SQLite row, as the PostgreSQL column's type takes it.
enum Cell {
    Text(Option<String>),
    Integer(Option<i64>),
    Real(Option<f64>),
    Bytes(Option<Vec<u8>>),
}

impl Cell {
    /// `value` as a value of `kind`; `None` if it is not one.
    fn of(value: Value, kind: Column) -> Option<Cell> {
        Some(match (value, kind) {
            (Value::Null, Text) => Cell::Text(None),
            (Value::Null, Integer) => Cell::Integer(None),
            (Value::Null, Real) => Cell::Real(None),
            (Value::Null, Bytes) => Cell::Bytes(None),
            (Value::Text(text), Text) => Cell::Text(Some(text)),
            (Value::Integer(number), Integer) => Cell::Integer(Some(number)),
            (Value::Real(number), Real) => Cell::Real(Some(number)),
            (Value::Integer(number), Real) => Cell::Real(Some(number as f64)),
            (Value::Blob(bytes), Bytes) => Cell::Bytes(Some(bytes)),
            (Value::Text(text), Bytes) => Cell::Bytes(Some(text.into_bytes())),
            _ => return None,
        })
    }

    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Cell::Text(value) => value,
            Cell::Integer(value) => value,
            Cell::Real(value) => value,
            Cell::Bytes(value) => value,
        }
    }
}

/// An audit line's parts (as [`audit_line`](super::audit_line) writes
/// them).
#[derive(Deserialize)]
struct LineParts<'a> {
    kind: &'a str,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
    #[serde(borrow)]
    decision: &'a RawValue,
    #[serde(borrow, default)]
    replay: Option<&'a RawValue>,
}

/// The id inside a complaint's event.
#[derive(Deserialize)]
struct EventId<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
}

/// One entry of the log as PostgreSQL keeps it: its event, decision and
/// what the rules read, as JSON text.
struct EntryText {
    event: Option<String>,
    decision: String,
    replay: Option<String>,
}

/// The decision a lost entry reads as (`null`, as in the data directory).
const LOST_DECISION: &str = "null";

/// What copying the audit log did.
struct LogCopied {
    /// Entries the data directory holds, live and archived (the deleted
    /// archive files' aside), counted there.
    in_directory: u64,
    archived: u64,
    /// Entries whose line had been lost.
    lost: u64,
    last_seq: i64,
    unavailable: Vec<String>,
}

/// Copies the audit log: the archive's entries, then the live ones after
/// them (an entry both archived and still in the database, left by a
/// retention step cut short, is copied once, from the archive).
fn copy_decisions(
    source: &Connection,
    audit: &AuditFile,
    archived: &Archived<'_>,
    target: &PgConnection,
) -> Result<LogCopied, CopyError> {
    let (sql, types) = copy_statement("decisions", DECISION_COLUMNS);
    let mut copy: CopyIn = target.copy_in(&sql, &types)?;
    let mut log = LogCopied {
        in_directory: 0,
        archived: 0,
        lost: 0,
        last_seq: 0,
        unavailable: Vec::new(),
    };
    for segment in &archived.index.segments {
        let path = archive_dir(archived.directory).join(&segment.file);
        if !path.is_file() {
            log.unavailable.push(unavailable(segment));
            continue;
        }
        log.in_directory += segment.entries;
        let mut failed = None;
        read_archived(&path, &mut |entry| {
            let meta = entry.meta;
            let written = entry_text(&entry.line, meta.seq, meta.kind.as_str(), &meta.event_id)
                .and_then(|text| {
                    let digests =
                        serde_json::to_string(&meta.plugin_digests).map_err(StoreError::from)?;
                    let row = LogRow {
                        seq: meta.seq,
                        event_id: &meta.event_id,
                        case_id: &meta.case_id,
                        kind: meta.kind.as_str(),
                        decided_at: meta.decided_at.millis(),
                        ruleset_version: &meta.ruleset_version,
                        plugin_digests: &digests,
                        event_digest: meta.event_digest.as_deref(),
                    };
                    write_entry(&mut copy, &row, text, &mut log)
                });
            match written {
                Ok(()) => {
                    log.archived += 1;
                    ControlFlow::Continue(())
                }
                Err(error) => {
                    failed = Some(error);
                    ControlFlow::Break(())
                }
            }
        })?;
        if let Some(error) = failed {
            return Err(error);
        }
    }
    let archived_to = archived.index.last_seq();
    let mut statement = source
        .prepare(
            "SELECT seq, event_id, case_id, kind, decided_at, ruleset_version, plugin_digests, event_digest,
                    event, decision, payload_at, payload_len
             FROM decisions WHERE seq > ?1 ORDER BY seq",
        )
        .map_err(StoreError::from)?;
    let mut rows = statement.query([archived_to]).map_err(StoreError::from)?;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        let read = |row: &rusqlite::Row<'_>| -> rusqlite::Result<_> {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, String>(6)?,
                row.get::<_, Option<String>>(7)?,
            ))
        };
        let (seq, event_id, case_id, kind, decided_at, ruleset_version, digests, event_digest) =
            read(row).map_err(StoreError::from)?;
        let in_row = |row: &rusqlite::Row<'_>| -> rusqlite::Result<_> {
            Ok((
                row.get::<_, Option<String>>(8)?,
                row.get::<_, Option<String>>(9)?,
                row.get::<_, Option<i64>>(10)?,
                row.get::<_, Option<i64>>(11)?,
            ))
        };
        let (row_event, row_decision, payload_at, payload_len) =
            in_row(row).map_err(StoreError::from)?;
        let text = match (payload_at, payload_len) {
            (Some(at), Some(len)) => match audit.read_line(Span { at, len })? {
                Some(line) => entry_text(&line, seq, &kind, &event_id)?,
                None => None,
            },
            // Written before schema version 5: the parts are in the row.
            _ => row_decision.map(|decision| EntryText {
                event: row_event,
                decision,
                replay: None,
            }),
        };
        let row = LogRow {
            seq,
            event_id: &event_id,
            case_id: &case_id,
            kind: &kind,
            decided_at,
            ruleset_version: &ruleset_version,
            plugin_digests: &digests,
            event_digest: event_digest.as_deref(),
        };
        write_entry(&mut copy, &row, text, &mut log)?;
        log.in_directory += 1;
    }
    copy.finish()?;
    Ok(log)
}

/// What the database knew of an entry.
struct LogRow<'a> {
    seq: i64,
    event_id: &'a str,
    case_id: &'a str,
    kind: &'a str,
    decided_at: i64,
    ruleset_version: &'a str,
    plugin_digests: &'a str,
    event_digest: Option<&'a str>,
}

/// Writes one entry (`text` `None`: its line was lost).
fn write_entry(
    copy: &mut CopyIn,
    row: &LogRow<'_>,
    text: Option<EntryText>,
    log: &mut LogCopied,
) -> Result<(), CopyError> {
    let text = text.unwrap_or_else(|| {
        log.lost += 1;
        EntryText {
            event: None,
            decision: LOST_DECISION.to_string(),
            replay: None,
        }
    });
    copy.write(&[
        &row.seq,
        &row.event_id,
        &row.case_id,
        &row.kind,
        &row.decided_at,
        &row.ruleset_version,
        &row.plugin_digests,
        &row.event_digest,
        &text.event,
        &text.decision,
        &text.replay,
    ])?;
    log.last_seq = row.seq;
    Ok(())
}

/// The parts of an entry's `line`, checked to be that entry's; `None` for
/// what a repair left of a line too short for its placeholder.
fn entry_text(
    line: &[u8],
    seq: i64,
    kind: &str,
    event_id: &str,
) -> Result<Option<EntryText>, CopyError> {
    let bad = |problem: String| CopyError::BadLine {
        seq,
        kind: kind.to_string(),
        event_id: event_id.to_string(),
        problem,
    };
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    if matches!(body.trim_ascii_end(), b"" | b"null") {
        return Ok(None);
    }
    let parts: LineParts<'_> =
        serde_json::from_slice(body).map_err(|error| bad(format!("cannot be read ({error})")))?;
    if parts.kind != kind {
        return Err(bad(format!("is of a `{}` entry", parts.kind)));
    }
    if let Some(event) = parts.event {
        let named: EventId<'_> = serde_json::from_str(event.get())
            .map_err(|error| bad(format!("has an event without an id ({error})")))?;
        if named.id != event_id {
            return Err(bad(format!("is about event `{}`", named.id)));
        }
    }
    Ok(Some(EntryText {
        event: parts.event.map(|event| event.get().to_string()),
        decision: parts.decision.get().to_string(),
        replay: parts.replay.map(|replay| replay.get().to_string()),
    }))
}
