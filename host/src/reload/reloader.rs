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
use crate::diagnostic::{Diagnostic, SourceMap, render_all};
use crate::plugin::{PluginRuntime, RefusedPlugin};
use crate::reload::gate::Gate;
use crate::reload::removals::Removals;
use crate::reload::settle::read_settled;
use crate::replay::{DiffOptions, DiffReport, diff};
use crate::snapshot::{Snapshot, SnapshotOutcome, Sources};
use crate::store::{LogQuery, Store};
use crate::time::Timestamp;

/// What asked for a reload.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr, schemars::JsonSchema,
)]
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
    /// A rule file saved in the console.
    Console,
}

/// How a reload ended.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    strum::IntoStaticStr,
    strum::EnumIter,
    schemars::JsonSchema,
)]
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
    /// The reload gate held the new snapshot: it would change more of the
    /// recent decisions than `[reload.gate]` allows. The last good snapshot
    /// keeps serving until an admin accepts the held version.
    Held,
}

impl ReloadOutcome {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The outcome of the latest reload, as `/v1/ruleset` shows it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
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
    /// The text of each file a diagnostic points to, so that the console
    /// can quote each one's line (the API's clients have the quoted lines
    /// in `rendered`).
    #[serde(skip)]
    pub sources: SourceMap,
    /// Plugins that could not be loaded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused_plugins: Vec<RefusedPlugin>,
    /// Rule files and whole kinds of rules the new snapshot no longer has.
    #[serde(skip_serializing_if = "Removals::is_empty")]
    pub removed: Removals,
    /// What the reload gate found, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateVerdict>,
}

/// What the reload gate found for one new snapshot.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GateVerdict {
    /// The new snapshot's version: with `held`, the one to accept.
    pub version: Name,
    pub held: bool,
    /// The limits exceeded, in words; empty when it passed.
    pub exceeded: Vec<String>,
    /// What it would change on the recent decisions.
    pub diff: DiffReport,
}

/// A snapshot held by the gate.
struct Held {
    snapshot: Arc<Snapshot>,
    verdict: GateVerdict,
}

/// A built snapshot and the gate's verdict on it.
struct Built {
    outcome: SnapshotOutcome,
    verdict: Option<GateVerdict>,
}

/// Counters of reloads, for metrics.
#[derive(Debug, Default)]
pub struct ReloadCounts {
    pub loaded: std::sync::atomic::AtomicU64,
    pub unchanged: std::sync::atomic::AtomicU64,
    pub partial: std::sync::atomic::AtomicU64,
    pub failed: std::sync::atomic::AtomicU64,
    pub held: std::sync::atomic::AtomicU64,
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
            ReloadOutcome::Held => &self.held,
        }
    }
}

/// How long reloads may take and wait.
#[derive(Debug, Clone)]
pub struct ReloadTiming {
    /// How long a rule file that is empty or gone is waited for (it may be
    /// caught mid-save) before the reload takes it as it is.
    pub settle: Duration,
    /// Longest a reload may take, waiting for the previous one included.
    pub timeout: Duration,
    /// `[reload.gate]`: `None` when off.
    pub gate: Option<Gate>,
}

impl Default for ReloadTiming {
    fn default() -> Self {
        ReloadTiming {
            settle: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
            gate: None,
        }
    }
}

