//! What the store decides, whatever database it writes to: pure functions
//! from what a backend read to typed effects it then writes. A backend
//! (SQLite or PostgreSQL) reads the rows, asks these functions what follows, and
//! applies the answer in its own transaction; the rules here are written
//! once, and tested without a database.
//!
//! - [`lifecycle`]: where a case may go next (the state machine);
//! - [`case_effects`]: what a lifecycle event stamps, cancels and arms, and
//!   applying it through a backend's writes ([`case_effects::CaseWrites`]);
//! - [`opening`]: the case a decided complaint opens, with its SLA timers;
//! - [`authority`]: whether a use of granted authority fits its grant and
//!   budget;
//! - [`timer_decision`]: the time-based decision a due timer makes;
//! - [`report_figures`]: what a case adds to the report, kept on its row;
//! - [`tally_window`]: the buckets control-line counts are kept in.

pub mod authority;
pub mod case_effects;
pub mod lifecycle;
pub mod opening;
pub mod report_figures;
pub mod tally_window;
pub mod timer_decision;
