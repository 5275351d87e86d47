//! `decisions.jsonl`: what the audit log says, word for word. Each
//! decision's event and answer, one JSON line each, appended in the order
//! of the log; the `decisions` table keeps where each line is (`payload_at`,
//! `payload_len`) with the columns queries look for.
//!
//! Appending kilobytes to a file costs a copy; inserting them into the
//! database cost pages written twice (WAL, then checkpoint), a good part of
//! the writer's time and nearly twice the bytes written per decision
//! (BENCHMARKS.md, "the audit log's events and decisions in a file"). The writer appends a batch's lines to the file and
//! syncs it before it commits the transaction that points at them, so
//! every committed entry's line is on disk. Lines written for a batch that
//! did not commit lie past the end the database knows; they are cut off at
//! once, or after a crash when the store next opens
//! ([`AuditFile::open_for_writing`]).

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::Connection;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::audit_segments::{
    SegmentFiles, live_segment_starts, open_read_write, segment_file_name, segment_files_in,
};
use crate::store::StoreError;
use crate::store::audit_line::write_line;

/// The first segment's file name in the data directory.
pub const FILE_NAME: &str = super::audit_segments::FIRST_SEGMENT;

/// Where an entry's line is in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) struct Span {
    pub at: i64,
    pub len: i64,
}

/// The segment the writer appends to.
#[derive(Debug)]
struct Current {
    /// Where it starts in the log.
    start: u64,
    path: PathBuf,
    file: File,
}

/// The log's files, for the store's writer (appends, and reads what it
/// wrote) or for readers (reads only).
#[derive(Debug)]
pub(in crate::store) struct AuditFile {
    directory: PathBuf,
    /// Every live segment, for reading.
    segments: SegmentFiles,
    /// The writer's: the segment appended to.
    current: Option<Current>,
    /// Bytes of the log that committed entries may point into.
    end: u64,
    /// Lines of the transaction under way, not yet in the file.
    pending: Vec<u8>,
    /// Whether `pending` was written to the file ahead of the commit.
    written: bool,
    sync: bool,
    /// Why the file can no longer be written to: it was deleted, replaced
    /// or truncated under the running store. Once set, every write fails.
    lost: Option<String>,
}

/// One line, as read back.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    decision: &'a RawValue,
}

impl AuditFile {
    /// Opens (creating) the log of `directory` for the store's writer, the
    /// live segments starting at `starts` (oldest first; the last is
    /// appended to). `committed_end` is where the last committed entry's
    /// line ends: a longer last segment has lines of a batch that never
    /// committed, which are cut off. A shorter one lost lines (a machine
    /// that lost power with `durability = "normal"`, a file copied before
    /// the database, a file deleted or truncated): that is
    /// [`StoreError::AuditFileShort`], for
    /// [`repair_audit_file`](super::repair::repair_audit_file). A missing
    /// file that the database points into is an error.
    pub fn open_for_writing(
        directory: &Path,
        committed_end: u64,
        starts: &[u64],
        sync: bool,
    ) -> Result<Self, StoreError> {
        let (sealed, last) = match starts.split_last() {
            Some((last, sealed)) => (sealed, *last),
            None => (&[][..], 0),
        };
        let path = directory.join(segment_file_name(last));
        let failed = |error: std::io::Error| StoreError::AuditFile {
            path: path.display().to_string(),
            message: error.to_string(),
        };
        let expected = committed_end.saturating_sub(last);
        if expected > 0 && !path.exists() {
            // Starting would pad a new file and answer `null` for every
            // decision in the old one, which may yet be found.
            return Err(missing(&path, expected));
        }
        let file = open_read_write(&path).map_err(failed)?;
        let length = file.metadata().map_err(failed)?.len();
        if length > expected {
            tracing::info!(
                path = %path.display(),
                bytes = length - expected,
                "audit file: cut off the lines of a batch that was not committed"
            );
            file.set_len(expected).map_err(failed)?;
            file.sync_all().map_err(failed)?;
        } else if length < expected {
            return Err(StoreError::AuditFileShort {
                path: path.display().to_string(),
                length,
                expected,
            });
        }
        remove_unlisted_segments(directory, last);
        let segments = SegmentFiles::open(directory, sealed, |_| false)?;
        segments.add(
            last,
            path.clone(),
            Arc::new(file.try_clone().map_err(failed)?),
        );
        Ok(AuditFile {
            directory: directory.to_path_buf(),
            segments,
            current: Some(Current {
                start: last,
                path,
                file,
            }),
            end: committed_end.max(last),
            pending: Vec::new(),
            written: false,
            sync,
            lost: None,
        })
    }

