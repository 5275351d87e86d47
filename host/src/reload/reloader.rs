//! Builds a complete new snapshot (rules and plugins) off the request path
//! and swaps it in atomically; a failed build keeps the last good snapshot
//! serving and records why. Reloads are serialized.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::decision::Name;
use crate::diagnostic::{Diagnostic, render_all};
use crate::plugin::PluginRuntime;
use crate::snapshot::{Snapshot, Sources};
use crate::time::Timestamp;

/// The outcome of the latest reload, as `/v1/ruleset` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadStatus {
    pub at: Timestamp,
    /// What asked for it: `startup`, `watch`, `signal`, `api`.
    pub trigger: String,
    /// `loaded`, `unchanged` or `failed`.
    pub outcome: String,
    /// The version serving after the reload.
    pub serving: Name,
    pub duration_ms: f64,
    /// Every problem found, when it failed (warnings otherwise).
    pub diagnostics: Vec<Diagnostic>,
    /// The diagnostics rendered as `redress check` prints them.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rendered: String,
}

/// Counters of reloads, for metrics.
#[derive(Debug, Default)]
pub struct ReloadCounts {
    pub loaded: std::sync::atomic::AtomicU64,
    pub unchanged: std::sync::atomic::AtomicU64,
    pub failed: std::sync::atomic::AtomicU64,
}

/// Owns the live snapshot and replaces it.
pub struct Reloader {
    sources: Sources,
    runtime: Option<Arc<PluginRuntime>>,
    live: Arc<ArcSwap<Snapshot>>,
    /// Held only to read or replace the status; never across an await.
    status: Mutex<ReloadStatus>,
    /// Serializes reloads.
    gate: tokio::sync::Mutex<()>,
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
    pub fn start(
        sources: Sources,
        runtime: Option<Arc<PluginRuntime>>,
    ) -> Result<Self, StartupError> {
        let started = Instant::now();
        let outcome = Snapshot::load(&sources, runtime.as_ref(), None);
        let Some(snapshot) = outcome.snapshot else {
            return Err(StartupError {
                rendered: render_all(&outcome.diagnostics, &outcome.sources),
            });
        };
        let status = ReloadStatus {
            at: Timestamp::now(),
            trigger: "startup".to_string(),
            outcome: "loaded".to_string(),
            serving: snapshot.version.clone(),
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            rendered: render_all(&outcome.diagnostics, &outcome.sources),
            diagnostics: outcome.diagnostics,
        };
        let counts = ReloadCounts::default();
        counts
            .loaded
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Reloader {
            sources,
            runtime,
            live: Arc::new(ArcSwap::from_pointee(snapshot)),
            status: Mutex::new(status),
            gate: tokio::sync::Mutex::new(()),
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
    pub async fn reload(self: &Arc<Self>, trigger: &str) -> ReloadStatus {
        let _serialized = self.gate.lock().await;
        let this = self.clone();
        let started = Instant::now();
        let built = tokio::task::spawn_blocking(move || {
            let previous = this.live.load_full();
            Snapshot::load(&this.sources, this.runtime.as_ref(), Some(&previous))
        })
        .await;
        let outcome = match built {
            Ok(outcome) => outcome,
            Err(error) => {
                let diagnostic = Diagnostic::error(format!("the reload task failed: {error}"));
                crate::snapshot::SnapshotOutcome {
                    snapshot: None,
                    diagnostics: vec![diagnostic],
                    sources: Default::default(),
                }
            }
        };
        let rendered = render_all(&outcome.diagnostics, &outcome.sources);
        let current = self.live.load();
        let (result, serving) = match outcome.snapshot {
            Some(snapshot) if snapshot.version == current.version => {
                ("unchanged", current.version.clone())
            }
            Some(snapshot) => {
                let version = snapshot.version.clone();
                self.live.store(Arc::new(snapshot));
                ("loaded", version)
            }
            None => ("failed", current.version.clone()),
        };
        drop(current);
        let counter = match result {
            "loaded" => &self.counts.loaded,
            "unchanged" => &self.counts.unchanged,
            _ => &self.counts.failed,
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let status = ReloadStatus {
            at: Timestamp::now(),
            trigger: trigger.to_string(),
            outcome: result.to_string(),
            serving,
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            diagnostics: outcome.diagnostics,
            rendered,
        };
        match result {
            "loaded" => {
                tracing::info!(trigger, version = %status.serving, ms = status.duration_ms, "reloaded")
            }
            "unchanged" => {
                tracing::debug!(trigger, version = %status.serving, "reload: nothing changed")
            }
            _ => tracing::warn!(
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
