//! Online backups of a data directory (`redress backup`, `redress
//! restore`), taken while the daemon runs.
//!
//! A backup is a directory holding `redress.db`, `decisions.jsonl` and
//! `backup.json`. The database is copied first, with SQLite's backup API in
//! one step, so the copy is one consistent snapshot even while the writer
//! commits. The copy says how far into the audit file its last committed
//! entry reaches; the audit file is append-only and every line is written
//! before the transaction that points at it commits, so the file's first
//! that many bytes are exactly the lines the copy needs, whatever the daemon
//! appends meanwhile. `backup.json` records the counts and the audit part's
//! SHA-256, so that a restore can tell a good backup from a damaged one.
//!
//! A restore checks everything before it writes anything: the manifest,
//! SQLite's integrity check, the counts and the last position against the
//! manifest, the audit file's length and digest, and every entry's line
//! against what the database says it holds (its kind and event id).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::archive::open_read_only;
use super::audit_file::{FILE_NAME, read_exact_at};
use super::repair::{EntryLine, each_entry_line, is_placeholder, line_matches};
use super::{MIGRATIONS, committed_audit_end};
use crate::store::{DataLock, StoreError, database_path};
use crate::time::Timestamp;

/// The manifest's file name in a backup.
pub const MANIFEST: &str = "backup.json";

/// Bytes of the audit file copied between syncs of the copy.
const SYNC_EVERY: usize = 4 << 20;

/// The layout of a backup this version writes and reads.
const FORMAT: u32 = 1;

/// What a backup holds, written beside it and checked on restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupManifest {
    pub format: u32,
    /// When the snapshot was taken.
    pub taken_at: Timestamp,
    pub schema_version: i64,
    /// Entries of the audit log (decisions, complaint and time-based).
    pub entries: i64,
    /// The last entry's position in the log (0 for an empty log).
    pub last_seq: i64,
    pub cases: i64,
    pub pending_timers: i64,
    /// Bytes of `decisions.jsonl` the entries point into.
    pub audit_bytes: u64,
    /// `sha256:<hex>` of those bytes.
    pub audit_sha256: String,
}

