//! Retention on the embedded store: archive the sealed segments past the
//! live window (on the caller's thread, reading only), let the writer take
//! one bounded step of pruning, then remove the live files of segments the
//! archive holds and the database no longer lists.

use std::path::Path;

use super::SqliteStore;
use super::archive::open_read_only;
use super::audit_archive::{
    ArchiveIndex, ArchivedSegment, archive_dir, archive_segment, archived_digest, last_entry_at,
    read_archived, sealed_segments,
};
use super::audit_segments::{live_segment_starts, segment_files_in};
use super::lock::SegmentsLock;
use super::prune::PruneRequest;
use crate::store::StoreError;
use crate::store::retention::{Cutoffs, PruneReport};

impl SqliteStore {
    pub(super) fn prune_step(&self, cutoffs: &Cutoffs) -> Result<PruneReport, StoreError> {
        // Compressing takes a core for seconds a segment: on a thread that
        // yields to the daemon's own (decisions first, archives when idle).
        let segments_archived = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    yield_to_other_threads();
                    self.archive_due(cutoffs)
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(StoreError::Inconsistent(
                        "archiving the audit log panicked".to_string(),
                    ))
                })
        })?;
        let mut report = PruneReport {
            segments_archived,
            ..PruneReport::default()
        };
        let connection = open_read_only(&self.path, false)?;
        let index = ArchiveIndex::load(&self.directory)?;
        let archived = sealed_segments(&connection)?
            .into_iter()
            .filter(|segment| index.holds(segment.start))
            .collect();
        drop(connection);
        let step = self.commands.prune(PruneRequest {
            cutoffs: cutoffs.clone(),
            archived,
        })?;
        report.add(&step.report);
        for start in &step.released {
            self.audit.forget_segment(*start);
        }
        let live = self.read(live_segment_starts)?;
        report.segments_removed += remove_archived_files(&self.directory, &live, &index);
        Ok(report)
    }

    /// Archives the sealed segments whose last entry is before
    /// `cutoffs.decisions_before`; how many.
    fn archive_due(&self, cutoffs: &Cutoffs) -> Result<usize, StoreError> {
        let mut archived_now = 0;
        let connection = open_read_only(&self.path, false)?;
        let index = ArchiveIndex::load(&self.directory)?;
        for segment in sealed_segments(&connection)? {
            if index.holds(segment.start) {
                continue;
            }
            // Segments are in the log's order: once one is too recent, so
            // are those after it.
            if last_entry_at(&connection, &segment)?
                .is_some_and(|at| at >= cutoffs.decisions_before)
            {
                break;
            }
            let archived = archive_segment(
                &self.directory,
                &connection,
                self.audit.segments(),
                &segment,
                cutoffs.now,
            )?;
            check_archived(&self.directory, &archived)?;
            tracing::info!(
                file = %archived.file,
                entries = archived.entries,
                first_seq = archived.first_seq,
                last_seq = archived.last_seq,
                live_bytes = archived.live_bytes,
                compressed_bytes = archived.compressed_bytes,
                "audit log: archived a segment"
            );
            archived_now += 1;
        }
        Ok(archived_now)
    }
}

/// Lowers the calling thread's scheduling priority to the lowest.
fn yield_to_other_threads() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority takes no pointers; on Linux, `who = 0` with
        // PRIO_PROCESS is the calling thread. A failure leaves the
        // priority as it was, which is only slower for the daemon.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    }
}

/// Reads an archived segment back whole before its entries leave the
/// database: its digest, and every entry from its first to its last.
fn check_archived(directory: &Path, archived: &ArchivedSegment) -> Result<(), StoreError> {
    let path = archive_dir(directory).join(&archived.file);
    let damaged = |what: String| StoreError::AuditFile {
        path: path.display().to_string(),
        message: format!(
            "the archive just written does not read back ({what}); the live segment is kept"
        ),
    };
    let digest = archived_digest(&path)?;
    if digest != archived.sha256 {
        return Err(damaged(format!(
            "its SHA-256 is {digest}, the index says {}",
            archived.sha256
        )));
    }
    let mut entries = 0u64;
    let mut last = archived.first_seq - 1;
    let mut in_order = true;
    read_archived(&path, &mut |entry| {
        entries += 1;
        in_order &= entry.meta.seq > last;
        last = entry.meta.seq;
        std::ops::ControlFlow::Continue(())
    })?;
    if entries != archived.entries || !in_order || (entries > 0 && last != archived.last_seq) {
        return Err(damaged(format!(
            "{entries} entries up to {last}, the index says {} up to {}",
            archived.entries, archived.last_seq
        )));
    }
    Ok(())
}

/// Removes the live files of segments that the archive holds and the
/// database no longer lists (`live`); how many. Left for the next run
/// while a backup copies the live segments.
fn remove_archived_files(directory: &Path, live: &[u64], index: &ArchiveIndex) -> usize {
    let first_live = live.first().copied().unwrap_or(u64::MAX);
    let gone: Vec<_> = segment_files_in(directory)
        .into_iter()
        .filter(|(start, _)| *start < first_live && index.holds(*start))
        .collect();
    if gone.is_empty() {
        return 0;
    }
    let Some(_lock) = SegmentsLock::try_exclusive(directory) else {
        tracing::info!(
            "retention: a backup is copying the audit log; archived segments are removed at the next run"
        );
        return 0;
    };
    let mut removed = 0;
    for (_, path) in gone {
        match std::fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "retention: cannot remove an archived segment's live file")
            }
        }
    }
    removed
}
