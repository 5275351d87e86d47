//! A data directory read with its archive (`--include-archive`): archived
//! entries first, in the log's order, then the live ones, as one log.
//! Archived files an operator deleted are skipped, and
//! [`WithArchive::unavailable`] says which entries they held.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::audit_archive::{
    ArchiveIndex, ArchivedEntry, ArchivedSegment, archive_dir, read_archived,
};
use super::audit_file::is_placeholder;
use crate::store::{
    AuditReader, CaseView, DecisionKind, DecisionPage, DecisionQuery, LogQuery, LoggedComplaint,
    Report, SnapshotRecord, StoreError, StoreReader, StoredDecision,
};
use crate::time::Timestamp;

/// The live store of a data directory and its archive, read as one.
pub struct WithArchive {
    live: Box<dyn StoreReader>,
    directory: PathBuf,
    index: ArchiveIndex,
}

/// The decision of a line, for [`StoredDecision`].
#[derive(Deserialize)]
struct DecisionOnly {
    decision: serde_json::Value,
}

impl WithArchive {
    pub fn open(directory: &Path, live: Box<dyn StoreReader>) -> Result<Self, StoreError> {
        Ok(WithArchive {
            live,
            directory: directory.to_path_buf(),
            index: ArchiveIndex::load(directory)?,
        })
    }

    /// What the archive no longer holds: one sentence per deleted file.
    pub fn unavailable(&self) -> Vec<String> {
        self.index
            .segments
            .iter()
            .filter(|segment| !self.path_of(segment).is_file())
            .map(unavailable)
            .collect()
    }

    fn path_of(&self, segment: &ArchivedSegment) -> PathBuf {
        archive_dir(&self.directory).join(&segment.file)
    }

    /// Visits the archived entries after position `after` whose segment
    /// may hold moments in `[since, until)`, oldest first, until `visit`
    /// breaks; whether it broke. Deleted files are skipped.
    fn archived(
        &self,
        after: i64,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
        visit: &mut dyn FnMut(ArchivedEntry) -> ControlFlow<()>,
    ) -> Result<bool, StoreError> {
        for segment in &self.index.segments {
            let outside = segment.last_seq <= after
                || since.is_some_and(|since| segment.last_at.is_some_and(|last| last < since))
                || until.is_some_and(|until| segment.first_at.is_some_and(|first| first >= until));
            let path = self.path_of(segment);
            if outside || !path.is_file() {
                continue;
            }
            if read_archived(&path, visit)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The sentence naming what a deleted archived file held.
pub(in crate::store) fn unavailable(segment: &ArchivedSegment) -> String {
    let when = match (segment.first_at, segment.last_at) {
        (Some(first), Some(last)) => format!(", {first} to {last}"),
        _ => String::new(),
    };
    format!(
        "audit entries {} to {}{when} are no longer available: archive/{} was deleted",
        segment.first_seq, segment.last_seq, segment.file
    )
}

fn in_window(at: Timestamp, since: Option<Timestamp>, until: Option<Timestamp>) -> bool {
    since.is_none_or(|since| at >= since) && until.is_none_or(|until| at < until)
}

fn logged(entry: ArchivedEntry) -> LoggedComplaint {
    let placeholder = is_placeholder(&entry.line);
    LoggedComplaint {
        seq: entry.meta.seq,
        event_id: entry.meta.event_id,
        decided_at: entry.meta.decided_at,
        line: (!placeholder).then_some(entry.line),
    }
}

fn stored(entry: ArchivedEntry) -> StoredDecision {
    let decision = serde_json::from_slice::<DecisionOnly>(&entry.line)
        .map_or(serde_json::Value::Null, |line| line.decision);
    let meta = entry.meta;
    StoredDecision {
        seq: meta.seq,
        event_id: meta.event_id,
        case_id: meta.case_id,
        kind: meta.kind,
        decided_at: meta.decided_at,
        ruleset_version: meta.ruleset_version,
        plugin_digests: meta.plugin_digests,
        decision,
    }
}

impl AuditReader for WithArchive {
    fn complaints(
        &self,
        query: &LogQuery,
        visit: &mut dyn FnMut(LoggedComplaint) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let archived_to = self.index.last_seq();
        let wanted = |entry: &ArchivedEntry| {
            entry.meta.kind == DecisionKind::Complaint
                && in_window(entry.meta.decided_at, query.since, query.until)
                && query
                    .case_id
                    .as_ref()
                    .is_none_or(|case| *case == entry.meta.case_id)
        };
        if let Some(last) = query.last {
            // The last `last` of archive and live log together.
            let mut kept: VecDeque<LoggedComplaint> = VecDeque::with_capacity(last.min(4096));
            let mut keep = |entry: LoggedComplaint| {
                if kept.len() == last {
                    kept.pop_front();
                }
                if last > 0 {
                    kept.push_back(entry);
                }
            };
            self.archived(0, query.since, query.until, &mut |entry| {
                if wanted(&entry) {
                    keep(logged(entry));
                }
                ControlFlow::Continue(())
            })?;
            self.live.complaints(query, &mut |entry| {
                if entry.seq > archived_to {
                    keep(entry);
                }
                ControlFlow::Continue(())
            })?;
            for entry in kept {
                if visit(entry).is_break() {
                    break;
                }
            }
            return Ok(());
        }
        let broke = self.archived(0, query.since, query.until, &mut |entry| {
            if wanted(&entry) {
                return visit(logged(entry));
            }
            ControlFlow::Continue(())
        })?;
        if broke {
            return Ok(());
        }
        self.live.complaints(query, &mut |entry| {
            if entry.seq > archived_to {
                visit(entry)
            } else {
                ControlFlow::Continue(())
            }
        })
    }

    fn snapshot(&self, version: &str) -> Result<Option<SnapshotRecord>, StoreError> {
        self.live.snapshot(version)
    }

    fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.live.component(digest)
    }
}

impl StoreReader for WithArchive {
    fn location(&self) -> String {
        format!("{} and its archive", self.live.location())
    }

    fn case(&self, id: &str) -> Result<Option<CaseView>, StoreError> {
        self.live.case(id)
    }

    fn cases_of_customer(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<crate::store::CaseSummary>, StoreError> {
        self.live.cases_of_customer(customer_id, limit)
    }

    fn decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, StoreError> {
        let limit = query.limit.max(1);
        let archived_to = self.index.last_seq();
        let mut page = Vec::new();
        if query.after < archived_to {
            self.archived(query.after, query.since, query.until, &mut |entry| {
                let wanted = entry.meta.seq > query.after
                    && in_window(entry.meta.decided_at, query.since, query.until)
                    && query
                        .case_id
                        .as_ref()
                        .is_none_or(|case| *case == entry.meta.case_id);
                if wanted {
                    page.push(stored(entry));
                }
                if page.len() == limit {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })?;
        }
        if page.len() == limit {
            let next = page.last().map(|entry| entry.seq);
            return Ok(DecisionPage {
                decisions: page,
                next,
            });
        }
        let live = self.live.decisions(&DecisionQuery {
            after: query.after.max(archived_to),
            limit: limit - page.len(),
            ..query.clone()
        })?;
        page.extend(live.decisions);
        Ok(DecisionPage {
            decisions: page,
            next: live.next,
        })
    }

    fn complaints_per_day(
        &self,
        cell: &crate::store::GridCell,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, i64)>, StoreError> {
        self.live.complaints_per_day(cell, from, to)
    }

    fn report(&self, from: Timestamp, to: Timestamp) -> Result<Report, StoreError> {
        self.live.report(from, to)
    }
}
