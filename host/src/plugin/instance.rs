//! One loaded plugin: its compiled component, a small pool of warm
//! instances, and the guard rails of every call: fuel and a wall-clock
//! deadline re-armed per call, a memory cap, output validation, and a
//! quarantine for plugins that keep failing.
//!
//! An instance is reused until it traps (a trapped instance cannot be
//! re-entered), has served `recycle_after` calls, or has grown its memory
//! past three quarters of the cap. `isolation = "per-event"` uses a fresh
//! instance for every complaint.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime::{Store, Trap};

use crate::decision::Name;
use crate::plugin::bindings::{self, Complaint, Plugin, PluginPre};
use crate::plugin::error::{Failure, PluginError};
use crate::plugin::host::HostState;
use crate::plugin::manifest::{Isolation, PluginSpec};
use crate::plugin::outputs::{Outputs, check_outputs, clip};
use crate::plugin::runtime::{EPOCH_TICK, PluginRuntime};
use crate::time::Duration;

/// Fuel above which a call is slow: about a millisecond of work on the
/// machine of BENCHMARKS.md, longer than an async worker should be held
/// (the example plugins use 20,000 to 62,000). Fuel, not the clock: a
/// call of microseconds often measures over a millisecond on a busy
/// machine, when its thread is preempted. A call that times out is slow
/// too. See [`LoadedPlugin::is_slow`].
pub const SLOW_FUEL: u64 = 10_000_000;
/// How long a plugin counts as slow after its last slow call.
pub const SLOW_FOR: std::time::Duration = std::time::Duration::from_secs(10);
/// Calls a newly loaded plugin makes off the async workers before an
/// `inline` manifest takes effect: `inline` vouches for a component, and a
/// component replaced on disk has not shown yet that it is fast.
pub const INLINE_AFTER_CALLS: u64 = 100;

/// A warm instance and its store.
struct Warm {
    store: Store<HostState>,
    plugin: Plugin,
    calls: u64,
}

/// Counters of one plugin, for metrics.
#[derive(Debug, Default)]
pub struct PluginStats {
    pub calls: AtomicU64,
    pub failures: AtomicU64,
    pub fuel: AtomicU64,
    pub instances_created: AtomicU64,
    pub instances_recycled: AtomicU64,
    pub quarantines: AtomicU64,
    /// Calls that used more than [`SLOW_FUEL`] or timed out.
    pub slow_calls: AtomicU64,
    failures_by_kind: Mutex<BTreeMap<&'static str, u64>>,
}

impl PluginStats {
    fn failed(&self, failure: &Failure) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        // Held only to bump a counter; never across a call or an await.
        if let Ok(mut kinds) = self.failures_by_kind.lock() {
            *kinds.entry(failure.kind()).or_default() += 1;
        }
    }

    /// Failures by kind (`timeout`, `out_of_fuel`, ...).
    pub fn failures_by_kind(&self) -> BTreeMap<&'static str, u64> {
        self.failures_by_kind
            .lock()
            .map(|k| k.clone())
            .unwrap_or_default()
    }
}

/// What one call cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallReport {
    pub fuel_used: u64,
    pub peak_memory: u64,
    pub elapsed: std::time::Duration,
    /// The call needed a new instance.
    pub fresh_instance: bool,
}

