//! `decisions.jsonl`: what the audit log says, word for word. Each
//! decision's event and answer, one JSON line each, appended in the order
//! of the log; the `decisions` table keeps where each line is (`payload_at`,
//! `payload_len`) with the columns queries look for.
//!
//! Appending kilobytes to a file costs a copy; inserting them into the
//! database cost pages written twice (WAL, then checkpoint): about 10 µs of
//! the writer's 35 – 45 per decision, and 22.0 KB written to the disk per
//! decision on the default rules, against 12.4 with the file
//! (BENCHMARKS.md). The writer appends a batch's lines to the file and
//! syncs it before it commits the transaction that points at them, so
//! every committed entry's line is on disk. Lines written for a batch that
//! did not commit lie past the end the database knows; they are cut off at
//! once, or after a crash when the store next opens
//! ([`AuditFile::open_for_writing`]).

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::store::StoreError;

/// The file's name in the data directory.
pub const FILE_NAME: &str = "decisions.jsonl";

/// Where an entry's line is in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub at: i64,
    pub len: i64,
}

/// The file, for the store's writer (appends, and reads what it wrote) or
/// for readers (reads only).
#[derive(Debug)]
pub(super) struct AuditFile {
    path: PathBuf,
    file: Option<File>,
    /// Bytes of the file that committed entries may point into.
    end: u64,
    /// Lines of the transaction under way, not yet in the file.
    pending: Vec<u8>,
    /// Whether `pending` was written to the file ahead of the commit.
    written: bool,
    sync: bool,
}

/// One line, as read back.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    decision: &'a RawValue,
}

