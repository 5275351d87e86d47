//! The kept snapshots ([`crate::store::snapshot`]) in SQLite: the
//! `snapshots` and `blobs` tables.

use rusqlite::{Connection, OptionalExtension as _, params};

use crate::store::snapshot::{SnapshotRow, blob_key, component_key, from_row, to_row};
use crate::store::{SnapshotRecord, StoreError};
use crate::time::Timestamp;

fn put_blob(connection: &Connection, bytes: &[u8]) -> Result<String, StoreError> {
    let key = blob_key(bytes);
    connection
        .prepare_cached("INSERT OR IGNORE INTO blobs (sha256, content) VALUES (?1, ?2)")?
        .execute(params![key, bytes])?;
    Ok(key)
}

fn blob(connection: &Connection, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT content FROM blobs WHERE sha256 = ?1")?
        .query_row(params![key], |row| row.get(0))
        .optional()?)
}

/// Keeps `record` (a no-op if its version is kept already), inside the
/// writer's transaction.
pub(in crate::store) fn record_snapshot(
    transaction: &Connection,
    record: &SnapshotRecord,
) -> Result<(), StoreError> {
    let known: Option<i64> = transaction
        .query_row(
            "SELECT 1 FROM snapshots WHERE version = ?1",
            params![&*record.version],
            |row| row.get(0),
        )
        .optional()?;
    if known.is_some() {
        return Ok(());
    }
    let row = to_row(record, |bytes| put_blob(transaction, bytes))?;
    transaction.execute(
        "INSERT INTO snapshots (version, ruleset_version, rule_files, plugins, first_served) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            &*record.version,
            &*record.ruleset_version,
            row.rule_files,
            row.plugins,
            Timestamp::now().millis()
        ],
    )?;
    Ok(())
}

/// The kept snapshot `version`, without its components (see
/// [`component`]); `None` if it was never kept (decided before schema
/// version 6).
pub(in crate::store) fn read_snapshot(
    connection: &Connection,
    version: &str,
) -> Result<Option<SnapshotRecord>, StoreError> {
    let found: Option<(String, SnapshotRow)> = connection
        .prepare_cached(
            "SELECT ruleset_version, rule_files, plugins FROM snapshots WHERE version = ?1",
        )?
        .query_row(params![version], |row| {
            Ok((
                row.get(0)?,
                SnapshotRow {
                    rule_files: row.get(1)?,
                    plugins: row.get(2)?,
                },
            ))
        })
        .optional()?;
    found
        .map(|(ruleset_version, row)| {
            from_row(version, &ruleset_version, &row, |key| blob(connection, key))
        })
        .transpose()
}

/// The component of digest `sha256:<hex>`, if kept.
pub(in crate::store) fn component(
    connection: &Connection,
    digest: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    match component_key(digest) {
        Some(key) => blob(connection, key),
        None => Ok(None),
    }
}
