//! Reading a data directory's store offline (`redress audit`,
//! `redress report`), alongside a running daemon or without one.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::store::audit_file::AuditFile;
use crate::store::queries::{find_case_no, read_case, read_decisions, read_report};
use crate::store::sqlite::{check_schema_current, committed_audit_end};
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

impl Archive {
    /// Opens the store of the data directory `directory`.
    pub fn open(directory: &Path) -> Result<Self, StoreError> {
        let path = super::database_path(directory);
        if !path.is_file() {
            return Err(StoreError::Open {
                path: path.display().to_string(),
                message: "no store here; the daemon creates it on its first start with this data directory (`redress serve --data DIR`)".to_string(),
            });
        }
        let connection = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|error| StoreError::Open {
            path: path.display().to_string(),
            message: error.to_string(),
        })?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        check_schema_current(&connection, &path)?;
        let audit = AuditFile::open_for_reading(directory, committed_audit_end(&connection)?)?;
        Ok(Archive {
            path,
            connection,
            audit,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A case, its timers, history and decisions. Finding a case by its
    /// id reads the whole cases table (the daemon keeps that lookup in
    /// memory instead).
    pub fn case(&self, id: &str) -> Result<Option<CaseView>, StoreError> {
        match find_case_no(&self.connection, id)? {
            Some(case_no) => read_case(&self.connection, &self.audit, case_no),
            None => Ok(None),
        }
    }

    /// A page of the audit log.
    pub fn decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, StoreError> {
        let case_no = match &query.case_id {
            None => None,
            Some(id) => match find_case_no(&self.connection, id)? {
                Some(case_no) => Some(case_no),
                None => return Ok(DecisionPage::default()),
            },
        };
        read_decisions(&self.connection, &self.audit, query, case_no)
    }

    /// Complaints opened in `[from, to)`.
    pub fn report(&self, from: Timestamp, to: Timestamp) -> Result<Report, StoreError> {
        read_report(&self.connection, from, to)
    }
}
