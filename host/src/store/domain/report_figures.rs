//! What a case adds to the monthly report beyond its own fields, kept on
//! the case's row as it happens: the report and a cell's control chart
//! then read one index over the month's cases instead of looking up each
//! case's timers and history.

/// A figure of the report a case's row carries (columns `sla_breaches`,
/// `follow_up_scheduled` and `follow_ups_done` of `cases` in both
/// backends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFigure {
    /// An SLA timer (first response or resolve) fired. A breach stays
    /// counted when a reopening re-arms the resolve timer.
    SlaBreach,
    /// A follow-up was scheduled (the case counts once, however often it
    /// is resolved again).
    FollowUpScheduled,
    /// A `followed_up` event was recorded.
    FollowUpDone,
}
