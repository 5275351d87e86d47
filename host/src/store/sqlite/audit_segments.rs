//! The audit log's segments: the files its lines are in. Positions in the
//! log (`payload_at`) are one byte offset across all of them; a segment is
//! named by the offset its first line has, so finding a line is finding
//! the last segment that starts at or before it. The first segment keeps
//! the name the log always had, `decisions.jsonl`.
//!
//! The writer starts a new segment once the one it appends to holds
//! `[store.retention] segment_bytes`, between two batches, so no line
//! spans two files. Segments past the live window are compressed into
//! `archive/` ([`audit_archive`](super::audit_archive)) and leave the
//! `audit_segments` table, which lists the live ones.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rusqlite::Connection;

use super::audit_file::read_exact_at;
use crate::store::StoreError;

/// The first segment's file name (the only one of a log that never grew
/// past one segment).
pub const FIRST_SEGMENT: &str = "decisions.jsonl";

/// The file name of the segment starting at byte `start` of the log.
pub fn segment_file_name(start: u64) -> String {
    if start == 0 {
        FIRST_SEGMENT.to_string()
    } else {
        format!("decisions.{start:016}.jsonl")
    }
}

/// The start of the segment file `name`, if it is one.
pub fn segment_start_of(name: &str) -> Option<u64> {
    if name == FIRST_SEGMENT {
        return Some(0);
    }
    let digits = name.strip_prefix("decisions.")?.strip_suffix(".jsonl")?;
    (digits.len() == 16 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The segment files in `directory` (whether the database lists them or
/// not), by start, oldest first.
pub(in crate::store) fn segment_files_in(directory: &Path) -> Vec<(u64, PathBuf)> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(directory)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let start = entry.file_name().to_str().and_then(segment_start_of)?;
            Some((start, entry.path()))
        })
        .collect();
    files.sort();
    files
}

/// Opens (creating) a segment file to write and read it.
pub(in crate::store) fn open_read_write(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// The live segments' starts, oldest first, as the database lists them.
pub(in crate::store) fn live_segment_starts(
    connection: &Connection,
) -> Result<Vec<u64>, StoreError> {
    let mut statement =
        connection.prepare_cached("SELECT start FROM audit_segments ORDER BY start")?;
    let starts = statement
        .query_map([], |row| row.get::<_, i64>(0))?
        .map(|start| start.map(|start| start.max(0) as u64))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(starts)
}

/// One segment file, open for reading.
#[derive(Debug)]
struct OpenSegment {
    start: u64,
    path: PathBuf,
    file: Arc<File>,
}

/// The live segments of a data directory, open for reading. New segments
/// the writer starts are found when a read reaches past the last one
/// known; segments archived away are forgotten with [`SegmentFiles::forget`].
#[derive(Debug)]
pub(in crate::store) struct SegmentFiles {
    directory: PathBuf,
    open: RwLock<Vec<OpenSegment>>,
}

impl SegmentFiles {
    /// Opens the segments starting at `starts` (oldest first) in
    /// `directory`. A segment file that is not there is skipped when
    /// `may_be_missing` says so for its start (the last one, empty), and
    /// is an error otherwise, naming the file.
    pub fn open(
        directory: &Path,
        starts: &[u64],
        may_be_missing: impl Fn(u64) -> bool,
    ) -> Result<Self, StoreError> {
        let mut open = Vec::with_capacity(starts.len());
        for &start in starts {
            let path = directory.join(segment_file_name(start));
            match File::open(&path) {
                Ok(file) => open.push(OpenSegment {
                    start,
                    path,
                    file: Arc::new(file),
                }),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    if !may_be_missing(start) {
                        return Err(StoreError::AuditFile {
                            path: path.display().to_string(),
                            message: "missing, but the database's audit log points into it; put it back (a backup has it, see docs/daemon.md), or run `redress store repair` to keep the log's entries without their decisions".to_string(),
                        });
                    }
                }
                Err(error) => {
                    return Err(StoreError::AuditFile {
                        path: path.display().to_string(),
                        message: error.to_string(),
                    });
                }
            }
        }
        Ok(SegmentFiles {
            directory: directory.to_path_buf(),
            open: RwLock::new(open),
        })
    }

    /// A segment the writer just started (or opened to append to).
    pub fn add(&self, start: u64, path: PathBuf, file: Arc<File>) {
        let mut open = self.open.write().unwrap_or_else(|e| e.into_inner());
        if open.iter().all(|segment| segment.start != start) {
            open.push(OpenSegment { start, path, file });
            open.sort_by_key(|segment| segment.start);
        }
    }

    /// Forgets the segment that starts at `start` (it was archived).
    pub fn forget(&self, start: u64) {
        let mut open = self.open.write().unwrap_or_else(|e| e.into_inner());
        open.retain(|segment| segment.start != start);
    }

    /// Where the first live segment starts (`None`: none is open).
    pub fn first_start(&self) -> Option<u64> {
        let open = self.open.read().unwrap_or_else(|e| e.into_inner());
        open.first().map(|segment| segment.start)
    }

    /// Reads `buffer.len()` bytes at position `at` of the log. An
    /// `UnexpectedEof` error means the bytes are not in any live segment.
    pub fn read_exact_at(&self, buffer: &mut [u8], at: u64) -> Result<(), ReadError> {
        match self.read_known(buffer, at) {
            Err(ReadError::Io { error, .. })
                if error.kind() == std::io::ErrorKind::UnexpectedEof && self.find_newer() =>
            {
                self.read_known(buffer, at)
            }
            other => other,
        }
    }

    fn read_known(&self, buffer: &mut [u8], at: u64) -> Result<(), ReadError> {
        let open = self.open.read().unwrap_or_else(|e| e.into_inner());
        let index = open.partition_point(|segment| segment.start <= at);
        let Some(segment) = index.checked_sub(1).and_then(|index| open.get(index)) else {
            return Err(ReadError::Io {
                path: self.directory.join(segment_file_name(0)),
                error: std::io::ErrorKind::UnexpectedEof.into(),
            });
        };
        read_exact_at(&segment.file, buffer, at - segment.start).map_err(|error| ReadError::Io {
            path: segment.path.clone(),
            error,
        })
    }

    /// Opens segments started since the last one known; whether any was.
    fn find_newer(&self) -> bool {
        let last = {
            let open = self.open.read().unwrap_or_else(|e| e.into_inner());
            open.last().map(|segment| segment.start)
        };
        let mut found = false;
        for (start, path) in segment_files_in(&self.directory) {
            if last.is_some_and(|last| start <= last) {
                continue;
            }
            if let Ok(file) = File::open(&path) {
                self.add(start, path, Arc::new(file));
                found = true;
            }
        }
        found
    }
}