/// Owns the live snapshot and replaces it.
pub struct Reloader {
    sources: Sources,
    /// Where each snapshot is kept before it serves, so that its decisions
    /// can be decided again; `None` without a store.
    keeper: Option<Arc<dyn Store>>,
    runtime: Option<Arc<PluginRuntime>>,
    timing: ReloadTiming,
    live: Arc<ArcSwap<Snapshot>>,
    /// Held only to read or replace the status; never across an await.
    status: Mutex<ReloadStatus>,
    /// Serializes reloads. Owned by the build itself, so a build that
    /// outlives its deadline keeps later reloads out until it ends.
    serial: Arc<tokio::sync::Mutex<()>>,
    /// `[reload.gate]`, when on.
    gate: Option<Gate>,
    /// A snapshot the gate held, with why. Held only to read or replace
    /// it; never across an await.
    held: Mutex<Option<Held>>,
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
        keeper: Option<Arc<dyn Store>>,
    ) -> Result<Self, StartupError> {
        let started = Instant::now();
        let outcome = Snapshot::load(&sources, runtime.as_ref(), None);
        let rendered = render_all(&outcome.diagnostics, &outcome.sources);
        let Some(snapshot) = outcome.snapshot else {
            return Err(StartupError { rendered });
        };
        if let Some(keeper) = &keeper
            && let Err(error) = keeper.record_snapshot(&snapshot.record())
        {
            return Err(StartupError {
                rendered: format!("error: cannot keep the rule set in the store: {error}\n"),
            });
        }
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
            sources: outcome.sources.named_by(&outcome.diagnostics),
            diagnostics: outcome.diagnostics,
            refused_plugins,
            removed: Removals::default(),
            gate: None,
        };
        let counts = ReloadCounts::default();
        counts
            .of(outcome_kind)
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Reloader {
            gate: timing.gate.clone(),
            sources,
            keeper,
            runtime,
            timing,
            live: Arc::new(ArcSwap::from_pointee(snapshot)),
            status: Mutex::new(status),
            serial: Arc::new(tokio::sync::Mutex::new(())),
            held: Mutex::new(None),
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
        let outcome = match tokio::time::timeout_at(deadline, self.serial.clone().lock_owned())
            .await
        {
            Err(_) => unbuilt(failed_outcome(format!(
                "an earlier reload has not finished after {timeout} (a file in the rules or plugins directory that cannot be read?); this one is not done"
            ))),
            Ok(serialized) => {
                let this = self.clone();
                let build = tokio::task::spawn_blocking(move || {
                    let _serialized = serialized;
                    this.build()
                });
                match tokio::time::timeout_at(deadline, build).await {
                    Ok(Ok(built)) => built,
                    Ok(Err(error)) => {
                        unbuilt(failed_outcome(format!("the reload task failed: {error}")))
                    }
                    Err(_) => unbuilt(failed_outcome(format!(
                        "the reload did not finish within {timeout} (`[reload] timeout`); a file in the rules or plugins directory may block its reader"
                    ))),
                }
            }
        };
        self.conclude(trigger, started, outcome)
    }

    /// The snapshot the gate holds, if any: its version and the verdict.
    pub fn held(&self) -> Option<GateVerdict> {
        match self.held.lock() {
            Ok(held) => held.as_ref().map(|h| h.verdict.clone()),
            Err(poisoned) => poisoned.into_inner().as_ref().map(|h| h.verdict.clone()),
        }
    }

    /// Lets the held snapshot of `version` go live; an error saying what is
    /// held otherwise.
    pub async fn accept(self: &Arc<Self>, version: &str) -> Result<ReloadStatus, String> {
        let _serialized = self.serial.lock().await;
        let taken = {
            let mut held = match self.held.lock() {
                Ok(held) => held,
                Err(poisoned) => poisoned.into_inner(),
            };
            match held.as_ref() {
                Some(h) if &*h.snapshot.version == version => held.take(),
                Some(h) => {
                    return Err(format!(
                        "version {version} is not held; the held version is {}",
                        h.snapshot.version
                    ));
                }
                None => return Err(format!("no rule set is held (asked to accept {version})")),
            }
        };
        let Some(Held {
            snapshot,
            mut verdict,
        }) = taken
        else {
            return Err("no rule set is held".to_string());
        };
        verdict.held = false;
        let started = Instant::now();
        let current = self.live.load_full();
        let removed = Removals::between(&current.ruleset, &snapshot.ruleset);
        let serving = snapshot.version.clone();
        self.live.store(snapshot);
        self.counts
            .of(ReloadOutcome::Loaded)
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let status = ReloadStatus {
            at: Timestamp::now(),
            trigger: ReloadTrigger::Api,
            outcome: ReloadOutcome::Loaded,
            serving: serving.clone(),
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            diagnostics: Vec::new(),
            rendered: String::new(),
            sources: SourceMap::default(),
            refused_plugins: Vec::new(),
            removed,
            gate: Some(verdict),
        };
        tracing::info!(version = %serving, "held rule set accepted; it serves now");
        self.set_status(&status);
        Ok(status)
    }

    fn set_status(&self, status: &ReloadStatus) {
        match self.status.lock() {
            Ok(mut slot) => *slot = status.clone(),
            Err(poisoned) => *poisoned.into_inner() = status.clone(),
        }
    }

    /// Reads the files (waiting for any caught mid-save), builds, keeps the
    /// snapshot in the store, and has the gate judge it.
    fn build(&self) -> Built {
        let previous = self.live.load_full();
        let files = read_settled(
            &self.sources.rules_dir,
            &previous.ruleset.files,
            self.timing.settle,
        );
        let mut outcome =
            Snapshot::load_with_files(&self.sources, self.runtime.as_ref(), Some(&previous), files);
        if let (Some(keeper), Some(snapshot)) = (&self.keeper, &outcome.snapshot)
            && snapshot.version != previous.version
            && let Err(error) = keeper.record_snapshot(&snapshot.record())
        {
            // A snapshot whose decisions could not be decided again does
            // not serve.
            outcome.snapshot = None;
            outcome.diagnostics.push(Diagnostic::error(format!(
                "cannot keep the new rule set in the store, so it does not serve: {error}"
            )));
        }
        let verdict = match (&self.gate, &self.keeper, &outcome.snapshot) {
            (Some(gate), Some(keeper), Some(snapshot)) if snapshot.version != previous.version => {
                // The same files saved again: the verdict stands.
                match self.held() {
                    Some(held) if held.version == snapshot.version => Some(held),
                    _ => Some(self.judge(gate, keeper.as_ref(), &previous, snapshot)),
                }
            }
            _ => None,
        };
        Built { outcome, verdict }
    }

    /// Decides the last `gate.replay` logged complaints with `snapshot` and
    /// says whether it may go live.
    fn judge(
        &self,
        gate: &Gate,
        keeper: &dyn Store,
        previous: &Snapshot,
        snapshot: &Snapshot,
    ) -> GateVerdict {
        // The recorded plugin outputs, unless the plugins changed: then the
        // new plugins run on the logged events.
        let same_plugins = previous.plugins.plugins().len() == snapshot.plugins.plugins().len()
            && previous
                .plugins
                .plugins()
                .iter()
                .zip(snapshot.plugins.plugins())
                .all(|(a, b)| a.digest == b.digest && a.spec.source == b.spec.source);
        let options = DiffOptions {
            candidate: snapshot.ruleset.texts.as_ref().clone(),
            query: LogQuery {
                last: Some(gate.replay),
                ..LogQuery::default()
            },
            plugins: (!same_plugins).then(|| Arc::new(snapshot.plugins.clone())),
        };
        let mut exceeded = Vec::new();
        let report = match diff(keeper.reader(), &options) {
            Ok(report) => report,
            Err(error) => {
                exceeded.push(format!("the recent decisions cannot be read: {error}"));
                DiffReport::default()
            }
        };
        exceeded.extend(gate.exceeded(&report));
        if gate.hold_removals {
            let removed = Removals::between(&previous.ruleset, &snapshot.ruleset);
            if !removed.is_empty() {
                exceeded.push(format!("it removes {removed} (hold_removals)"));
            }
        }
        GateVerdict {
            version: snapshot.version.clone(),
            held: !exceeded.is_empty(),
            exceeded,
            diff: report,
        }
    }

    /// Swaps in a good snapshot, counts and logs the outcome.
    fn conclude(&self, trigger: ReloadTrigger, started: Instant, built: Built) -> ReloadStatus {
        let Built { outcome, verdict } = built;
        let rendered = render_all(&outcome.diagnostics, &outcome.sources);
        let has_errors = outcome.diagnostics.iter().any(Diagnostic::is_error);
        let current = self.live.load_full();
        let mut removed = Removals::default();
        let mut refused_plugins = Vec::new();
        let (result, serving) = match outcome.snapshot {
            Some(snapshot) if verdict.as_ref().is_some_and(|v| v.held) => {
                refused_plugins = snapshot.plugins.refused().to_vec();
                let held = Held {
                    snapshot: Arc::new(snapshot),
                    verdict: verdict.clone().unwrap_or_else(unreachable_verdict),
                };
                match self.held.lock() {
                    Ok(mut slot) => *slot = Some(held),
                    Err(poisoned) => *poisoned.into_inner() = Some(held),
                }
                (ReloadOutcome::Held, current.version.clone())
            }
            Some(snapshot) => {
                refused_plugins = snapshot.plugins.refused().to_vec();
                // What is on disk now is what serves: nothing stays held.
                match self.held.lock() {
                    Ok(mut slot) => *slot = None,
                    Err(poisoned) => *poisoned.into_inner() = None,
                }
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
            sources: outcome.sources.named_by(&outcome.diagnostics),
            diagnostics: outcome.diagnostics,
            rendered,
            refused_plugins,
            removed,
            gate: verdict,
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
            ReloadOutcome::Held => tracing::warn!(
                trigger,
                serving = %status.serving,
                held = %status.gate.as_ref().map_or_else(String::new, |v| v.version.to_string()),
                "reload held by the gate; the last good rule set keeps serving (accept with POST /v1/reload {{\"accept\": VERSION}}): {}",
                status.gate.as_ref().map_or_else(String::new, |v| v.exceeded.join("; "))
            ),
        }
        self.set_status(&status);
        status
    }
}

/// Never used: a held snapshot always has its verdict.
fn unreachable_verdict() -> GateVerdict {
    GateVerdict {
        version: Name::from(""),
        held: true,
        exceeded: vec!["held".to_string()],
        diff: DiffReport::default(),
    }
}

/// A reload that built nothing, for the gate to judge.
fn unbuilt(outcome: SnapshotOutcome) -> Built {
    Built {
        outcome,
        verdict: None,
    }
}

/// A reload that produced nothing, for `message`.
fn failed_outcome(message: String) -> SnapshotOutcome {
    SnapshotOutcome {
        worst_case: None,
        snapshot: None,
        diagnostics: vec![Diagnostic::error(message)],
        sources: Default::default(),
    }
}
