//! Online backups of a data directory (`redress backup`, `redress
//! restore`), taken while the daemon runs.
//!
//! A backup is a directory holding `redress.db`, the audit log's live
//! segments (`decisions.jsonl` and the ones after it), the archive
//! (`archive/`, if there is one) and `backup.json`. The database is copied
//! first, with SQLite's backup API in one step, so the copy is one
//! consistent snapshot even while the writer commits. The copy lists the
//! live segments and says how far into the log its last committed entry
//! reaches; segments are append-only and every line is written before the
//! transaction that points at it commits, so each listed segment's first
//! bytes up to there are exactly the lines the copy needs, whatever the
//! daemon appends meanwhile. While it copies them the backup holds
//! `segments.lock`, so retention does not remove a segment it archived
//! under it. Archived files never change once the index names them.
//! `backup.json` records the counts and every file's SHA-256, so that a
//! restore can tell a good backup from a damaged one.
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
use super::audit_archive::{ARCHIVE_DIR, ArchiveIndex, INDEX, archive_dir};
use super::audit_segments::{
    SegmentFiles, live_segment_starts, segment_file_name, segment_files_in,
};
use super::lock::SegmentsLock;
use super::repair::{EntryLine, each_entry_line, is_placeholder, line_matches};
use super::{MIGRATIONS, committed_audit_end};
use crate::store::{DataLock, StoreError, database_path};
use crate::time::Timestamp;

/// The manifest's file name in a backup.
pub const MANIFEST: &str = "backup.json";

/// Bytes of the audit file copied between syncs of the copy.
const SYNC_EVERY: usize = 4 << 20;

/// The layout of a backup this version writes and reads.
const FORMAT: u32 = 2;

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
    /// Where the log's last committed line ends (bytes across segments).
    pub audit_bytes: u64,
    /// The live segments of the audit log, oldest first.
    pub segments: Vec<BackedUpFile>,
    /// The archive: its index and archived segments (none without one).
    pub archive: Vec<BackedUpFile>,
}

/// A file of the backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackedUpFile {
    /// Its path in the backup (and the data directory).
    pub file: String,
    pub bytes: u64,
    /// `sha256:<hex>` of it.
    pub sha256: String,
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
    if holds_a_store(destination) {
        return Err(BackupError::NotEmpty(destination.to_path_buf()));
    }
    let taken = take_backup(directory, &source_db, destination);
    if taken.is_err() {
        // A backup that failed half-way is not left looking like one.
        let _ = std::fs::remove_file(destination.join(MANIFEST));
        let _ = std::fs::remove_file(database_path(destination));
        remove_segments(destination);
        let _ = std::fs::remove_dir_all(archive_dir(destination));
    }
    taken
}

/// Whether `directory` holds a database, a manifest, an audit segment or
/// an archive.
fn holds_a_store(directory: &Path) -> bool {
    database_path(directory).exists()
        || directory.join(MANIFEST).exists()
        || archive_dir(directory).exists()
        || !segment_files_in(directory).is_empty()
}

fn remove_segments(directory: &Path) {
    for (_, path) in segment_files_in(directory) {
        let _ = std::fs::remove_file(path);
    }
}

fn take_backup(
    directory: &Path,
    source_db: &Path,
    destination: &Path,
) -> Result<BackupManifest, BackupError> {
    // Held until the live segments are copied (see the module's comment).
    let _segments = SegmentsLock::shared(directory);
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
    let starts = live_segment_starts(&target)?;
    drop(target);
    for (index, &start) in starts.iter().enumerate() {
        let end = starts
            .get(index + 1)
            .copied()
            .unwrap_or(manifest.audit_bytes)
            .max(start);
        let name = segment_file_name(start);
        let sha256 = copy_prefix(
            &directory.join(&name),
            &destination.join(&name),
            end - start,
        )?;
        manifest.segments.push(BackedUpFile {
            file: name,
            bytes: end - start,
            sha256,
        });
    }
    manifest.archive = copy_archive(directory, destination)?;
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
    if holds_a_store(directory) {
        return Err(BackupError::NotEmpty(directory.to_path_buf()));
    }
    if !manifest.archive.is_empty() {
        let archive = archive_dir(directory);
        std::fs::create_dir_all(&archive).map_err(io(&archive))?;
    }
    // Each file under a temporary name, then renamed, the database last: a
    // restore cut short leaves no store that looks whole.
    let files = manifest
        .segments
        .iter()
        .chain(&manifest.archive)
        .map(|file| (source.join(&file.file), directory.join(&file.file)))
        .chain([(database_path(source), target_db)]);
    for (from, to) in files {
        let partial = to.with_extension("restoring");
        std::fs::copy(&from, &partial).map_err(io(&from))?;
        sync(&partial)?;
        std::fs::rename(&partial, &to).map_err(io(&to))?;
    }
    if !manifest.archive.is_empty() {
        sync(&archive_dir(directory))?;
    }
    sync(directory)?;
    Ok(manifest)
}

/// A manifest of format 1 (one audit file, before segments and archives).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestV1 {
    #[serde(rename = "format")]
    _format: u32,
    taken_at: Timestamp,
    schema_version: i64,
    entries: i64,
    last_seq: i64,
    cases: i64,
    pending_timers: i64,
    audit_bytes: u64,
    audit_sha256: String,
}

