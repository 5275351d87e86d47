//! Watches the rules and plugins directories and signals, debounced, that
//! something changed. It never loads anything itself.
//!
//! Editors save in many ways: in place, write-to-temporary-then-rename,
//! delete-and-recreate, even replacing the whole directory. The watcher
//! watches each directory and its parent; when a directory disappears and
//! comes back it is watched again (also checked once a second, in case an
//! event was missed). Only `*.toml` and `*.wasm` files, and the directories
//! themselves, count as changes; swap files and backups do not.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

/// A running watcher; dropping it stops watching.
pub struct DirectoryWatcher {
    _task: tokio::task::JoinHandle<()>,
}

/// Longest a burst of changes can delay a reload.
const MAX_DELAY: Duration = Duration::from_secs(1);

impl DirectoryWatcher {
    /// Watches `directories`; after each burst of changes (quiet for
    /// `debounce`), sends one `()` on `changed`.
    pub fn start(
        directories: Vec<PathBuf>,
        debounce: Duration,
        changed: mpsc::Sender<()>,
    ) -> notify::Result<Self> {
        let (events_tx, mut events_rx) = mpsc::unbounded_channel::<notify::Result<notify::Event>>();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = events_tx.send(event);
        })?;
        let directories: Vec<PathBuf> = directories
            .into_iter()
            .map(|d| std::path::absolute(&d).unwrap_or(d))
            .collect();
        let mut watched: HashMap<PathBuf, u64> = HashMap::new();
        let mut known: HashSet<PathBuf> = HashSet::new();
        ensure_watched(&mut watcher, &directories, &mut watched, &mut known);
        let task = tokio::spawn(async move {
            let mut recheck = tokio::time::interval(Duration::from_secs(1));
            loop {
                let first = tokio::select! {
                    event = events_rx.recv() => match event {
                        Some(event) => event,
                        None => return,
                    },
                    _ = recheck.tick() => {
                        if ensure_watched(&mut watcher, &directories, &mut watched, &mut known) {
                            let _ = changed.send(()).await;
                        }
                        continue;
                    }
                };
                if !relevant(&first, &directories, &mut watched) {
                    continue;
                }
                // Debounce: wait for quiet, at most MAX_DELAY.
                let deadline = tokio::time::Instant::now() + MAX_DELAY;
                loop {
                    let quiet = tokio::time::sleep(debounce);
                    tokio::select! {
                        event = events_rx.recv() => match event {
                            Some(event) => {
                                relevant(&event, &directories, &mut watched);
                                if tokio::time::Instant::now() >= deadline {
                                    break;
                                }
                            }
                            None => return,
                        },
                        _ = quiet => break,
                    }
                }
                ensure_watched(&mut watcher, &directories, &mut watched, &mut known);
                if changed.send(()).await.is_err() {
                    return;
                }
            }
        });
        Ok(DirectoryWatcher { _task: task })
    }
}

/// Watches every directory (and its parent) that exists and is not yet
/// watched, or that was replaced by another directory of the same name
/// (a watch follows the directory, not the name); returns whether a
/// directory that was watched before came back.
fn ensure_watched(
    watcher: &mut notify::RecommendedWatcher,
    directories: &[PathBuf],
    watched: &mut HashMap<PathBuf, u64>,
    known: &mut HashSet<PathBuf>,
) -> bool {
    let mut came_back = false;
    for directory in directories {
        if let Some(parent) = directory.parent()
            && !watched.contains_key(parent)
            && watcher.watch(parent, RecursiveMode::NonRecursive).is_ok()
        {
            watched.insert(parent.to_path_buf(), identity(parent));
        }
        if !directory.is_dir() {
            if watched.remove(directory).is_some() {
                let _ = watcher.unwatch(directory);
            }
            continue;
        }
        let current = identity(directory);
        match watched.get(directory) {
            Some(seen) if *seen == current => continue,
            Some(_) => {
                // Same name, another directory: move the watch to it.
                let _ = watcher.unwatch(directory);
                watched.remove(directory);
            }
            None => {}
        }
        match watcher.watch(directory, RecursiveMode::NonRecursive) {
            Ok(()) => {
                came_back |= !known.insert(directory.clone());
                watched.insert(directory.clone(), current);
                tracing::debug!(directory = %directory.display(), "watching");
            }
            Err(error) => tracing::warn!(directory = %directory.display(), %error, "cannot watch"),
        }
    }
    came_back
}

/// What tells two directories of the same name apart.
fn identity(path: &Path) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(path).map(|m| m.ino()).unwrap_or(0)
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_or(0, |t| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64)
            })
    }
}

/// Whether an event is a change to a rule, manifest or component (or to a
/// watched directory itself).
fn relevant(
    event: &notify::Result<notify::Event>,
    directories: &[PathBuf],
    watched: &mut HashMap<PathBuf, u64>,
) -> bool {
    let event = match event {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "file watcher error");
            return true;
        }
    };
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    event.paths.iter().any(|path| {
        if directories.iter().any(|d| d == path) {
            if matches!(event.kind, EventKind::Remove(_)) {
                watched.remove(path);
            }
            return true;
        }
        let in_watched = path
            .parent()
            .is_some_and(|p| directories.iter().any(|d| d == p));
        in_watched && is_source(path)
    })
}

fn is_source(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.') && (name.ends_with(".toml") || name.ends_with(".wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sources_count() {
        assert!(is_source(Path::new("rules/10-routing.toml")));
        assert!(is_source(Path::new("plugins/sentiment.wasm")));
        assert!(!is_source(Path::new("rules/.10-routing.toml.swp")));
        assert!(!is_source(Path::new("rules/10-routing.toml~")));
        assert!(!is_source(Path::new("rules/4913")));
    }
}
