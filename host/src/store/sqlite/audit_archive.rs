//! The audit log's archive: segments past the live window, compressed
//! with zstd into `archive/` beside the database, with `archive/index.json`
//! saying what each holds. Archived entries leave the database; the
//! archive is what `redress audit`, `replay` and `diff` read with
//! `--include-archive`.
//!
//! An archived segment is one zstd stream of JSON lines, one per entry, in
//! the log's order. Each is the entry's line as the live segment had it,
//! with what the database knew of the entry put in front under `entry`:
//!
//! ```text
//! {"entry":{"seq":7,"event_id":"c-7","case_id":"c-7","kind":"complaint","decided_at":…,"ruleset_version":…,"plugin_digests":{…},"event_digest":…},"kind":"complaint","event":{…},"decision":{…},"replay":{…}}
//! ```
//!
//! so an archive needs nothing else to be read (`zstdcat … | jq` works),
//! and the live line comes back byte for byte. A file is written under a
//! temporary name, synced and renamed before the index names it, and the
//! index is replaced the same way, so an index never names a file that is
//! not whole. Operators may delete archived files after their own
//! retention; the index keeps naming them, and readers say which entries
//! are no longer there.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::audit_file::sync_directory;
use super::audit_segments::{SegmentFiles, segment_file_name};
use crate::store::audit_line::write_line;
use crate::store::{DecisionKind, StoreError};
use crate::time::Timestamp;

/// The archive's directory in the data directory.
pub const ARCHIVE_DIR: &str = "archive";

/// The index's file name in the archive directory.
pub const INDEX: &str = "index.json";

/// The layout of the index and archived files this version writes.
const FORMAT: u32 = 1;

/// zstd's level: its default, which compresses the log's JSON about tenfold
/// at a speed the archiver keeps up with on one core.
const LEVEL: i32 = 3;

/// What the archive holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveIndex {
    pub format: u32,
    /// Oldest first.
    pub segments: Vec<ArchivedSegment>,
}

/// One archived segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivedSegment {
    /// Its file's name in the archive directory.
    pub file: String,
    /// Where it was in the log's bytes: `[start, end)`.
    pub start: u64,
    pub end: u64,
    /// Its entries' positions, first and last (`last_seq < first_seq` for
    /// a segment without entries).
    pub first_seq: i64,
    pub last_seq: i64,
    pub entries: u64,
    /// Its entries' moments, first and last.
    pub first_at: Option<Timestamp>,
    pub last_at: Option<Timestamp>,
    /// Bytes of its lines as they were live, and of its compressed file.
    pub live_bytes: u64,
    pub compressed_bytes: u64,
    /// `sha256:<hex>` of the compressed file.
    pub sha256: String,
    pub archived_at: Timestamp,
}

impl ArchiveIndex {
    /// The index of the data directory `directory`; empty if it has no
    /// archive.
    pub fn load(directory: &Path) -> Result<Self, StoreError> {
        let path = index_path(directory);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ArchiveIndex {
                    format: FORMAT,
                    segments: Vec::new(),
                });
            }
            Err(error) => return Err(file_error(&path, error)),
        };
        let index: ArchiveIndex =
            serde_json::from_slice(&text).map_err(|error| StoreError::AuditFile {
                path: path.display().to_string(),
                message: format!("not an archive index this Redress reads: {error}"),
            })?;
        if index.format != FORMAT {
            return Err(StoreError::AuditFile {
                path: path.display().to_string(),
                message: format!(
                    "archive format {}, but this Redress reads format {FORMAT}",
                    index.format
                ),
            });
        }
        Ok(index)
    }

    /// Replaces the index of `directory` with this one, whole.
    pub fn save(&self, directory: &Path) -> Result<(), StoreError> {
        let path = index_path(directory);
        let partial = path.with_extension("json.partial");
        let text = serde_json::to_vec_pretty(self)?;
        write_synced(&partial, &text)?;
        std::fs::rename(&partial, &path).map_err(|error| file_error(&path, error))?;
        sync_directory(&archive_dir(directory)).map_err(|error| file_error(&path, error))
    }

    /// The last position archived (0 if none).
    pub fn last_seq(&self) -> i64 {
        self.segments
            .iter()
            .map(|segment| segment.last_seq)
            .max()
            .unwrap_or(0)
    }

    /// Whether the segment starting at `start` is archived.
    pub fn holds(&self, start: u64) -> bool {
        self.segments.iter().any(|segment| segment.start == start)
    }
}

