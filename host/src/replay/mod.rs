//! Deciding logged complaints again: [`replay`] under their own recorded
//! snapshots (are the decisions exactly reproducible?), and `diff` under
//! a candidate rule set (what would a change change?), which the reload
//! gate also uses. Both read the log through
//! [`AuditReader`](crate::store::AuditReader) and decide with the intake's
//! own code ([`crate::intake`]).
//!
//! - `versions`: the kept snapshots, compiled once per replay.
//! - `compare`: the first differing field of two decisions.
//! - `run`: replay.
//! - `diff`: diff and its summary.

pub mod compare;
pub mod diff;
pub mod parallel;
pub mod run;
pub mod versions;

pub use diff::{DiffOptions, DiffReport, diff};
pub use run::{Difference, ReplayOptions, ReplayReport, Unreplayable, replay};
