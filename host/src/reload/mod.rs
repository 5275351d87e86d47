//! Hot reload: a [`DirectoryWatcher`] signals (debounced) that files
//! changed; the [`Reloader`] builds a complete new snapshot off the request
//! path and swaps it in, or keeps the last good one and reports why. A rule
//! file caught mid-save is waited for (`settle`); a reload that removes
//! whole files or kinds of rules says so ([`Removals`]); with
//! `[reload.gate]`, a change that would alter too many recent decisions is
//! held ([`Gate`]).

mod gate;
mod reloader;
mod removals;
mod settle;
mod watcher;

pub use gate::{Gate, PayoutLimit, RawGate};
pub use reloader::{
    GateVerdict, ReloadCounts, ReloadOutcome, ReloadStatus, ReloadTiming, ReloadTrigger, Reloader,
    StartupError,
};
pub use removals::{Removals, RemovedFile};
pub use watcher::DirectoryWatcher;