/// What the database knew of an entry, kept in front of its archived line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryMeta {
    pub seq: i64,
    pub event_id: String,
    pub case_id: String,
    pub kind: DecisionKind,
    pub decided_at: Timestamp,
    pub ruleset_version: String,
    pub plugin_digests: BTreeMap<String, String>,
    /// The digest of a complaint's event as sent, so that a store the
    /// archive is copied into still refuses a different complaint under
    /// its id; absent from archives written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_digest: Option<String>,
}

/// One archived entry: what the database knew and its live line.
#[derive(Debug, Clone)]
pub struct ArchivedEntry {
    pub meta: EntryMeta,
    /// The line as it was live, with its newline.
    pub line: Vec<u8>,
}

pub fn archive_dir(directory: &Path) -> PathBuf {
    directory.join(ARCHIVE_DIR)
}

fn index_path(directory: &Path) -> PathBuf {
    archive_dir(directory).join(INDEX)
}

/// The archived file name of the segment starting at `start`.
pub fn archived_file_name(start: u64) -> String {
    format!("{}.zst", segment_file_name(start))
}

fn file_error(path: &Path, error: std::io::Error) -> StoreError {
    StoreError::AuditFile {
        path: path.display().to_string(),
        message: error.to_string(),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut file = File::create(path).map_err(|error| file_error(path, error))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|error| file_error(path, error))
}

/// A live segment to archive: where it is in the log and which entries it
/// holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedSegment {
    pub start: u64,
    pub end: u64,
    pub first_seq: i64,
    /// The next segment's first position: this one holds `[first_seq, next_seq)`.
    pub next_seq: i64,
}

/// The sealed live segments (every one but the newest), oldest first.
pub(in crate::store) fn sealed_segments(
    connection: &Connection,
) -> Result<Vec<SealedSegment>, StoreError> {
    let mut statement =
        connection.prepare_cached("SELECT start, first_seq FROM audit_segments ORDER BY start")?;
    let rows = statement
        .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .windows(2)
        .map(|pair| SealedSegment {
            start: pair[0].0.max(0) as u64,
            end: pair[1].0.max(0) as u64,
            first_seq: pair[0].1,
            next_seq: pair[1].1,
        })
        .collect())
}

/// The moment of the last entry of `segment` (`None`: it has none).
pub(in crate::store) fn last_entry_at(
    connection: &Connection,
    segment: &SealedSegment,
) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<i64> = connection
        .prepare_cached("SELECT MAX(decided_at) FROM decisions WHERE seq >= ?1 AND seq < ?2")?
        .query_row(params![segment.first_seq, segment.next_seq], |row| {
            row.get(0)
        })?;
    Ok(at.map(Timestamp::from_millis))
}

