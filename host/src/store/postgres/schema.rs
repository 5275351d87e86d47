//! The PostgreSQL schema, versioned in `host/migrations/postgres/` and
//! applied at start by whichever node gets there first.

use super::client::{PgConnection, redacted};
use super::locks;
use crate::store::StoreError;

/// Schema migrations, in order; applied once each.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_report_figures_on_cases.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_retention_indexes.sql"),
    ),
];

fn known() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _)| *version)
}

/// The schema version the database is at; 0 for an empty database.
fn found(connection: &PgConnection) -> Result<i64, StoreError> {
    let exists: bool = connection
        .query_one(
            "SELECT to_regclass('redress_schema_migrations') IS NOT NULL",
            &[],
        )?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    Ok(connection
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM redress_schema_migrations",
            &[],
        )?
        .try_get(0)?)
}

/// Brings the database to this binary's schema, under a lock so that
/// nodes starting together migrate once; refuses a newer database.
pub(in crate::store) fn migrate(connection: &PgConnection, url: &str) -> Result<(), StoreError> {
    connection.batch(&format!("SELECT pg_advisory_lock({})", locks::MIGRATIONS))?;
    let result = migrate_locked(connection, url);
    let unlocked = connection.batch(&format!("SELECT pg_advisory_unlock({})", locks::MIGRATIONS));
    result.and(unlocked)
}

fn migrate_locked(connection: &PgConnection, url: &str) -> Result<(), StoreError> {
    connection.batch(
        "CREATE TABLE IF NOT EXISTS redress_schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )?;
    let current = found(connection)?;
    if current > known() {
        return Err(StoreError::NewerSchema {
            found: current,
            known: known(),
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        connection.batch("BEGIN")?;
        let applied = connection.batch(sql).and_then(|()| {
            connection.batch(&format!(
                "INSERT INTO redress_schema_migrations (version) VALUES ({version})"
            ))
        });
        match applied {
            Ok(()) => connection.batch("COMMIT")?,
            Err(error) => {
                let _ = connection.batch("ROLLBACK");
                return Err(StoreError::Open {
                    path: redacted(url),
                    message: format!("schema migration {version} failed: {error}"),
                });
            }
        }
        tracing::info!(version, database = %redacted(url), "migrated the PostgreSQL schema");
    }
    Ok(())
}

/// Refuses a database of another schema version than this binary's (the
/// offline tools read; they do not migrate).
pub(super) fn check_current(connection: &PgConnection, url: &str) -> Result<(), StoreError> {
    let found = found(connection)?;
    if found > known() {
        return Err(StoreError::NewerSchema {
            found,
            known: known(),
        });
    }
    if found < known() {
        return Err(StoreError::Open {
            path: redacted(url),
            message: format!(
                "the database is at schema version {found}, this Redress needs {}; start a daemon on it once to migrate it",
                known()
            ),
        });
    }
    Ok(())
}
