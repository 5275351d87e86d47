//! What every request handler shares.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;

use crate::plugin::{LoadedPlugin, SLOW_FOR, SLOW_FUEL};
use crate::reload::{ReloadOutcome, Reloader};
use crate::server::admission::{Admitted, InFlight};
use crate::server::config::ServeConfig;
use crate::server::connections::Connections;
use crate::server::error::ApiError;
use crate::server::metrics::{Metrics, escape};
use crate::server::workers::Workers;
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::time::Clock;

/// The daemon's shared state.
pub struct AppState {
    pub config: ServeConfig,
    /// The snapshot serving now; handlers take it once per request.
    pub live: Arc<ArcSwap<Snapshot>>,
    pub reloader: Arc<Reloader>,
    pub metrics: Metrics,
    pub clock: Arc<dyn Clock>,
    /// Durable state; `None` with `[store] enabled = false`.
    pub store: Option<Arc<dyn Store>>,
    /// Requests being handled, bounded by `max_in_flight`.
    in_flight: InFlight,
    /// The threads plugins run on when not inline (`[limits] plugin_threads`).
    pub workers: Workers,
    /// The open connections and their bounds.
    pub connections: Arc<Connections>,
    pub shutting_down: AtomicBool,
}

impl AppState {
    pub fn new(
        config: ServeConfig,
        reloader: Arc<Reloader>,
        clock: Arc<dyn Clock>,
        store: Option<Arc<dyn Store>>,
    ) -> std::io::Result<Self> {
        Ok(AppState {
            store,
            in_flight: InFlight::new(config.max_in_flight),
            workers: Workers::start(config.plugin_threads)?,
            connections: Connections::new(config.connection_limits()),
            live: reloader.live(),
            config,
            reloader,
            metrics: Metrics::default(),
            clock,
            shutting_down: AtomicBool::new(false),
        })
    }