/// Compresses the live segment `segment` of the data directory
/// `directory` into its archive, reading its entries from the database on
/// `connection` and its lines from `segments`; adds it to the index. The
/// live segment and its rows are left as they are: the store's writer
/// removes them once the index names the archive.
pub(in crate::store) fn archive_segment(
    directory: &Path,
    connection: &Connection,
    segments: &SegmentFiles,
    segment: &SealedSegment,
    now: Timestamp,
) -> Result<ArchivedSegment, StoreError> {
    let dir = archive_dir(directory);
    std::fs::create_dir_all(&dir).map_err(|error| file_error(&dir, error))?;
    let file_name = archived_file_name(segment.start);
    let path = dir.join(&file_name);
    let partial = dir.join(format!("{file_name}.partial"));
    let file = File::create(&partial).map_err(|error| file_error(&partial, error))?;
    let mut encoder = zstd::stream::write::Encoder::new(BufWriter::new(file), LEVEL)
        .map_err(|error| file_error(&partial, error))?;
    let mut statement = connection.prepare_cached(
        "SELECT seq, event_id, case_id, kind, decided_at, ruleset_version, plugin_digests,
                payload_at, payload_len, event, decision, event_digest
         FROM decisions WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
    )?;
    let mut rows = statement.query(params![segment.first_seq, segment.next_seq])?;
    let mut archived = ArchivedSegment {
        file: file_name,
        start: segment.start,
        end: segment.end,
        first_seq: segment.first_seq,
        last_seq: segment.first_seq - 1,
        entries: 0,
        first_at: None,
        last_at: None,
        live_bytes: 0,
        compressed_bytes: 0,
        sha256: String::new(),
        archived_at: now,
    };
    let mut line = Vec::new();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let kind: String = row.get(3)?;
        let meta = EntryMeta {
            seq: row.get(0)?,
            event_id: row.get(1)?,
            case_id: row.get(2)?,
            kind: kind.parse().map_err(|_| {
                StoreError::Inconsistent(format!("audit entry of unknown kind `{kind}`"))
            })?,
            decided_at: Timestamp::from_millis(row.get(4)?),
            ruleset_version: row.get(5)?,
            plugin_digests: serde_json::from_str(&row.get::<_, String>(6)?)?,
            event_digest: row.get(11)?,
        };
        let span: (Option<i64>, Option<i64>) = (row.get(7)?, row.get(8)?);
        line.clear();
        match span {
            (Some(at), Some(len)) if at >= 0 && len > 0 => {
                line.resize(len as usize, 0);
                segments
                    .read_exact_at(&mut line, at as u64)
                    .map_err(|error| error.into_store_error())?;
            }
            // Written before schema version 5, when the row held it all.
            _ => {
                let event: Option<String> = row.get(9)?;
                let decision: String = row.get(10)?;
                write_line(&mut line, &kind, event.as_deref(), &decision, None);
            }
        }
        out.clear();
        archived_line(&mut out, &meta, &line)?;
        encoder
            .write_all(&out)
            .map_err(|error| file_error(&partial, error))?;
        archived.live_bytes += line.len() as u64;
        archived.entries += 1;
        archived.last_seq = meta.seq;
        archived.first_at.get_or_insert(meta.decided_at);
        archived.last_at = Some(meta.decided_at);
    }
    let writer = encoder
        .finish()
        .map_err(|error| file_error(&partial, error))?;
    let file = writer
        .into_inner()
        .map_err(|error| file_error(&partial, error.into_error()))?;
    file.sync_all()
        .map_err(|error| file_error(&partial, error))?;
    drop(file);
    archived.compressed_bytes = std::fs::metadata(&partial)
        .map_err(|error| file_error(&partial, error))?
        .len();
    archived.sha256 = digest_of(&partial)?;
    std::fs::rename(&partial, &path).map_err(|error| file_error(&path, error))?;
    sync_directory(&dir).map_err(|error| file_error(&dir, error))?;
    let mut index = ArchiveIndex::load(directory)?;
    index.segments.retain(|held| held.start != archived.start);
    index.segments.push(archived.clone());
    index.segments.sort_by_key(|held| held.start);
    index.save(directory)?;
    Ok(archived)
}

/// `{"entry":META,` and the rest of `line` after its opening brace.
fn archived_line(out: &mut Vec<u8>, meta: &EntryMeta, line: &[u8]) -> Result<(), StoreError> {
    out.extend_from_slice(b"{\"entry\":");
    serde_json::to_writer(&mut *out, meta)?;
    match line.strip_prefix(b"{") {
        Some(rest) if rest.first() != Some(&b'}') => {
            out.push(b',');
            out.extend_from_slice(rest);
        }
        // Not an object (a repair's shortest placeholder): kept as a field.
        _ => {
            out.extend_from_slice(b",\"line\":");
            serde_json::to_writer(&mut *out, &String::from_utf8_lossy(line))?;
            out.extend_from_slice(b"}\n");
        }
    }
    Ok(())
}