    /// Opens the log of `directory` for reading; `committed_end` and
    /// `starts` as for [`AuditFile::open_for_writing`]. A missing last
    /// segment reads as empty if nothing points into it: a store whose
    /// decisions are all in the database (written before schema version 5)
    /// has none.
    pub fn open_for_reading(
        directory: &Path,
        committed_end: u64,
        starts: &[u64],
    ) -> Result<Self, StoreError> {
        let last = starts.last().copied().unwrap_or(0);
        let segments = SegmentFiles::open(directory, starts, |start| {
            start == last && committed_end <= last
        })?;
        Ok(AuditFile {
            directory: directory.to_path_buf(),
            segments,
            current: None,
            end: 0,
            pending: Vec::new(),
            written: false,
            sync: false,
            lost: None,
        })
    }

    /// Opens the log of `directory` for reading, where the database on
    /// `connection` says it is.
    pub fn open_for_reading_from(
        directory: &Path,
        connection: &Connection,
    ) -> Result<Self, StoreError> {
        Self::open_for_reading(
            directory,
            super::committed_audit_end(connection)?,
            &live_segment_starts(connection)?,
        )
    }

    /// Bytes of the log that committed entries may point into.
    pub fn committed_len(&self) -> u64 {
        self.end
    }

    /// Bytes of the live segments (the log's end, less what was archived).
    pub fn live_len(&self) -> u64 {
        self.end - self.segments.first_start().unwrap_or(0).min(self.end)
    }

    /// Bytes of the segment appended to.
    pub fn current_segment_len(&self) -> u64 {
        self.current
            .as_ref()
            .map_or(0, |current| self.end - current.start)
    }

