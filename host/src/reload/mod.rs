//! Hot reload: a [`DirectoryWatcher`] signals (debounced) that files
//! changed; the [`Reloader`] builds a complete new snapshot off the request
//! path and swaps it in, or keeps the last good one and reports why.

mod reloader;
mod watcher;

pub use reloader::{ReloadCounts, ReloadStatus, Reloader, StartupError};
pub use watcher::DirectoryWatcher;