/// A read of the log that failed, with the segment file it was in.
#[derive(Debug)]
pub(in crate::store) enum ReadError {
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl ReadError {
    pub fn is_eof(&self) -> bool {
        let ReadError::Io { error, .. } = self;
        error.kind() == std::io::ErrorKind::UnexpectedEof
    }

    pub fn into_store_error(self) -> StoreError {
        let ReadError::Io { path, error } = self;
        StoreError::AuditFile {
            path: path.display().to_string(),
            message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        assert_eq!(segment_file_name(0), "decisions.jsonl");
        assert_eq!(segment_file_name(4096), "decisions.0000000000004096.jsonl");
        for start in [0, 1, 4096, 9_999_999_999_999_999] {
            assert_eq!(segment_start_of(&segment_file_name(start)), Some(start));
        }
        assert_eq!(segment_start_of("decisions.12.jsonl"), None);
        assert_eq!(segment_start_of("decisions.jsonl.tmp"), None);
    }

    #[test]
    fn a_read_finds_the_segment_holding_it_and_segments_started_since() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(segment_file_name(0)), "abc\n").unwrap();
        let segments = SegmentFiles::open(dir.path(), &[0], |_| false).unwrap();
        std::fs::write(dir.path().join(segment_file_name(4)), "defg\n").unwrap();
        let mut buffer = [0; 4];
        segments.read_exact_at(&mut buffer, 5).unwrap();
        assert_eq!(&buffer, b"efg\n", "found the segment the writer started");
        segments.read_exact_at(&mut buffer[..3], 0).unwrap();
        assert_eq!(&buffer[..3], b"abc");
        assert!(
            segments
                .read_exact_at(&mut buffer, 40)
                .unwrap_err()
                .is_eof()
        );
        segments.forget(0);
        assert!(
            segments
                .read_exact_at(&mut buffer[..3], 0)
                .unwrap_err()
                .is_eof()
        );
        let error = SegmentFiles::open(dir.path(), &[0, 99], |_| false).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("decisions.0000000000000099.jsonl"),
            "{error}"
        );
    }
}