/// The entry and live line of an archived line (without its newline).
fn split_archived_line(text: &[u8]) -> Option<ArchivedEntry> {
    let rest = text.strip_prefix(b"{\"entry\":")?;
    let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<&RawValue>();
    let meta_raw = stream.next()?.ok()?;
    let after = stream.byte_offset();
    let meta: EntryMeta = serde_json::from_str(meta_raw.get()).ok()?;
    let tail = rest.get(after..)?;
    let mut line = Vec::with_capacity(tail.len() + 1);
    if let Some(fields) = tail.strip_prefix(b",\"line\":") {
        #[derive(Deserialize)]
        struct Kept(String);
        let kept: Kept = serde_json::from_slice(fields.strip_suffix(b"}")?).ok()?;
        line.extend_from_slice(kept.0.as_bytes());
    } else {
        line.push(b'{');
        line.extend_from_slice(tail.strip_prefix(b",")?);
        line.push(b'\n');
    }
    Some(ArchivedEntry { meta, line })
}

/// Reads the archived segment at `path`, calling `visit` with each entry
/// in the log's order until it breaks; whether it broke.
pub fn read_archived(
    path: &Path,
    visit: &mut dyn FnMut(ArchivedEntry) -> std::ops::ControlFlow<()>,
) -> Result<bool, StoreError> {
    let file = File::open(path).map_err(|error| file_error(path, error))?;
    let decoder =
        zstd::stream::read::Decoder::new(file).map_err(|error| file_error(path, error))?;
    let mut reader = BufReader::new(decoder);
    let mut text = Vec::new();
    let mut number = 0u64;
    loop {
        text.clear();
        let read = reader
            .read_until(b'\n', &mut text)
            .map_err(|error| file_error(path, error))?;
        if read == 0 {
            return Ok(false);
        }
        number += 1;
        let body = text.strip_suffix(b"\n").unwrap_or(&text);
        let entry = split_archived_line(body).ok_or_else(|| StoreError::AuditFile {
            path: path.display().to_string(),
            message: format!("line {number} is not an archived entry"),
        })?;
        if visit(entry).is_break() {
            return Ok(true);
        }
    }
}

fn digest_of(path: &Path) -> Result<String, StoreError> {
    let mut file = File::open(path).map_err(|error| file_error(path, error))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|error| file_error(path, error))?;
    Ok(crate::digest::tagged_of(hasher))
}

/// `sha256:<hex>` of an archived file, to check it against the index.
pub fn archived_digest(path: &Path) -> Result<String, StoreError> {
    digest_of(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(seq: i64) -> EntryMeta {
        EntryMeta {
            seq,
            event_id: format!("c-{seq}"),
            case_id: format!("c-{seq}"),
            kind: DecisionKind::Complaint,
            decided_at: Timestamp(1_790_000_000_000 + seq),
            ruleset_version: "abc".to_string(),
            plugin_digests: BTreeMap::from([("p".to_string(), "sha256:00".to_string())]),
            event_digest: Some(format!("sha256:{seq:02}")),
        }
    }

    #[test]
    fn an_archived_line_gives_back_the_live_line_byte_for_byte() {
        for live in [
            &b"{\"kind\":\"complaint\",\"event\":{\"id\":\"c-1\"},\"decision\":{\"entry\":1}}\n"[..],
            b"{\"kind\":\"complaint\",\"lost\":true}    \n",
            b"null\n",
            b"    \n",
        ] {
            let mut out = Vec::new();
            archived_line(&mut out, &meta(1), live).unwrap();
            assert_eq!(out.last(), Some(&b'\n'));
            serde_json::from_slice::<serde_json::Value>(&out).unwrap();
            let back = split_archived_line(out.strip_suffix(b"\n").unwrap()).unwrap();
            assert_eq!(back.meta, meta(1));
            assert_eq!(
                String::from_utf8_lossy(&back.line),
                String::from_utf8_lossy(live)
            );
        }
    }
}