/// A plugin ready to be called.
pub struct LoadedPlugin {
    pub spec: PluginSpec,
    /// `sha256:<hex>` of the component file.
    pub digest: Name,
    pub name: Name,
    /// `plugin:<name>`: the source of the offers it proposes.
    pub source: Name,
    /// The component's bytes (what a kept snapshot stores by digest).
    pub component: Arc<[u8]>,
    runtime: Arc<PluginRuntime>,
    pre: PluginPre<HostState>,
    config: Arc<BTreeMap<String, String>>,
    pool: Mutex<Vec<Warm>>,
    failures_in_a_row: AtomicU32,
    /// Milliseconds since `born` until which calls are refused.
    quarantined_until: AtomicU64,
    /// Milliseconds since `born` until which the plugin counts as slow; 0
    /// if it never was.
    slow_until: AtomicU64,
    born: Instant,
    pub stats: PluginStats,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    pub fn new(
        spec: PluginSpec,
        digest: Name,
        component: Arc<[u8]>,
        runtime: Arc<PluginRuntime>,
        pre: PluginPre<HostState>,
    ) -> Self {
        LoadedPlugin {
            component,
            name: Name::from(spec.name.as_str()),
            source: Name::from(format!("plugin:{}", spec.name)),
            config: Arc::new(spec.config.clone()),
            spec,
            digest,
            runtime,
            pre,
            pool: Mutex::new(Vec::new()),
            failures_in_a_row: AtomicU32::new(0),
            quarantined_until: AtomicU64::new(0),
            slow_until: AtomicU64::new(0),
            born: Instant::now(),
            stats: PluginStats::default(),
        }
    }

    /// Calls the plugin on one complaint, within its limits.
    pub fn call(&self, complaint: &Complaint) -> (Result<Outputs, PluginError>, CallReport) {
        let started = Instant::now();
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let mut report = CallReport::default();
        let clipped = clip_input(complaint, self.spec.limits.text as usize);
        let result = self.call_inner(clipped.as_ref().unwrap_or(complaint), &mut report);
        report.elapsed = started.elapsed();
        if report.fuel_used > SLOW_FUEL || matches!(result, Err(Failure::Timeout { .. })) {
            self.mark_slow(&report);
        }
        match &result {
            Ok(_) => {
                self.failures_in_a_row.store(0, Ordering::Relaxed);
            }
            Err(failure) => {
                self.stats.failed(failure);
                if !matches!(failure, Failure::Quarantined { .. }) {
                    self.count_failure();
                }
            }
        }
        let result = result.map_err(|failure| PluginError {
            plugin: self.spec.name.clone(),
            failure,
        });
        (result, report)
    }

    fn call_inner(
        &self,
        complaint: &Complaint,
        report: &mut CallReport,
    ) -> Result<Outputs, Failure> {
        self.check_quarantine()?;
        let mut warm = match self.checkout() {
            Some(warm) => warm,
            None => {
                report.fresh_instance = true;
                self.instantiate()?
            }
        };
        let limits = &self.spec.limits;
        let ticks =
            (limits.timeout.millis() as u64).div_ceil(EPOCH_TICK.as_millis().max(1) as u64) + 1;
        warm.store.data_mut().reset_call();
        if warm.store.set_fuel(limits.fuel).is_err() {
            return Err(Failure::Instantiate {
                message: "fuel is not enabled".to_string(),
            });
        }
        warm.store.set_epoch_deadline(ticks);
        let outcome = warm
            .plugin
            .redress_plugin_analyzer()
            .call_analyze(&mut warm.store, complaint);
        warm.calls += 1;
        report.fuel_used = limits
            .fuel
            .saturating_sub(warm.store.get_fuel().unwrap_or(0));
        report.peak_memory = warm.store.data().limiter.peak;
        self.stats
            .fuel
            .fetch_add(report.fuel_used, Ordering::Relaxed);
        let result = match outcome {
            Ok(Ok(analysis)) => check_outputs(&self.spec, analysis),
            Ok(Err(message)) => Err(Failure::Returned {
                message: clip(message, 512),
            }),
            Err(error) => {
                let failure = self.classify_trap(&error, warm.store.data());
                warm.store.data_mut().flush_log();
                // A trapped instance cannot be entered again.
                return Err(failure);
            }
        };
        warm.store.data_mut().flush_log();
        self.checkin(warm);
        result
    }

