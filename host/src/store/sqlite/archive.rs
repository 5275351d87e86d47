//! Reading a data directory's store offline (`redress audit`,
//! `redress report`), alongside a running daemon or without one.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::audit_file::AuditFile;
use super::queries::{find_case_no, read_case, read_decisions, read_report};
use crate::store::sqlite::check_schema_current;
use crate::store::{CaseView, DecisionPage, DecisionQuery, Report, StoreError};
use crate::time::Timestamp;

/// A read-only view of `DIR/redress.db` and `DIR/decisions.jsonl`. Never
/// creates or migrates them.
#[derive(Debug)]
pub struct Archive {
    path: PathBuf,
    connection: Connection,
    audit: AuditFile,
}

/// Opens `path` read-only and checks it is a store of this version;
/// `immutable`: without locks or the WAL's shared memory.
pub(in crate::store) fn open_read_only(
    path: &Path,
    immutable: bool,
) -> Result<Connection, StoreError> {
    let open_error = |error: rusqlite::Error| StoreError::Open {
        path: path.display().to_string(),
        message: error.to_string(),
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = if immutable {
        let uri = format!("file:{}?immutable=1", path.display());
        Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
    } else {
        Connection::open_with_flags(path, flags)
    }
    .map_err(open_error)?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    check_schema_current(&connection, path)?;
    Ok(connection)
}

/// Whether files cannot be created in `directory` (a read-only mount).
fn directory_is_read_only(directory: &Path) -> bool {
    let probe = directory.join(".redress-write-probe");
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            false
        }
        Err(error) => matches!(
            error.kind(),
            std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
        ),
    }
}

impl crate::store::AuditReader for Archive {
    fn complaints(
        &self,
        query: &crate::store::LogQuery,
        visit: &mut dyn FnMut(crate::store::LoggedComplaint) -> std::ops::ControlFlow<()>,
    ) -> Result<(), StoreError> {
        super::log_scan::visit_complaints(&self.connection, &self.audit, query, visit)
    }

    fn snapshot(&self, version: &str) -> Result<Option<crate::store::SnapshotRecord>, StoreError> {
        super::versions::read_snapshot(&self.connection, version)
    }

    fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        super::versions::component(&self.connection, digest)
    }
}

impl Archive {
    /// Opens the store of the data directory `directory`.
    pub fn open(directory: &Path) -> Result<Self, StoreError> {
        let path = crate::store::database_path(directory);
        if !path.is_file() {
            return Err(StoreError::Open {
                path: path.display().to_string(),
                message: "no store here; the daemon creates it on its first start with this data directory (`redress serve --data DIR`)".to_string(),
            });
        }
        let connection = match open_read_only(&path, false) {
            Ok(connection) => connection,
            // A database in WAL mode needs its `-shm` file, which a reader
            // creates; on a read-only file system (a mounted backup, say)
            // it cannot, and no daemon can be writing there either, so the
            // file is read as it is.
            Err(error) if directory_is_read_only(directory) => open_read_only(&path, true)
                .map_err(|_| StoreError::Open {
                    path: path.display().to_string(),
                    message: format!(
                        "cannot read the store on a read-only file system ({error}); copy the data directory somewhere writable"
                    ),
                })?,
            Err(error) => return Err(error),
        };
        let audit = AuditFile::open_for_reading_from(directory, &connection)?;
        Ok(Archive {
            path,
            connection,
            audit,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl crate::store::StoreReader for Archive {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    /// A case, its timers, history and decisions. Finding a case by its
    /// id reads the whole cases table (the daemon keeps that lookup in
    /// memory instead).
    fn case(&self, id: &str) -> Result<Option<CaseView>, StoreError> {
        match find_case_no(&self.connection, id)? {
            Some(case_no) => read_case(&self.connection, &self.audit, case_no),
            None => Ok(None),
        }
    }

    fn cases_of_customer(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<crate::store::CaseSummary>, StoreError> {
        super::queries::read_cases_of_customer(&self.connection, customer_id, limit)
    }

    /// A page of the audit log.
    fn decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, StoreError> {
        let case_no = match &query.case_id {
            None => None,
            Some(id) => match find_case_no(&self.connection, id)? {
                Some(case_no) => Some(case_no),
                None => return Ok(DecisionPage::default()),
            },
        };
        read_decisions(&self.connection, &self.audit, query, case_no)
    }

    fn complaints_per_day(
        &self,
        cell: &crate::store::GridCell,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, i64)>, StoreError> {
        super::queries::read_complaints_per_day(&self.connection, cell, from, to)
    }

    /// Complaints opened in `[from, to)`.
    fn report(&self, from: Timestamp, to: Timestamp) -> Result<Report, StoreError> {
        read_report(&self.connection, from, to)
    }
}