/// Why a backup could not be taken or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    #[error("{0} already holds a store or a backup; give an empty or new directory")]
    NotEmpty(PathBuf),
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot copy the database into {path}")]
    Copy {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path} is not a Redress backup (no readable {MANIFEST})")]
    NoManifest {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "{path}: backup format {found}, but this Redress reads format {FORMAT}; restore it with the version that took it"
    )]
    Format { path: PathBuf, found: u32 },
    /// The backup does not hold what its manifest says: it was damaged,
    /// cut short or edited.
    #[error("the backup in {path} is damaged: {what}; nothing was restored")]
    Damaged { path: PathBuf, what: String },
    #[error("{0} stayed busy for ten seconds; try again")]
    Busy(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Takes a consistent backup of the data directory `directory` into
/// `destination` (created if missing; refused if it holds a store or a
/// backup), while a daemon runs there or not.
pub fn backup_data_dir(
    directory: &Path,
    destination: &Path,
) -> Result<BackupManifest, BackupError> {
    let source_db = database_path(directory);
    if !source_db.is_file() {
        return Err(StoreError::Open {
            path: source_db.display().to_string(),
            message: "no store here (nothing to back up)".to_string(),
        }
        .into());
    }
    std::fs::create_dir_all(destination).map_err(io(destination))?;
    let written = [
        database_path(destination),
        destination.join(FILE_NAME),
        destination.join(MANIFEST),
    ];
    if written.iter().any(|path| path.exists()) {
        return Err(BackupError::NotEmpty(destination.to_path_buf()));
    }
    let taken = take_backup(directory, &source_db, destination);
    if taken.is_err() {
        // A backup that failed half-way is not left looking like one.
        for path in &written {
            let _ = std::fs::remove_file(path);
        }
    }
    taken
}

fn take_backup(
    directory: &Path,
    source_db: &Path,
    destination: &Path,
) -> Result<BackupManifest, BackupError> {
    let target_db = database_path(destination);
    let source = open_read_only(source_db, false)?;
    let mut target = Connection::open(&target_db).map_err(|source| BackupError::Copy {
        path: target_db.clone(),
        source,
    })?;
    {
        let copy = |source| BackupError::Copy {
            path: target_db.clone(),
            source,
        };
        let backup = Backup::new(&source, &mut target).map_err(copy)?;
        // One step of all pages: one read transaction on the source, so
        // the copy is a single snapshot. A source busy for a moment (a
        // checkpoint) is tried again, for up to ten seconds.
        let mut attempts = 0;
        loop {
            match backup.step(-1).map_err(copy)? {
                StepResult::Done => break,
                StepResult::More | StepResult::Busy | StepResult::Locked if attempts < 1000 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                _ => {
                    return Err(BackupError::Busy(source_db.to_path_buf()));
                }
            }
        }
    }
    // A copy is a self-contained file: no WAL beside it.
    target
        .execute_batch("PRAGMA journal_mode = DELETE;")
        .map_err(|source| BackupError::Copy {
            path: target_db.clone(),
            source,
        })?;
    let mut manifest = read_counts(&target)?;
    drop(target);
    let audit_source = directory.join(FILE_NAME);
    let audit_target = destination.join(FILE_NAME);
    manifest.audit_sha256 = copy_prefix(&audit_source, &audit_target, manifest.audit_bytes)?;
    sync(&target_db)?;
    let text = serde_json::to_vec_pretty(&manifest).map_err(StoreError::from)?;
    let manifest_path = destination.join(MANIFEST);
    std::fs::write(&manifest_path, text).map_err(io(&manifest_path))?;
    sync(&manifest_path)?;
    sync(destination)?;
    Ok(manifest)
}

/// Checks the backup in `source` and puts it into the data directory
/// `directory`, which must not hold a store (and no daemon may run there).
pub fn restore_data_dir(source: &Path, directory: &Path) -> Result<BackupManifest, BackupError> {
    let manifest = verify_backup(source)?;
    std::fs::create_dir_all(directory).map_err(io(directory))?;
    let _lock = DataLock::acquire(directory)?;
    let target_db = database_path(directory);
    let target_audit = directory.join(FILE_NAME);
    if target_db.exists() || target_audit.exists() {
        return Err(BackupError::NotEmpty(directory.to_path_buf()));
    }
    // Each file under a temporary name, then renamed: a restore cut short
    // leaves no store that looks whole.
    for (from, to) in [
        (source.join(FILE_NAME), target_audit),
        (database_path(source), target_db),
    ] {
        let partial = to.with_extension("restoring");
        std::fs::copy(&from, &partial).map_err(io(&from))?;
        sync(&partial)?;
        std::fs::rename(&partial, &to).map_err(io(&to))?;
    }
    sync(directory)?;
    Ok(manifest)
}

/// Everything a restore checks, without writing anything.
pub fn verify_backup(source: &Path) -> Result<BackupManifest, BackupError> {
    let manifest_path = source.join(MANIFEST);
    let text = std::fs::read(&manifest_path).map_err(|error| BackupError::NoManifest {
        path: source.to_path_buf(),
        source: Box::new(error),
    })?;
    let manifest: BackupManifest =
        serde_json::from_slice(&text).map_err(|error| BackupError::NoManifest {
            path: source.to_path_buf(),
            source: Box::new(error),
        })?;
    if manifest.format != FORMAT {
        return Err(BackupError::Format {
            path: source.to_path_buf(),
            found: manifest.format,
        });
    }
    let damaged = |what: String| BackupError::Damaged {
        path: source.to_path_buf(),
        what,
    };
    let database = database_path(source);
    if !database.is_file() {
        return Err(damaged(format!("{} is missing", database.display())));
    }
    let connection = open_read_only(&database, true).map_err(|error| {
        damaged(format!(
            "its database does not open as a Redress store ({error})"
        ))
    })?;
    let integrity: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|error| damaged(format!("SQLite's integrity check failed to run ({error})")))?;
    if integrity != "ok" {
        return Err(damaged(format!(
            "SQLite's integrity check says: {integrity}"
        )));
    }
    let found = read_counts(&connection)?;
    for (what, recorded, counted) in [
        (
            "schema version",
            manifest.schema_version,
            found.schema_version,
        ),
        ("entries", manifest.entries, found.entries),
        ("last position", manifest.last_seq, found.last_seq),
        ("cases", manifest.cases, found.cases),
        (
            "pending timers",
            manifest.pending_timers,
            found.pending_timers,
        ),
    ] {
        if recorded != counted {
            return Err(damaged(format!(
                "{MANIFEST} says {recorded} {what}, the database holds {counted}"
            )));
        }
    }
    if found.audit_bytes != manifest.audit_bytes {
        return Err(damaged(format!(
            "{MANIFEST} says the log points {} bytes into {FILE_NAME}, the database {}",
            manifest.audit_bytes, found.audit_bytes
        )));
    }
    let audit_path = source.join(FILE_NAME);
    let audit = File::open(&audit_path)
        .map_err(|error| damaged(format!("{} cannot be read ({error})", audit_path.display())))?;
    let length = audit.metadata().map_err(io(&audit_path))?.len();
    if length != manifest.audit_bytes {
        return Err(damaged(format!(
            "{FILE_NAME} is {length} bytes, {MANIFEST} says {}",
            manifest.audit_bytes
        )));
    }
    let digest = digest_of(&audit_path)?;
    if digest != manifest.audit_sha256 {
        return Err(damaged(format!(
            "{FILE_NAME}'s SHA-256 is {digest}, {MANIFEST} says {}",
            manifest.audit_sha256
        )));
    }
    check_lines(&connection, &audit, &audit_path)?;
    Ok(manifest)
}