    /// Starts a new segment at the log's end once the one appended to holds
    /// `segment_bytes` or more, between transactions (nothing pending);
    /// whether it did. The segment is listed in the database on
    /// `connection` (in a commit of its own, outside any transaction) only
    /// after its file exists and is synced, so every listed segment has a
    /// file.
    pub fn start_segment_if_full(
        &mut self,
        connection: &Connection,
        segment_bytes: u64,
    ) -> Result<bool, StoreError> {
        let full = self.current_segment_len() >= segment_bytes.max(1);
        if !full || !self.pending.is_empty() || self.lost.is_some() {
            return Ok(false);
        }
        let start = self.end;
        let path = self.directory.join(segment_file_name(start));
        let failed = |error: std::io::Error| StoreError::AuditFile {
            path: path.display().to_string(),
            message: error.to_string(),
        };
        let file = open_read_write(&path).map_err(failed)?;
        // Left by a start that did not get to list it: empty, or cut to it.
        file.set_len(0).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        sync_directory(&self.directory).map_err(failed)?;
        connection
            .prepare_cached(
                "INSERT OR IGNORE INTO audit_segments (start, first_seq)
                 VALUES (?1, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'decisions'), 0) + 1)",
            )?
            .execute([start as i64])?;
        self.segments.add(
            start,
            path.clone(),
            Arc::new(file.try_clone().map_err(failed)?),
        );
        tracing::info!(path = %path.display(), start, "audit log: started a new segment");
        self.current = Some(Current { start, path, file });
        Ok(true)
    }

    /// The segment starting at `start` was archived: forget it.
    pub fn forget_segment(&self, start: u64) {
        self.segments.forget(start);
    }

    /// The live segments, for reading.
    pub fn segments(&self) -> &SegmentFiles {
        &self.segments
    }

    /// Adds an entry's line to the transaction under way; returns where it
    /// will be. `event`, `decision` and `replay` (what a complaint decision
    /// read: [`Recording`](crate::intake::Recording)) are JSON.
    pub fn append(
        &mut self,
        kind: &str,
        event: Option<&str>,
        decision: &str,
        replay: Option<&str>,
    ) -> Span {
        let at = self.end + self.pending.len() as u64;
        write_line(&mut self.pending, kind, event, decision, replay);
        Span {
            at: at as i64,
            len: (self.end + self.pending.len() as u64 - at) as i64,
        }
    }

    /// A point to go back to with [`AuditFile::rollback_to`].
    pub fn mark(&self) -> usize {
        self.pending.len()
    }

    /// Forgets the lines appended since `mark` (a savepoint rolled back).
    pub fn rollback_to(&mut self, mark: usize) {
        self.pending.truncate(mark);
    }

    /// Checks that the file the store writes is still the one at its path
    /// (not deleted, replaced or truncated); once it is not, it never is
    /// again for this store. Called before every commit, so nothing is
    /// acknowledged whose line went to a file no one can read.
    pub fn check_intact(&mut self) -> Result<(), StoreError> {
        if self.lost.is_none()
            && let Some(current) = &self.current
        {
            self.lost = replaced_or_cut(&current.file, &current.path, self.end - current.start);
            if let Some(reason) = &self.lost {
                tracing::error!(
                    path = %current.path.display(),
                    reason,
                    "audit file lost while running: no decision is recorded or answered until the daemon is stopped and the data directory repaired (`redress store repair`, docs/daemon.md)"
                );
            }
        }
        match (&self.lost, &self.current) {
            (Some(reason), Some(current)) => Err(StoreError::AuditFileLost {
                path: current.path.display().to_string(),
                reason: reason.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Writes the transaction's lines to the file (and syncs it when
    /// durability is full), before the transaction commits.
    pub fn write_pending(&mut self) -> Result<(), StoreError> {
        self.check_intact()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(current) = self.current.as_mut() else {
            return Err(StoreError::AuditFile {
                path: self.directory.join(FILE_NAME).display().to_string(),
                message: "opened for reading only".to_string(),
            });
        };
        let failed = |error: std::io::Error| StoreError::AuditFile {
            path: current.path.display().to_string(),
            message: error.to_string(),
        };
        self.written = true;
        current
            .file
            .seek(SeekFrom::Start(self.end - current.start))
            .map_err(failed)?;
        current.file.write_all(&self.pending).map_err(failed)?;
        if self.sync {
            current.file.sync_data().map_err(failed)?;
        }
        Ok(())
    }

    /// The transaction committed: its lines are part of the log.
    pub fn commit(&mut self) {
        self.end += self.pending.len() as u64;
        self.pending.clear();
        self.written = false;
    }

    /// The transaction did not commit: its lines are dropped, and cut off
    /// the file if they were written.
    pub fn rollback(&mut self) {
        self.pending.clear();
        if std::mem::take(&mut self.written)
            && let Some(current) = &self.current
            && let Err(error) = current.file.set_len(self.end - current.start)
        {
            // Harmless: the next batch writes over them, and the next
            // start cuts off whatever is left.
            tracing::warn!(path = %current.path.display(), %error, "audit file: cannot cut off the lines of a batch that was not committed");
        }
    }

    /// The committed line at `span`, whole, from the segment holding it;
    /// `None` if it is missing or is a placeholder of a repaired loss.
    pub fn read_line(&self, span: Span) -> Result<Option<Vec<u8>>, StoreError> {
        let (Ok(at), Ok(len)) = (u64::try_from(span.at), usize::try_from(span.len)) else {
            return Ok(None);
        };
        let mut line = vec![0; len];
        match self.segments.read_exact_at(&mut line, at) {
            Ok(()) => {}
            Err(error) if error.is_eof() => return Ok(None),
            Err(error) => return Err(error.into_store_error()),
        }
        if is_placeholder(&line) {
            return Ok(None);
        }
        Ok(Some(line))
    }

    /// The decision (JSON) of the line at `span`: from the transaction
    /// under way if it was appended there, else from the file. `None` if
    /// the line is missing or is not one this store wrote.
    pub fn read_decision(&self, span: Span) -> Result<Option<String>, StoreError> {
        let (Ok(at), Ok(len)) = (u64::try_from(span.at), usize::try_from(span.len)) else {
            return Ok(None);
        };
        let line = if self.current.is_some() && at >= self.end && !self.pending.is_empty() {
            let start = (at - self.end) as usize;
            match self.pending.get(start..start + len) {
                Some(line) => line.to_vec(),
                None => return Ok(None),
            }
        } else {
            let mut line = vec![0; len];
            match self.segments.read_exact_at(&mut line, at) {
                Ok(()) => line,
                Err(error) if error.is_eof() => return Ok(None),
                Err(error) => return Err(error.into_store_error()),
            }
        };
        Ok(serde_json::from_slice::<Line<'_>>(&line)
            .ok()
            .map(|line| line.decision.get().to_string()))
    }
}

/// Removes segment files past the newest listed one (`last`): a start that
/// stopped after creating one and before listing it left it empty, and a
/// reader would look for lines there.
fn remove_unlisted_segments(directory: &Path, last: u64) {
    for (start, path) in segment_files_in(directory) {
        if start > last {
            tracing::info!(path = %path.display(), "audit log: removed a segment file that was never listed");
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Syncs a directory, so that a file created in it survives a crash.
pub(in crate::store) fn sync_directory(directory: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(directory)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = directory;
        Ok(())
    }
}

/// Whether `line` is a repair's placeholder: `{"kind":"...","lost":true}`
/// and blanks.
pub(in crate::store) fn is_placeholder(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"{\"kind\":\"") else {
        return false;
    };
    rest.iter()
        .position(|&b| b == b'"')
        .is_some_and(|end| rest[end..].starts_with(b"\",\"lost\":true}"))
}

/// Whether `file`, open as `path` with `end` bytes committed, is no longer
/// the file at `path`, or was cut shorter; why, if so.
fn replaced_or_cut(file: &File, path: &Path, end: u64) -> Option<String> {
    let open = match file.metadata() {
        Ok(metadata) => metadata,
        Err(error) => return Some(format!("cannot read its metadata: {error}")),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if open.nlink() == 0 {
            return Some("it was deleted".to_string());
        }
        match std::fs::metadata(path) {
            Ok(named) if named.dev() != open.dev() || named.ino() != open.ino() => {
                return Some("another file was put in its place".to_string());
            }
            Ok(_) => {}
            Err(error) => return Some(format!("its path cannot be read: {error}")),
        }
    }
    #[cfg(not(unix))]
    if let Err(error) = std::fs::metadata(path) {
        return Some(format!("its path cannot be read: {error}"));
    }
    (open.len() < end).then(|| format!("it was cut to {} bytes; the log needs {end}", open.len()))
}

/// The file at `path` is not there, but the database's log points
/// `committed_end` bytes into it.
fn missing(path: &Path, committed_end: u64) -> StoreError {
    StoreError::AuditFile {
        path: path.display().to_string(),
        message: format!(
            "missing, but the database's audit log points into it ({committed_end} bytes); put it back next to redress.db (a backup takes both, see docs/daemon.md), or run `redress store repair` to keep the log's entries without their decisions"
        ),
    }
}

#[cfg(unix)]
pub(in crate::store) fn read_exact_at(
    file: &File,
    buffer: &mut [u8],
    at: u64,
) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, at)
}

#[cfg(windows)]
pub(in crate::store) fn read_exact_at(
    file: &File,
    mut buffer: &mut [u8],
    mut at: u64,
) -> std::io::Result<()> {
    while !buffer.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buffer, at)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            read => {
                buffer = &mut buffer[read..];
                at += read as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_back_from_the_batch_and_then_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = AuditFile::open_for_writing(dir.path(), 0, &[0], true).unwrap();
        let first = file.append(
            "complaint",
            Some(r#"{"id":"a"}"#),
            r#"{"queue":"care"}"#,
            None,
        );
        let mark = file.mark();
        let dropped = file.append("sla_breach", None, r#"{"breach":true}"#, None);
        file.rollback_to(mark);
        let second = file.append("sla_breach", None, r#"{"breach":false}"#, None);
        assert_eq!(dropped.at, second.at, "a rolled-back line leaves no gap");
        assert_eq!(
            file.read_decision(first).unwrap().as_deref(),
            Some(r#"{"queue":"care"}"#),
            "read from the batch under way"
        );
        file.write_pending().unwrap();
        file.commit();
        let reader = AuditFile::open_for_reading(dir.path(), file.committed_len(), &[0]).unwrap();
        assert_eq!(
            reader.read_decision(second).unwrap().as_deref(),
            Some(r#"{"breach":false}"#)
        );
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(
            text,
            "{\"kind\":\"complaint\",\"event\":{\"id\":\"a\"},\"decision\":{\"queue\":\"care\"}}\n\
             {\"kind\":\"sla_breach\",\"decision\":{\"breach\":false}}\n"
        );
    }

    #[test]
    fn a_batch_that_did_not_commit_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = AuditFile::open_for_writing(dir.path(), 0, &[0], false).unwrap();
        let kept = file.append("complaint", None, "{}", None);
        file.write_pending().unwrap();
        file.commit();
        file.append("complaint", None, r#"{"never":"committed"}"#, None);
        file.write_pending().unwrap();
        file.rollback();
        let length = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().len();
        assert_eq!(length as i64, kept.len);
        // A crash between writing and committing: the next start cuts the
        // lines off at the end the database knows.
        file.append("complaint", None, r#"{"crashed":"before commit"}"#, None);
        file.write_pending().unwrap();
        drop(file);
        let reopened =
            AuditFile::open_for_writing(dir.path(), kept.len as u64, &[0], false).unwrap();
        let length = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().len();
        assert_eq!(length as i64, kept.len);
        assert_eq!(reopened.read_decision(kept).unwrap().as_deref(), Some("{}"));
    }

    #[test]
    fn a_file_deleted_replaced_or_cut_under_the_writer_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut file = AuditFile::open_for_writing(dir.path(), 0, &[0], false).unwrap();
        file.append("complaint", None, "{}", None);
        file.write_pending().unwrap();
        file.commit();
        std::fs::remove_file(&path).unwrap();
        file.append("complaint", None, "{}", None);
        let error = file.write_pending().unwrap_err();
        assert!(error.to_string().contains("it was deleted"), "{error}");
        std::fs::write(&path, "").unwrap();
        assert!(file.write_pending().is_err(), "lost for good");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut file = AuditFile::open_for_writing(dir.path(), 0, &[0], false).unwrap();
        std::fs::rename(&path, dir.path().join("moved-away.jsonl")).unwrap();
        std::fs::write(&path, "").unwrap();
        let error = file.check_intact().unwrap_err();
        assert!(
            error
                .to_string()
                .contains("another file was put in its place"),
            "{error}"
        );

        let dir = tempfile::tempdir().unwrap();
        let mut file = AuditFile::open_for_writing(dir.path(), 0, &[0], false).unwrap();
        file.append("complaint", None, "{}", None);
        file.write_pending().unwrap();
        file.commit();
        std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join(FILE_NAME))
            .unwrap()
            .set_len(1)
            .unwrap();
        let error = file.check_intact().unwrap_err();
        assert!(
            error.to_string().contains("it was cut to 1 bytes"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_line_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let reader = AuditFile::open_for_reading(dir.path(), 0, &[0]).unwrap();
        assert_eq!(reader.read_decision(Span { at: 0, len: 10 }).unwrap(), None);
        let error = AuditFile::open_for_reading(dir.path(), 100, &[0]).unwrap_err();
        assert!(
            error.to_string().contains("missing, but the database"),
            "{error}"
        );
        let error = AuditFile::open_for_writing(dir.path(), 100, &[0], false).unwrap_err();
        assert!(
            error.to_string().contains("missing, but the database"),
            "{error}"
        );
        // Shorter than the database says: refused, for a repair to say
        // what was lost (see store::repair).
        let kept = "{\"kind\":\"complaint\",\"decision\":{}}\n";
        std::fs::write(dir.path().join(FILE_NAME), kept).unwrap();
        let error = AuditFile::open_for_writing(dir.path(), 100, &[0], false).unwrap_err();
        assert!(
            matches!(error, StoreError::AuditFileShort { length, expected: 100, .. } if length == kept.len() as u64),
            "{error}"
        );
    }
}