    fn classify_trap(&self, error: &wasmtime::Error, state: &HostState) -> Failure {
        let limits = &self.spec.limits;
        if state.limiter.exceeded {
            return Failure::MemoryExceeded {
                limit: limits.memory,
            };
        }
        if is_transfer_limit(error) {
            return Failure::TransferLimit {
                limit: limits.transfer,
            };
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => Failure::OutOfFuel { limit: limits.fuel },
            Some(Trap::Interrupt) => Failure::Timeout { limit: limits.timeout },
            Some(Trap::StackOverflow) => Failure::StackOverflow,
            // Rust guests keep their stack in linear memory, below its
            // start: deep recursion runs off the bottom of memory.
            Some(Trap::MemoryOutOfBounds) => Failure::Trap {
                message: "out of bounds memory access (often deep recursion overflowing the plugin's stack)".to_string(),
            },
            Some(Trap::UnreachableCodeReached) => Failure::Panic {
                message: state.last_error().map(|m| clip(m.strip_prefix("panicked: ").unwrap_or(m).to_string(), 512)),
            },
            Some(trap) => Failure::Trap {
                message: trap.to_string(),
            },
            None => Failure::Trap {
                message: clip(format!("{error:#}"), 512),
            },
        }
    }

    fn check_quarantine(&self) -> Result<(), Failure> {
        let until = self.quarantined_until.load(Ordering::Relaxed);
        let now = self.born.elapsed().as_millis() as u64;
        if now < until {
            return Err(Failure::Quarantined {
                failures: self.failures_in_a_row.load(Ordering::Relaxed),
                remaining: Duration::from_millis((until - now) as i64),
            });
        }
        Ok(())
    }

    fn count_failure(&self) {
        let failures = self.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= self.spec.limits.quarantine_after {
            let until = self.born.elapsed().as_millis() as u64
                + self.spec.limits.quarantine_for.millis().max(0) as u64;
            self.quarantined_until.store(until, Ordering::Relaxed);
            self.stats.quarantines.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                plugin = %self.name,
                failures,
                quarantine = %self.spec.limits.quarantine_for,
                "plugin quarantined after failing repeatedly"
            );
        }
    }

    /// Whether a call used more than [`SLOW_FUEL`] or timed out in the
    /// last [`SLOW_FOR`]. The daemon calls an `inline` plugin on the async
    /// worker that took the request only while it is not slow, so a plugin
    /// that turns slow holds up one request per worker at most.
    pub fn is_slow(&self) -> bool {
        let until = self.slow_until.load(Ordering::Relaxed);
        until != 0 && self.born.elapsed().as_millis() as u64 <= until
    }

    fn mark_slow(&self, report: &CallReport) {
        self.stats.slow_calls.fetch_add(1, Ordering::Relaxed);
        let was_slow = self.is_slow();
        let until = (self.born.elapsed() + SLOW_FOR).as_millis() as u64;
        self.slow_until.store(until, Ordering::Relaxed);
        if !was_slow && self.spec.inline {
            tracing::info!(
                plugin = %self.name,
                fuel = report.fuel_used,
                elapsed_ms = report.elapsed.as_secs_f64() * 1000.0,
                slow_fuel = SLOW_FUEL,
                fast_for_s = SLOW_FOR.as_secs(),
                "an inline plugin's call used over slow_fuel or timed out; its calls run off the async workers until it has been fast for fast_for_s"
            );
        }
    }

    /// Whether the daemon calls the plugin off the async workers now: it is
    /// not `inline`, it is slow, or it has made fewer than
    /// `INLINE_AFTER_CALLS` calls since it was loaded.
    pub fn runs_off_worker(&self) -> bool {
        !self.spec.inline
            || self.is_slow()
            || self.stats.calls.load(Ordering::Relaxed) < INLINE_AFTER_CALLS
    }

    /// Whether the plugin is quarantined now.
    pub fn is_quarantined(&self) -> bool {
        self.check_quarantine().is_err()
    }

    fn checkout(&self) -> Option<Warm> {
        if self.spec.isolation == Isolation::PerEvent {
            return None;
        }
        // Held only to pop; never across a call.
        self.pool.lock().ok()?.pop()
    }

    fn checkin(&self, warm: Warm) {
        let limits = &self.spec.limits;
        let grown = warm.store.data().limiter.peak > limits.memory / 4 * 3;
        if self.spec.isolation == Isolation::PerEvent || warm.calls >= limits.recycle_after || grown
        {
            self.stats
                .instances_recycled
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Ok(mut pool) = self.pool.lock()
            && pool.len() < limits.instances
        {
            pool.push(warm);
        }
    }

    fn instantiate(&self) -> Result<Warm, Failure> {
        let limits = &self.spec.limits;
        let state = HostState::new(
            self.name.clone(),
            self.config.clone(),
            limits.memory,
            limits.log_lines,
        );
        let mut store = Store::new(self.runtime.engine(), state);
        store.limiter(|state| &mut state.limiter);
        store.set_hostcall_fuel(limits.transfer as usize);
        let failed = |error: wasmtime::Error| Failure::Instantiate {
            message: clip(format!("{error:#}"), 512),
        };
        store.set_fuel(limits.fuel).map_err(failed)?;
        store.set_epoch_deadline(
            (limits.timeout.millis() as u64).div_ceil(EPOCH_TICK.as_millis().max(1) as u64) + 1,
        );
        let plugin = self.pre.instantiate(&mut store).map_err(failed)?;
        self.stats.instances_created.fetch_add(1, Ordering::Relaxed);
        Ok(Warm {
            store,
            plugin,
            calls: 0,
        })
    }

    /// Instantiates the plugin once, as a call would, and keeps the
    /// instance warm: what the component exports is checked against the
    /// contract here (the typed export is looked up on instantiation), so a
    /// component with the right names but the wrong types is refused at
    /// load rather than failing every call; so is one that cannot start
    /// within its memory limit.
    pub fn check_instantiates(&self) -> Result<(), Failure> {
        let warm = self.instantiate()?;
        self.checkin(warm);
        Ok(())
    }

    /// Warm instances currently pooled.
    pub fn warm_instances(&self) -> usize {
        self.pool.lock().map(|p| p.len()).unwrap_or(0)
    }
}

