//! Reading a store, whichever backend holds it: what `redress audit`,
//! `report`, `replay` and `diff` read offline, and what the daemon's API
//! reads from the store it runs.

use crate::store::{
    AuditReader, CaseSummary, CaseView, DecisionPage, DecisionQuery, GridCell, Report, StoreError,
};
use crate::time::Timestamp;

/// The store, read.
pub trait StoreReader: AuditReader {
    /// Where the store is, for messages: a data directory or a database.
    fn location(&self) -> String;

    /// A case, its timers, history and decisions.
    fn case(&self, id: &str) -> Result<Option<CaseView>, StoreError>;

    /// The cases of one customer, newest first, at most `limit` of them.
    fn cases_of_customer(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<CaseSummary>, StoreError>;

    /// A page of the audit log.
    fn decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, StoreError>;

    /// The complaints of one grid cell opened on each day (UTC) of
    /// `[from, to)`, as (day's first moment, count), days without any left
    /// out: what a control chart of the cell draws.
    fn complaints_per_day(
        &self,
        cell: &GridCell,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, i64)>, StoreError>;

    /// Complaints by category, product line and tier opened in `[from, to)`.
    fn report(&self, from: Timestamp, to: Timestamp) -> Result<Report, StoreError>;
}
