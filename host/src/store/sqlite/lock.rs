//! One process at a time writes a data directory: the daemon holds an
//! exclusive lock on `DIR/redress.lock` while its store is open, and
//! `redress store repair` takes the same lock, so a repair never runs under
//! a daemon and two daemons never share a directory. The operating system
//! releases the lock when the process ends, however it ends.

use std::fs::File;
use std::path::Path;

use crate::store::StoreError;

/// The lock file's name in the data directory.
pub const FILE_NAME: &str = "redress.lock";

/// Tries at taking a held lock, [`LOCK_RETRY`] apart, before it is
/// reported as held (a second daemon on the directory waits this long).
const LOCK_ATTEMPTS: u32 = 20;
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

impl DataLock {
    /// Takes the lock on `directory`, or says who has it.
    pub fn acquire(directory: &Path) -> Result<Self, StoreError> {
        let path = directory.join(FILE_NAME);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| StoreError::Open {
                path: directory.display().to_string(),
                message: unwritable(&error),
            })?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd as _;
            // A lock just released can still be held for a moment: a
            // process forked by another thread keeps a copy of the releasing
            // descriptor until it execs. So a taken lock is tried again for
            // a short while before it is reported.
            let mut attempts = 0;
            loop {
                // SAFETY: flock only reads the descriptor, which `file`
                // keeps open for as long as the lock is held.
                let locked =
                    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
                if locked == 0 {
                    break;
                }
                attempts += 1;
                if attempts == LOCK_ATTEMPTS {
                    return Err(StoreError::Locked {
                        directory: directory.display().to_string(),
                    });
                }
                std::thread::sleep(LOCK_RETRY);
            }
        }
        Ok(DataLock { _file: file })
    }
}

/// The file a backup locks (shared) while it copies the audit log's live
/// segments, and retention (exclusive) before it removes one it archived.
pub const SEGMENTS_LOCK: &str = "segments.lock";

/// A held lock on the live segments; released when dropped.
#[derive(Debug)]
pub struct SegmentsLock {
    _file: File,
}

impl SegmentsLock {
    /// Waits until no segment is being removed, and keeps them all until
    /// dropped. `None` when the lock file cannot be made (a read-only data
    /// directory, where nothing removes segments either).
    pub fn shared(directory: &Path) -> Option<Self> {
        Self::take(directory, false)
    }

    /// Takes the lock if no backup holds it.
    pub fn try_exclusive(directory: &Path) -> Option<Self> {
        Self::take(directory, true)
    }

    fn take(directory: &Path, exclusive: bool) -> Option<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(directory.join(SEGMENTS_LOCK))
            .ok()?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd as _;
            let operation = if exclusive {
                libc::LOCK_EX | libc::LOCK_NB
            } else {
                libc::LOCK_SH
            };
            // SAFETY: flock only reads the descriptor, which `file` keeps
            // open for as long as the lock is held.
            if unsafe { libc::flock(file.as_raw_fd(), operation) } != 0 {
                return None;
            }
        }
        Some(SegmentsLock { _file: file })
    }
}

/// What a failure to create a file in the data directory means.
fn unwritable(error: &std::io::Error) -> String {
    match error.raw_os_error() {
        #[cfg(unix)]
        Some(libc::EROFS) => "the data directory is on a read-only file system; the store writes redress.db, its WAL and decisions.jsonl there".to_string(),
        #[cfg(unix)]
        Some(libc::EACCES) | Some(libc::EPERM) => format!("the data directory is read-only for this user ({error}); the store writes redress.db, its WAL and decisions.jsonl there"),
        #[cfg(unix)]
        Some(libc::ENOSPC) => format!("the disk is full ({error})"),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataLock::acquire(dir.path()).unwrap();
        let error = DataLock::acquire(dir.path()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is in use by another Redress process"),
            "{error}"
        );
        drop(first);
        DataLock::acquire(dir.path()).unwrap();
    }
}