/// Whether a call failed because more than `limits.transfer` was to cross
/// from the guest to the host in one go. wasmtime keeps the type of that
/// error private, so its message is the only sign; a test pins it
/// (`tests/e2e/plugins.rs`, the aliased output), so a wasmtime upgrade
/// that rewords it fails there rather than silently.
fn is_transfer_limit(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .to_string()
            .contains("fuel allocated for hostcalls has been exhausted")
    })
}

/// The complaint as a plugin with a `limits.text` of `max` bytes sees it,
/// when that differs: the text and each text attribute cut at a character
/// boundary. `None` when nothing is over.
fn clip_input(complaint: &Complaint, max: usize) -> Option<Complaint> {
    let over = |text: &str| text.len() > max;
    let value_over = |value: &bindings::Value| match value {
        bindings::Value::Text(text) => over(text),
        bindings::Value::List(items) => items.iter().any(|item| over(item)),
        bindings::Value::Number(_) | bindings::Value::Flag(_) => false,
    };
    if !over(&complaint.text) && !complaint.attrs.iter().any(|(_, v)| value_over(v)) {
        return None;
    }
    let cut = |text: &String| {
        let mut end = max.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].to_string()
    };
    let mut clipped = complaint.clone();
    clipped.text = cut(&complaint.text);
    for (_, value) in &mut clipped.attrs {
        match value {
            bindings::Value::Text(text) => *text = cut(text),
            bindings::Value::List(items) => {
                for item in items.iter_mut() {
                    *item = cut(item);
                }
            }
            bindings::Value::Number(_) | bindings::Value::Flag(_) => {}
        }
    }
    Some(clipped)
}
