//! Builds a complete new snapshot (rules and plugins) off the request path
//! and swaps it in atomically; a failed build keeps the last good snapshot
//! serving and records why. Reloads are serialized, and each has a
//! deadline: a reload that cannot finish (a file system that hangs) is
//! reported as failed rather than waited for.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::decision::Name;
use crate::diagnostic::{Diagnostic, render_all};
use crate::plugin::{PluginRuntime, RefusedPlugin};
use crate::reload::removals::Removals;
use crate::reload::settle::read_settled;
use crate::snapshot::{Snapshot, SnapshotOutcome, Sources};
use crate::time::Timestamp;

/// What asked for a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum ReloadTrigger {
    /// The daemon starting.
    Startup,
    /// The file watcher.
    Watch,
    /// SIGHUP.
    Signal,
    /// `POST /v1/reload`.
    Api,
}

/// How a reload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::EnumIter)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum ReloadOutcome {
    /// A new snapshot serves.
    Loaded,
    /// Nothing that decides changed.
    Unchanged,
    /// A new snapshot serves, but one or more plugins were refused: each
    /// serves in its last good version, or not at all (`refused_plugins`).
    Partial,
    /// The files have errors (or the reload could not finish): the last
    /// good snapshot keeps serving.
    Failed,
}

impl ReloadOutcome {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The outcome of the latest reload, as `/v1/ruleset` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadStatus {
    pub at: Timestamp,
    pub trigger: ReloadTrigger,
    pub outcome: ReloadOutcome,
    /// The version serving after the reload.
    pub serving: Name,
    pub duration_ms: f64,
    /// Every problem found (warnings too).
    pub diagnostics: Vec<Diagnostic>,
    /// The diagnostics rendered as `redress check` prints them.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rendered: String,
    /// Plugins that could not be loaded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused_plugins: Vec<RefusedPlugin>,
    /// Rule files and whole kinds of rules the new snapshot no longer has.
    #[serde(skip_serializing_if = "Removals::is_empty")]
    pub removed: Removals,
}

/// Counters of reloads, for metrics.
#[derive(Debug, Default)]
pub struct ReloadCounts {
    pub loaded: std::sync::atomic::AtomicU64,
    pub unchanged: std::sync::atomic::AtomicU64,
    pub partial: std::sync::atomic::AtomicU64,
    pub failed: std::sync::atomic::AtomicU64,
    /// Reloads that removed a whole rule file.
    pub removed_files: std::sync::atomic::AtomicU64,
    /// Reloads that removed every rule of a kind.
    pub removed_kinds: std::sync::atomic::AtomicU64,
}

impl ReloadCounts {
    pub fn of(&self, outcome: ReloadOutcome) -> &std::sync::atomic::AtomicU64 {
        match outcome {
            ReloadOutcome::Loaded => &self.loaded,
            ReloadOutcome::Unchanged => &self.unchanged,
            ReloadOutcome::Partial => &self.partial,
            ReloadOutcome::Failed => &self.failed,
        }
    }
}

/// How long reloads may take and wait.
#[derive(Debug, Clone, Copy)]
pub struct ReloadTiming {
    /// How long a rule file that is empty or gone is waited for (it may be
    /// caught mid-save) before the reload takes it as it is.
    pub settle: Duration,
    /// Longest a reload may take, waiting for the previous one included.
    pub timeout: Duration,
}

impl Default for ReloadTiming {
    fn default() -> Self {
        ReloadTiming {
            settle: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Owns the live snapshot and replaces it.
pub struct Reloader {
    sources: Sources,
    runtime: Option<Arc<PluginRuntime>>,
    timing: ReloadTiming,
    live: Arc<ArcSwap<Snapshot>>,
    /// Held only to read or replace the status; never across an await.
    status: Mutex<ReloadStatus>,
    /// Serializes reloads. Owned by the build itself, so a build that
    /// outlives its deadline keeps later reloads out until it ends.
    gate: Arc<tokio::sync::Mutex<()>>,
    pub counts: ReloadCounts,
}

/// Why the first snapshot could not be built.
#[derive(Debug, thiserror::Error)]
#[error("the rules or plugins have errors; nothing to serve:\n{rendered}")]
pub struct StartupError {
    pub rendered: String,
}

impl Reloader {
    /// Builds the first snapshot; the daemon does not start without one.
    /// A plugin that is refused is logged and left out (rules reading it
    /// are errors, so then nothing starts).
    pub fn start(
        sources: Sources,
        runtime: Option<Arc<PluginRuntime>>,
        timing: ReloadTiming,
    ) -> Result<Self, StartupError> {
        let started = Instant::now();
        let outcome = Snapshot::load(&sources, runtime.as_ref(), None);
        let rendered = render_all(&outcome.diagnostics, &outcome.sources);
        let Some(snapshot) = outcome.snapshot else {
            return Err(StartupError { rendered });
        };
        let refused_plugins = snapshot.plugins.refused().to_vec();
        let outcome_kind = if refused_plugins.is_empty() {
            ReloadOutcome::Loaded
        } else {
            tracing::error!(
                refused = refused_plugins.len(),
                "plugins refused at start; serving without them\n{rendered}"
            );
            ReloadOutcome::Partial
        };
        let status = ReloadStatus {
            at: Timestamp::now(),
            trigger: ReloadTrigger::Startup,
            outcome: outcome_kind,
            serving: snapshot.version.clone(),
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            rendered,
            diagnostics: outcome.diagnostics,
            refused_plugins,
            removed: Removals::default(),
        };
        let counts = ReloadCounts::default();
        counts
            .of(outcome_kind)
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Reloader {
            sources,
            runtime,
            timing,
            live: Arc::new(ArcSwap::from_pointee(snapshot)),
            status: Mutex::new(status),
            gate: Arc::new(tokio::sync::Mutex::new(())),
            counts,
        })
    }

    /// The live snapshot holder, shared with request handlers.
    pub fn live(&self) -> Arc<ArcSwap<Snapshot>> {
        self.live.clone()
    }

    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    pub fn runtime(&self) -> Option<&Arc<PluginRuntime>> {
        self.runtime.as_ref()
    }

    /// The latest reload's outcome.
    pub fn status(&self) -> ReloadStatus {
        match self.status.lock() {
            Ok(status) => status.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Rebuilds the snapshot from disk and swaps it in if it is good.
    pub async fn reload(self: &Arc<Self>, trigger: ReloadTrigger) -> ReloadStatus {
        let started = Instant::now();
        let deadline = tokio::time::Instant::from_std(started + self.timing.timeout);
        let timeout = crate::time::Duration::from_millis(self.timing.timeout.as_millis() as i64);
        let outcome = match tokio::time::timeout_at(deadline, self.gate.clone().lock_owned()).await
        {
            Err(_) => failed_outcome(format!(
                "an earlier reload has not finished after {timeout} (a file in the rules or plugins directory that cannot be read?); this one is not done"
            )),
            Ok(serialized) => {
                let this = self.clone();
                let build = tokio::task::spawn_blocking(move || {
                    let _serialized = serialized;
                    this.build()
                });
                match tokio::time::timeout_at(deadline, build).await {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(error)) => failed_outcome(format!("the reload task failed: {error}")),
                    Err(_) => failed_outcome(format!(
                        "the reload did not finish within {timeout} (`[reload] timeout`); a file in the rules or plugins directory may block its reader"
                    )),
                }
            }
        };
        self.conclude(trigger, started, outcome)
    }

    /// Reads the files (waiting for any caught mid-save) and builds.
    fn build(&self) -> SnapshotOutcome {
        let previous = self.live.load_full();
        let files = read_settled(
            &self.sources.rules_dir,
            &previous.ruleset.files,
            self.timing.settle,
        );
        Snapshot::load_with_files(&self.sources, self.runtime.as_ref(), Some(&previous), files)
    }

    /// Swaps in a good snapshot, counts and logs the outcome.
    fn conclude(
        &self,
        trigger: ReloadTrigger,
        started: Instant,
        outcome: SnapshotOutcome,
    ) -> ReloadStatus {
        let rendered = render_all(&outcome.diagnostics, &outcome.sources);
        let has_errors = outcome.diagnostics.iter().any(Diagnostic::is_error);
        let current = self.live.load_full();
        let mut removed = Removals::default();
        let mut refused_plugins = Vec::new();
        let (result, serving) = match outcome.snapshot {
            Some(snapshot) => {
                refused_plugins = snapshot.plugins.refused().to_vec();
                let result = if has_errors {
                    ReloadOutcome::Partial
                } else if snapshot.version == current.version {
                    ReloadOutcome::Unchanged
                } else {
                    ReloadOutcome::Loaded
                };
                let version = snapshot.version.clone();
                if snapshot.version != current.version {
                    removed = Removals::between(&current.ruleset, &snapshot.ruleset);
                    self.live.store(Arc::new(snapshot));
                }
                (result, version)
            }
            None => (ReloadOutcome::Failed, current.version.clone()),
        };
        let ordering = std::sync::atomic::Ordering::Relaxed;
        self.counts.of(result).fetch_add(1, ordering);
        if !removed.files.is_empty() {
            self.counts.removed_files.fetch_add(1, ordering);
        }
        if !removed.kinds.is_empty() {
            self.counts.removed_kinds.fetch_add(1, ordering);
        }
        let status = ReloadStatus {
            at: Timestamp::now(),
            trigger,
            outcome: result,
            serving,
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            diagnostics: outcome.diagnostics,
            rendered,
            refused_plugins,
            removed,
        };
        let trigger: &'static str = trigger.into();
        if !status.removed.is_empty() {
            tracing::warn!(
                trigger,
                version = %status.serving,
                "reload removes rules: {}",
                status.removed
            );
        }
        match result {
            ReloadOutcome::Loaded => {
                tracing::info!(trigger, version = %status.serving, ms = status.duration_ms, "reloaded")
            }
            ReloadOutcome::Unchanged => {
                tracing::debug!(trigger, version = %status.serving, "reload: nothing changed")
            }
            ReloadOutcome::Partial => tracing::warn!(
                trigger,
                version = %status.serving,
                refused = status.refused_plugins.len(),
                "reloaded, but plugins were refused (each serves in its last good version, if it had one)\n{}",
                status.rendered
            ),
            ReloadOutcome::Failed => tracing::warn!(
                trigger,
                serving = %status.serving,
                errors = status.diagnostics.iter().filter(|d| d.is_error()).count(),
                "reload failed; the last good rule set keeps serving\n{}",
                status.rendered
            ),
        }
        match self.status.lock() {
            Ok(mut slot) => *slot = status.clone(),
            Err(poisoned) => *poisoned.into_inner() = status.clone(),
        }
        status
    }
}

/// A reload that produced nothing, for `message`.
fn failed_outcome(message: String) -> SnapshotOutcome {
    SnapshotOutcome {
        snapshot: None,
        diagnostics: vec![Diagnostic::error(message)],
        sources: Default::default(),
    }
}
