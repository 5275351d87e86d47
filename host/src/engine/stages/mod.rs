//! The engine's stages, one per rule kind, in the order `decide` runs
//! them: route → escalate → sla → control lines → compensate (and plugin
//! proposals) → caps → authority. Each reads the rules of its kind through
//! [`Run::matching`](super::run::Run::matching) and returns its part of the
//! decision.
//!
//! Each stage is `#[inline]`: they were one function, and across codegen
//! units the compiler does not otherwise fold them back into `decide`.

mod authority;
mod cap;
mod compensate;
mod control_line;
mod escalate;
mod route;
mod sla;

pub(super) use authority::authority;
pub(super) use cap::{caps, cut_by_caps};
pub(super) use compensate::{compensate, proposals};
pub(super) use control_line::control_lines;
pub(super) use escalate::escalate;
pub(super) use route::route;
pub(super) use sla::sla;