/// The counts a manifest records, read from a database.
fn read_counts(connection: &Connection) -> Result<BackupManifest, StoreError> {
    let count = |sql: &str| -> Result<i64, StoreError> {
        Ok(connection.query_row(sql, [], |row| row.get(0))?)
    };
    let schema_version = count("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")?;
    let known = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    if schema_version > known {
        return Err(StoreError::NewerSchema {
            found: schema_version,
            known,
        });
    }
    Ok(BackupManifest {
        format: FORMAT,
        taken_at: Timestamp::now(),
        schema_version,
        entries: count("SELECT COUNT(*) FROM decisions")?,
        last_seq: count("SELECT COALESCE(MAX(seq), 0) FROM decisions")?,
        cases: count("SELECT COUNT(*) FROM cases")?,
        pending_timers: count("SELECT COUNT(*) FROM timers WHERE state = 'pending'")?,
        audit_bytes: committed_audit_end(connection)?,
        audit_sha256: String::new(),
    })
}

/// Copies the first `length` bytes of `from` to `to` (synced); their
/// digest.
fn copy_prefix(from: &Path, to: &Path, length: u64) -> Result<String, BackupError> {
    let source = File::open(from).map_err(io(from))?;
    let available = source.metadata().map_err(io(from))?.len();
    if available < length {
        return Err(StoreError::AuditFileShort {
            path: from.display().to_string(),
            length: available,
            expected: length,
        }
        .into());
    }
    let mut target = File::create_new(to).map_err(io(to))?;
    let mut hasher = Sha256::new();
    let mut reader = source.take(length);
    let mut buffer = vec![0; 1 << 16];
    let mut unsynced = 0;
    loop {
        let read = reader.read(&mut buffer).map_err(io(from))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        target.write_all(&buffer[..read]).map_err(io(to))?;
        // Synced as it goes: on a journalling file system the daemon's
        // own commit syncs would otherwise wait for the whole copy's
        // dirty pages to reach the disk.
        unsynced += read;
        if unsynced >= SYNC_EVERY {
            target.sync_data().map_err(io(to))?;
            unsynced = 0;
        }
    }
    target.sync_all().map_err(io(to))?;
    Ok(hex_digest(hasher))
}

fn digest_of(path: &Path) -> Result<String, BackupError> {
    let mut file = File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io(path))?;
    Ok(hex_digest(hasher))
}

fn hex_digest(hasher: Sha256) -> String {
    crate::digest::tagged_of(hasher)
}

/// Every entry's line is where the database says and holds what it says.
fn check_lines(connection: &Connection, audit: &File, path: &Path) -> Result<(), BackupError> {
    let mut line = Vec::new();
    each_entry_line(connection, |entry: EntryLine| {
        line.resize(entry.len, 0);
        // A placeholder is what a repair left for a lost entry: the
        // database points at it, so it belongs to the backup as it is.
        let intact = read_exact_at(audit, &mut line, entry.at).is_ok()
            && (line_matches(&line, &entry.kind, &entry.event_id)
                || is_placeholder(&line, &entry.kind));
        if intact {
            return Ok(());
        }
        Err(BackupError::Damaged {
            path: path.parent().unwrap_or(path).to_path_buf(),
            what: format!(
                "entry {} ({} `{}`) does not have its line at byte {} of {}",
                entry.seq,
                entry.kind,
                entry.event_id,
                entry.at,
                path.display()
            ),
        })
    })
}

/// Syncs a file or a directory to disk.
fn sync(path: &Path) -> Result<(), BackupError> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(io(path))
}