/// The manifest in `text`, of this format or of format 1 (read as this
/// one: its audit file is the log's one segment).
fn read_manifest(source: &Path, text: &[u8]) -> Result<BackupManifest, BackupError> {
    #[derive(Deserialize)]
    struct Format {
        format: u32,
    }
    let not_one = |error: serde_json::Error| BackupError::NoManifest {
        path: source.to_path_buf(),
        source: Box::new(error),
    };
    let format = serde_json::from_slice::<Format>(text)
        .map_err(not_one)?
        .format;
    match format {
        FORMAT => serde_json::from_slice(text).map_err(not_one),
        1 => {
            let v1: ManifestV1 = serde_json::from_slice(text).map_err(not_one)?;
            Ok(BackupManifest {
                format: 1,
                taken_at: v1.taken_at,
                schema_version: v1.schema_version,
                entries: v1.entries,
                last_seq: v1.last_seq,
                cases: v1.cases,
                pending_timers: v1.pending_timers,
                audit_bytes: v1.audit_bytes,
                segments: vec![BackedUpFile {
                    file: segment_file_name(0),
                    bytes: v1.audit_bytes,
                    sha256: v1.audit_sha256,
                }],
                archive: Vec::new(),
            })
        }
        found => Err(BackupError::Format {
            path: source.to_path_buf(),
            found,
        }),
    }
}

/// Everything a restore checks, without writing anything.
pub fn verify_backup(source: &Path) -> Result<BackupManifest, BackupError> {
    let manifest_path = source.join(MANIFEST);
    let text = std::fs::read(&manifest_path).map_err(|error| BackupError::NoManifest {
        path: source.to_path_buf(),
        source: Box::new(error),
    })?;
    let manifest = read_manifest(source, &text)?;
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
            "{MANIFEST} says the log ends at byte {}, the database at {}",
            manifest.audit_bytes, found.audit_bytes
        )));
    }
    // A database before schema version 9 has one segment, the first.
    let starts = if found.schema_version >= 9 {
        live_segment_starts(&connection)?
    } else {
        vec![0]
    };
    let listed: Vec<String> = starts
        .iter()
        .map(|&start| segment_file_name(start))
        .collect();
    let named: Vec<&str> = manifest
        .segments
        .iter()
        .map(|file| file.file.as_str())
        .collect();
    if listed != named {
        return Err(damaged(format!(
            "{MANIFEST} names the audit segments {named:?}, the database lists {listed:?}"
        )));
    }
    for file in manifest.segments.iter().chain(&manifest.archive) {
        let path = source.join(&file.file);
        let length = std::fs::metadata(&path)
            .map_err(|error| damaged(format!("{} cannot be read ({error})", path.display())))?
            .len();
        if length != file.bytes {
            return Err(damaged(format!(
                "{} is {length} bytes, {MANIFEST} says {}",
                file.file, file.bytes
            )));
        }
        let digest = digest_of(&path)?;
        if digest != file.sha256 {
            return Err(damaged(format!(
                "{}'s SHA-256 is {digest}, {MANIFEST} says {}",
                file.file, file.sha256
            )));
        }
    }
    let segments = SegmentFiles::open(source, &starts, |_| false)?;
    check_lines(&connection, &segments, source)?;
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
        segments: Vec::new(),
        archive: Vec::new(),
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

/// Copies the archive of `directory` (its index and the archived files it
/// names that are there) into `destination`; the files copied.
fn copy_archive(directory: &Path, destination: &Path) -> Result<Vec<BackedUpFile>, BackupError> {
    let index = ArchiveIndex::load(directory)?;
    if index.segments.is_empty() {
        return Ok(Vec::new());
    }
    let target = archive_dir(destination);
    std::fs::create_dir_all(&target).map_err(io(&target))?;
    let mut copied = Vec::new();
    for segment in &index.segments {
        let from = archive_dir(directory).join(&segment.file);
        if !from.is_file() {
            // Deleted by the operator: the index still says what it held.
            continue;
        }
        let to = target.join(&segment.file);
        let bytes = std::fs::metadata(&from).map_err(io(&from))?.len();
        let sha256 = copy_prefix(&from, &to, bytes)?;
        if sha256 != segment.sha256 {
            return Err(BackupError::Damaged {
                path: directory.to_path_buf(),
                what: format!(
                    "archive/{}'s SHA-256 is {sha256}, the archive's index says {}",
                    segment.file, segment.sha256
                ),
            });
        }
        copied.push(BackedUpFile {
            file: format!("{ARCHIVE_DIR}/{}", segment.file),
            bytes,
            sha256,
        });
    }
    index.save(destination)?;
    let index_file = format!("{ARCHIVE_DIR}/{INDEX}");
    let index_path = destination.join(&index_file);
    copied.push(BackedUpFile {
        bytes: std::fs::metadata(&index_path)
            .map_err(io(&index_path))?
            .len(),
        sha256: digest_of(&index_path)?,
        file: index_file,
    });
    Ok(copied)
}

/// Every entry's line is where the database says and holds what it says.
fn check_lines(
    connection: &Connection,
    segments: &SegmentFiles,
    backup: &Path,
) -> Result<(), BackupError> {
    let mut line = Vec::new();
    each_entry_line(connection, |entry: EntryLine| {
        line.resize(entry.len, 0);
        // A placeholder is what a repair left for a lost entry: the
        // database points at it, so it belongs to the backup as it is.
        let intact = segments.read_exact_at(&mut line, entry.at).is_ok()
            && (line_matches(&line, &entry.kind, &entry.event_id)
                || is_placeholder(&line, &entry.kind));
        if intact {
            return Ok(());
        }
        Err(BackupError::Damaged {
            path: backup.to_path_buf(),
            what: format!(
                "entry {} ({} `{}`) does not have its line at byte {} of the audit log",
                entry.seq, entry.kind, entry.event_id, entry.at,
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