impl AuditFile {
    /// Opens (creating) the file of `directory` for the store's writer.
    /// `committed_end` is where the last committed entry's line ends: a
    /// longer file has lines of a batch that never committed, which are cut
    /// off; a shorter one lost lines (a machine that lost power with
    /// `durability = "normal"`, or a file copied before the database), which
    /// is logged, and those entries read with a `null` decision. A missing
    /// file that the database points into is an error.
    pub fn open_for_writing(
        directory: &Path,
        committed_end: u64,
        sync: bool,
    ) -> Result<Self, StoreError> {
        let path = directory.join(FILE_NAME);
        let failed = |error: std::io::Error| StoreError::AuditFile {
            path: path.display().to_string(),
            message: error.to_string(),
        };
        if committed_end > 0 && !path.exists() {
            // Starting would pad a new file and answer `null` for every
            // decision in the old one, which may yet be found.
            return Err(missing(&path, committed_end));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(failed)?;
        let length = file.metadata().map_err(failed)?.len();
        if length > committed_end {
            tracing::info!(
                path = %path.display(),
                bytes = length - committed_end,
                "audit file: cut off the lines of a batch that was not committed"
            );
            file.set_len(committed_end).map_err(failed)?;
            file.sync_all().map_err(failed)?;
        } else if length < committed_end {
            tracing::error!(
                path = %path.display(),
                missing_bytes = committed_end - length,
                "audit file: shorter than the database says; the decisions of the missing lines read as null (a power loss with durability = \"normal\", or the file was copied or restored before the database)"
            );
            blank_from_last_line(&file, length, committed_end).map_err(failed)?;
            file.sync_all().map_err(failed)?;
        }
        Ok(AuditFile {
            path,
            file: Some(file),
            end: committed_end,
            pending: Vec::new(),
            written: false,
            sync,
        })
    }

    /// Opens the file of `directory` for reading; `committed_end` as for
    /// [`AuditFile::open_for_writing`]. A missing file reads as empty if
    /// nothing points into it: a store whose decisions are all in the
    /// database (written before schema version 5) has none.
    pub fn open_for_reading(directory: &Path, committed_end: u64) -> Result<Self, StoreError> {
        let path = directory.join(FILE_NAME);
        let file = match File::open(&path) {
            Ok(file) => Some(file),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if committed_end > 0 {
                    return Err(missing(&path, committed_end));
                }
                None
            }
            Err(error) => {
                return Err(StoreError::AuditFile {
                    path: path.display().to_string(),
                    message: error.to_string(),
                });
            }
        };
        Ok(AuditFile {
            path,
            file,
            end: 0,
            pending: Vec::new(),
            written: false,
            sync: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the file that committed entries may point into.
    pub fn committed_len(&self) -> u64 {
        self.end
    }

    /// Adds an entry's line to the transaction under way; returns where it
    /// will be. `event` and `decision` are JSON.
    pub fn append(&mut self, kind: &str, event: Option<&str>, decision: &str) -> Span {
        let at = self.end + self.pending.len() as u64;
        self.pending.extend_from_slice(b"{\"kind\":\"");
        self.pending.extend_from_slice(kind.as_bytes());
        self.pending.push(b'"');
        if let Some(event) = event {
            self.pending.extend_from_slice(b",\"event\":");
            self.pending.extend_from_slice(event.as_bytes());
        }
        self.pending.extend_from_slice(b",\"decision\":");
        self.pending.extend_from_slice(decision.as_bytes());
        self.pending.extend_from_slice(b"}\n");
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

    /// Writes the transaction's lines to the file (and syncs it when
    /// durability is full), before the transaction commits.
    pub fn write_pending(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let failed = |error: std::io::Error| StoreError::AuditFile {
            path: self.path.display().to_string(),
            message: error.to_string(),
        };
        let Some(file) = self.file.as_mut() else {
            return Err(failed(std::io::Error::other("opened for reading only")));
        };
        self.written = true;
        file.seek(SeekFrom::Start(self.end)).map_err(failed)?;
        file.write_all(&self.pending).map_err(failed)?;
        if self.sync {
            file.sync_data().map_err(failed)?;
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
            && let Some(file) = &self.file
            && let Err(error) = file.set_len(self.end)
        {
            // Harmless: the next batch writes over them, and the next
            // start cuts off whatever is left.
            tracing::warn!(path = %self.path.display(), %error, "audit file: cannot cut off the lines of a batch that was not committed");
        }
    }

    /// The decision (JSON) of the line at `span`: from the transaction
    /// under way if it was appended there, else from the file. `None` if
    /// the line is missing or is not one this store wrote.
    pub fn read_decision(&self, span: Span) -> Result<Option<String>, StoreError> {
        let (Ok(at), Ok(len)) = (u64::try_from(span.at), usize::try_from(span.len)) else {
            return Ok(None);
        };
        let line = if at >= self.end && !self.pending.is_empty() {
            let start = (at - self.end) as usize;
            match self.pending.get(start..start + len) {
                Some(line) => line.to_vec(),
                None => return Ok(None),
            }
        } else {
            let Some(file) = &self.file else {
                return Ok(None);
            };
            let mut line = vec![0; len];
            match read_exact_at(file, &mut line, at) {
                Ok(()) => line,
                Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(None);
                }
                Err(error) => {
                    return Err(StoreError::AuditFile {
                        path: self.path.display().to_string(),
                        message: error.to_string(),
                    });
                }
            }
        };
        Ok(serde_json::from_slice::<Line<'_>>(&line)
            .ok()
            .map(|line| line.decision.get().to_string()))
    }
}

/// The file at `path` is not there, but the database's log points
/// `committed_end` bytes into it.
fn missing(path: &Path, committed_end: u64) -> StoreError {
    StoreError::AuditFile {
        path: path.display().to_string(),
        message: format!(
            "missing, but the database's audit log points into it ({committed_end} bytes); put it back next to redress.db (a backup takes both, see docs/daemon.md)"
        ),
    }
}

/// Fills the file from the start of its last line, which may be cut off,
/// up to `end` with blanks and a final newline: the positions of the lines
/// after it stay where the database says they are, and the file stays one
/// JSON value per line (blank lines where lines were lost).
fn blank_from_last_line(file: &File, length: u64, end: u64) -> std::io::Result<()> {
    const LOOK_BACK: u64 = 1 << 20;
    let from = length.saturating_sub(LOOK_BACK);
    let mut tail = vec![0; (length - from) as usize];
    read_exact_at(file, &mut tail, from)?;
    let start = match tail.iter().rposition(|&byte| byte == b'\n') {
        Some(newline) => from + newline as u64 + 1,
        None => from,
    };
    let mut writer = file;
    writer.seek(SeekFrom::Start(start))?;
    let mut left = end - start;
    let blanks = vec![b' '; 64 * 1024];
    while left > 1 {
        let chunk = (left - 1).min(blanks.len() as u64) as usize;
        writer.write_all(&blanks[..chunk])?;
        left -= chunk as u64;
    }
    if left == 1 {
        writer.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(unix)]
fn read_exact_at(file: &File, buffer: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, at)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buffer: &mut [u8], mut at: u64) -> std::io::Result<()> {
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
        let mut file = AuditFile::open_for_writing(dir.path(), 0, true).unwrap();
        let first = file.append("complaint", Some(r#"{"id":"a"}"#), r#"{"queue":"care"}"#);
        let mark = file.mark();
        let dropped = file.append("sla_breach", None, r#"{"breach":true}"#);
        file.rollback_to(mark);
        let second = file.append("sla_breach", None, r#"{"breach":false}"#);
        assert_eq!(dropped.at, second.at, "a rolled-back line leaves no gap");
        assert_eq!(
            file.read_decision(first).unwrap().as_deref(),
            Some(r#"{"queue":"care"}"#),
            "read from the batch under way"
        );
        file.write_pending().unwrap();
        file.commit();
        let reader = AuditFile::open_for_reading(dir.path(), file.committed_len()).unwrap();
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
        let mut file = AuditFile::open_for_writing(dir.path(), 0, false).unwrap();
        let kept = file.append("complaint", None, "{}");
        file.write_pending().unwrap();
        file.commit();
        file.append("complaint", None, r#"{"never":"committed"}"#);
        file.write_pending().unwrap();
        file.rollback();
        let length = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().len();
        assert_eq!(length as i64, kept.len);
        // A crash between writing and committing: the next start cuts the
        // lines off at the end the database knows.
        file.append("complaint", None, r#"{"crashed":"before commit"}"#);
        file.write_pending().unwrap();
        drop(file);
        let reopened = AuditFile::open_for_writing(dir.path(), kept.len as u64, false).unwrap();
        let length = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().len();
        assert_eq!(length as i64, kept.len);
        assert_eq!(reopened.read_decision(kept).unwrap().as_deref(), Some("{}"));
    }

    #[test]
    fn a_missing_line_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let reader = AuditFile::open_for_reading(dir.path(), 0).unwrap();
        assert_eq!(reader.read_decision(Span { at: 0, len: 10 }).unwrap(), None);
        let error = AuditFile::open_for_reading(dir.path(), 100).unwrap_err();
        assert!(
            error.to_string().contains("missing, but the database"),
            "{error}"
        );
        let error = AuditFile::open_for_writing(dir.path(), 100, false).unwrap_err();
        assert!(
            error.to_string().contains("missing, but the database"),
            "{error}"
        );
        // Shorter than the database says: the cut-off line and the lost
        // ones are blanked up to where the database's log ends, and read
        // as nothing rather than as garbage.
        let kept = "{\"kind\":\"complaint\",\"decision\":{}}\n";
        let cut = "{\"kind\":\"complaint\",\"decision\":{\"que";
        std::fs::write(dir.path().join(FILE_NAME), format!("{kept}{cut}")).unwrap();
        let file = AuditFile::open_for_writing(dir.path(), 100, false).unwrap();
        let lost = Span {
            at: kept.len() as i64,
            len: 100 - kept.len() as i64,
        };
        assert_eq!(file.read_decision(lost).unwrap(), None);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(text.len(), 100);
        assert!(text.starts_with(kept) && text.ends_with('\n'), "{text:?}");
        let values: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&text)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(values.len(), 1, "still one JSON value per line: {text:?}");
    }
}