    /// Admits one more request, or refuses with 503 + Retry-After when
    /// `max_in_flight` are already being handled: back-pressure instead of
    /// an unbounded queue.
    pub fn admit(&self) -> Result<Admitted<'_>, ApiError> {
        self.in_flight.try_admit().ok_or_else(|| {
            self.metrics.overloaded.fetch_add(1, Ordering::Relaxed);
            ApiError::overloaded()
        })
    }

    /// Everything `/metrics` shows.
    pub fn render_metrics(&self) -> String {
        let snapshot = self.live.load_full();
        let reloader = &self.reloader;
        self.metrics.render(&|out| {
            out.push_str("# HELP redress_ruleset_info The snapshot serving now.\n# TYPE redress_ruleset_info gauge\n");
            let _ = writeln!(
                out,
                "redress_ruleset_info{{version=\"{}\",ruleset_version=\"{}\"}} 1",
                escape(&snapshot.version),
                escape(&snapshot.ruleset.version)
            );
            single(
                out,
                "redress_requests_in_flight",
                "gauge",
                "Requests to decide or simulate being handled now (at most [limits] max_in_flight).",
                self.in_flight.current(),
            );
            let connections = &self.connections;
            single(
                out,
                "redress_connections_open",
                "gauge",
                &format!(
                    "Connections open now (at most {}: [limits] max_connections, lowered to the limit on open files).",
                    connections.limits().max
                ),
                connections.len(),
            );
            for (name, help, counter) in [
                ("redress_connections_accepted_total", "Connections accepted.", &connections.counts.accepted),
                ("redress_connections_evicted_total", "Connections closed to make room for a new one at max_connections (the one waiting longest without a request).", &connections.counts.evicted),
                ("redress_connections_timed_out_total", "Connections closed by [limits] header_timeout or idle_timeout.", &connections.counts.timed_out),
                ("redress_connections_refused_total", "Connections closed at once: at max_connections with every open one busy.", &connections.counts.refused),
                ("redress_connection_accept_errors_total", "Errors accepting a connection (out of open files, for one).", &connections.counts.accept_errors),
            ] {
                single(out, name, "counter", help, counter.load(Ordering::Relaxed));
            }
            if let Some(store) = self.store.as_ref().and_then(|store| store.metrics()) {
                family(
                    out,
                    "redress_store_batch_seconds",
                    "histogram",
                    "Time the store's writer spent on one batch: its transaction and the commit with its disk sync, which every request in the batch waits for.",
                );
                store.batch.render(out, "redress_store_batch_seconds");
                single(
                    out,
                    "redress_store_batched_requests_total",
                    "counter",
                    "Requests committed by the store's writer (divided by redress_store_batch_seconds_count: the mean batch).",
                    store.batched.load(Ordering::Relaxed),
                );
                single(
                    out,
                    "redress_store_cases_indexed",
                    "gauge",
                    "Cases in the store's in-memory case index (about 150 bytes each).",
                    store.cases_indexed.load(Ordering::Relaxed),
                );
                single(
                    out,
                    "redress_store_timers_queued",
                    "gauge",
                    "Entries in the store's in-memory queue of pending timers (about 50 bytes each; cancelled and re-armed timers leave it when their time comes).",
                    store.timers_queued.load(Ordering::Relaxed),
                );
                single(
                    out,
                    "redress_store_audit_file_lost",
                    "gauge",
                    "1 once the audit file was deleted, replaced or cut while the daemon ran: nothing is recorded until it is stopped and repaired (redress store repair).",
                    u8::from(store.audit_file_lost.load(Ordering::Relaxed)),
                );
                single(
                    out,
                    "redress_store_failing",
                    "gauge",
                    "1 while the latest batch that tried to record something failed (full disk, I/O error); /readyz answers 503 meanwhile.",
                    u8::from(store.failing.load(Ordering::Relaxed)),
                );
                single(
                    out,
                    "redress_store_audit_file_bytes",
                    "gauge",
                    "Bytes of the audit log's decisions.jsonl (its committed lines).",
                    store.audit_file_bytes.load(Ordering::Relaxed),
                );
            }
            out.push_str("# HELP redress_reloads_total Reloads by outcome (loaded, unchanged, partial: loaded with a plugin refused, failed).\n# TYPE redress_reloads_total counter\n");
            for outcome in <ReloadOutcome as strum::IntoEnumIterator>::iter() {
                let _ = writeln!(
                    out,
                    "redress_reloads_total{{outcome=\"{}\"}} {}",
                    outcome.as_str(),
                    reloader.counts.of(outcome).load(Ordering::Relaxed)
                );
            }
            out.push_str("# HELP redress_reload_removals_total Reloads that removed a whole rule file (what=\"file\") or every rule of a kind (what=\"kind\").\n# TYPE redress_reload_removals_total counter\n");
            for (what, counter) in [
                ("file", &reloader.counts.removed_files),
                ("kind", &reloader.counts.removed_kinds),
            ] {
                let _ = writeln!(out, "redress_reload_removals_total{{what=\"{what}\"}} {}", counter.load(Ordering::Relaxed));
            }
            single(
                out,
                "redress_reload_held",
                "gauge",
                "1 while the reload gate holds a rule set (POST /v1/reload {\"accept\": VERSION} lets it go live).",
                u8::from(reloader.held().is_some()),
            );
            let last = reloader.status().outcome;
            single(
                out,
                "redress_reload_last_failed",
                "gauge",
                "1 when the latest reload failed (an older rule set is serving) or was partial (a plugin was refused).",
                u8::from(matches!(last, ReloadOutcome::Failed | ReloadOutcome::Partial)),
            );
            let plugins = snapshot.plugins.plugins();
            per_plugin(out, "redress_plugin_calls_total", "counter", "Plugin calls.", plugins, |p| {
                p.stats.calls.load(Ordering::Relaxed)
            });
            out.push_str("# HELP redress_plugin_failures_total Failed plugin calls by kind (timeout, out_of_fuel, memory, panic, trap, bad_output...).\n# TYPE redress_plugin_failures_total counter\n");
            for plugin in plugins {
                for (kind, count) in plugin.stats.failures_by_kind() {
                    let _ = writeln!(
                        out,
                        "redress_plugin_failures_total{{plugin=\"{}\",kind=\"{kind}\"}} {count}",
                        escape(&plugin.name)
                    );
                }
            }
            per_plugin(out, "redress_plugin_fuel_total", "counter", "Fuel used by plugin calls.", plugins, |p| {
                p.stats.fuel.load(Ordering::Relaxed)
            });
            per_plugin(out, "redress_plugin_quarantined", "gauge", "1 while a plugin is quarantined.", plugins, |p| {
                u64::from(p.is_quarantined())
            });
            per_plugin(
                out,
                "redress_plugin_slow_calls_total",
                "counter",
                &format!("Plugin calls that used over {SLOW_FUEL} fuel (about 1 ms of work) or timed out."),
                plugins,
                |p| p.stats.slow_calls.load(Ordering::Relaxed),
            );
            per_plugin(
                out,
                "redress_plugin_off_worker",
                "gauge",
                &format!(
                    "1 while a plugin's calls run off the async workers (not inline, or it made a slow call in the last {} s).",
                    SLOW_FOR.as_secs()
                ),
                plugins,
                |p| u64::from(p.runs_off_worker()),
            );
            per_plugin(
                out,
                "redress_plugin_instances_created_total",
                "counter",
                "Plugin instances created.",
                plugins,
                |p| p.stats.instances_created.load(Ordering::Relaxed),
            );
        })
    }
}

/// A metric family's `# HELP` and `# TYPE` lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A metric family with one sample and no labels.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// One metric family with a sample per plugin, labelled by its name.
fn per_plugin(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    plugins: &[Arc<LoadedPlugin>],
    value: impl Fn(&LoadedPlugin) -> u64,
) {
    family(out, name, kind, help);
    for plugin in plugins {
        let _ = writeln!(
            out,
            "{name}{{plugin=\"{}\"}} {}",
            escape(&plugin.name),
            value(plugin)
        );
    }
}
