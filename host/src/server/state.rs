//! What every request handler shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;

use crate::plugin::{LoadedPlugin, SLOW_FOR, SLOW_FUEL};
use crate::reload::{ReloadOutcome, Reloader};
use crate::server::admission::{Admitted, InFlight};
use crate::server::config::ServeConfig;
use crate::server::connections::Connections;
use crate::server::error::ApiError;
use crate::server::metrics::{Labels, Metrics, Scrape};
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
    /// What the console's live screen sampled while it was watched.
    pub live_samples: crate::server::console::LiveSampler,
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
            live_samples: Default::default(),
        })
    }

    /// Admits one more request, or refuses with 503 + Retry-After when
    /// `max_in_flight` are already being handled: back-pressure instead of
    /// an unbounded queue.
    pub fn admit(&self) -> Result<Admitted<'_>, ApiError> {
        self.in_flight.try_admit().ok_or_else(|| {
            self.metrics.overloaded();
            ApiError::overloaded()
        })
    }

    /// Everything `/metrics` shows.
    pub fn render_metrics(&self) -> String {
        let snapshot = self.live.load_full();
        let reloader = &self.reloader;
        let mut scrape = Scrape::default();
        scrape.gauges(
            "redress_ruleset_info",
            "The snapshot serving now.",
            [(
                vec![
                    ("version", snapshot.version.to_string()),
                    ("ruleset_version", snapshot.ruleset.version.to_string()),
                ],
                1,
            )],
        );
        scrape.gauge(
            "redress_requests_in_flight",
            "Requests to decide or simulate being handled now (at most [limits] max_in_flight).",
            self.in_flight.current() as u64,
        );
        let connections = &self.connections;
        scrape.gauge(
            "redress_connections_open",
            &format!(
                "Connections open now (at most {}: [limits] max_connections, lowered to the limit on open files).",
                connections.limits().max
            ),
            connections.len() as u64,
        );
        for (name, help, counter) in [
            (
                "redress_connections_accepted_total",
                "Connections accepted.",
                &connections.counts.accepted,
            ),
            (
                "redress_connections_evicted_total",
                "Connections closed to make room for a new one at max_connections (the one waiting longest without a request).",
                &connections.counts.evicted,
            ),
            (
                "redress_connections_timed_out_total",
                "Connections closed by [limits] header_timeout or idle_timeout.",
                &connections.counts.timed_out,
            ),
            (
                "redress_connections_refused_total",
                "Connections closed at once: at max_connections with every open one busy.",
                &connections.counts.refused,
            ),
            (
                "redress_connection_accept_errors_total",
                "Errors accepting a connection (out of open files, for one).",
                &connections.counts.accept_errors,
            ),
        ] {
            scrape.counter(name, help, counter.load(Ordering::Relaxed));
        }
        if let Some(store) = self.store.as_ref().and_then(|store| store.metrics()) {
            scrape.histogram(
                "redress_store_batch_seconds",
                "Time the store's writer spent on one batch: its transaction and the commit with its disk sync, which every request in the batch waits for.",
                &store.batch,
            );
            scrape.counter(
                "redress_store_batched_requests_total",
                "Requests committed by the store's writer (divided by redress_store_batch_seconds_count: the mean batch).",
                store.batched.load(Ordering::Relaxed),
            );
            scrape.gauges(
                "redress_store_info",
                "The store's backend (sqlite: this node's data directory; postgres: a database several nodes may share).",
                [(vec![("backend", store.backend.to_string())], 1)],
            );
            // The case index, the timer queue and the audit file are this
            // node's only on SQLite; on PostgreSQL they are the database's.
            if store.keeps_local_state() {
                scrape.gauge(
                    "redress_store_cases_indexed",
                    "Cases in the store's in-memory case index (about 150 bytes each).",
                    store.cases_indexed.load(Ordering::Relaxed),
                );
                scrape.gauge(
                    "redress_store_timers_queued",
                    "Entries in the store's in-memory queue of pending timers (about 50 bytes each; cancelled and re-armed timers leave it when their time comes).",
                    store.timers_queued.load(Ordering::Relaxed),
                );
                scrape.gauge(
                    "redress_store_audit_file_lost",
                    "1 once the audit file was deleted, replaced or cut while the daemon ran: nothing is recorded until it is stopped and repaired (redress store repair).",
                    u64::from(store.audit_file_lost.load(Ordering::Relaxed)),
                );
                scrape.gauge(
                    "redress_store_audit_file_bytes",
                    "Bytes of the audit log's decisions.jsonl (its committed lines).",
                    store.audit_file_bytes.load(Ordering::Relaxed),
                );
            }
            scrape.gauge(
                "redress_store_failing",
                "1 while the latest batch that tried to record something failed (full disk, I/O error); /readyz answers 503 meanwhile.",
                u64::from(store.failing.load(Ordering::Relaxed)),
            );
        }
        scrape.counters(
            "redress_reloads_total",
            "Reloads by outcome (loaded, unchanged, partial: loaded with a plugin refused, failed).",
            <ReloadOutcome as strum::IntoEnumIterator>::iter().map(|outcome| {
                (
                    vec![("outcome", outcome.as_str().to_string())],
                    reloader.counts.of(outcome).load(Ordering::Relaxed),
                )
            }),
        );
        scrape.counters(
            "redress_reload_removals_total",
            "Reloads that removed a whole rule file (what=\"file\") or every rule of a kind (what=\"kind\").",
            [
                ("file", &reloader.counts.removed_files),
                ("kind", &reloader.counts.removed_kinds),
            ]
            .map(|(what, counter)| (vec![("what", what.to_string())], counter.load(Ordering::Relaxed))),
        );
        scrape.gauge(
            "redress_reload_held",
            "1 while the reload gate holds a rule set (POST /v1/reload {\"accept\": VERSION} lets it go live).",
            u64::from(reloader.held().is_some()),
        );
        let last = reloader.status().outcome;
        scrape.gauge(
            "redress_reload_last_failed",
            "1 when the latest reload failed (an older rule set is serving) or was partial (a plugin was refused).",
            u64::from(matches!(last, ReloadOutcome::Failed | ReloadOutcome::Partial)),
        );
        let plugins = snapshot.plugins.plugins();
        let per_plugin = |value: &dyn Fn(&LoadedPlugin) -> u64| -> Vec<(Labels, u64)> {
            plugins
                .iter()
                .map(|p| (vec![("plugin", p.name.to_string())], value(p)))
                .collect()
        };
        scrape.counters(
            "redress_plugin_calls_total",
            "Plugin calls.",
            per_plugin(&|p| p.stats.calls.load(Ordering::Relaxed)),
        );
        scrape.counters(
            "redress_plugin_failures_total",
            "Failed plugin calls by kind (timeout, out_of_fuel, memory, panic, trap, bad_output...).",
            plugins.iter().flat_map(|plugin| {
                plugin.stats.failures_by_kind().into_iter().map(|(kind, count)| {
                    (
                        vec![("plugin", plugin.name.to_string()), ("kind", kind.to_string())],
                        count,
                    )
                })
            }),
        );
        scrape.counters(
            "redress_plugin_fuel_total",
            "Fuel used by plugin calls.",
            per_plugin(&|p| p.stats.fuel.load(Ordering::Relaxed)),
        );
        scrape.gauges(
            "redress_plugin_quarantined",
            "1 while a plugin is quarantined.",
            per_plugin(&|p| u64::from(p.is_quarantined())),
        );
        scrape.counters(
            "redress_plugin_slow_calls_total",
            &format!(
                "Plugin calls that used over {SLOW_FUEL} fuel (about 1 ms of work) or timed out."
            ),
            per_plugin(&|p| p.stats.slow_calls.load(Ordering::Relaxed)),
        );
        scrape.gauges(
            "redress_plugin_off_worker",
            &format!(
                "1 while a plugin's calls run off the async workers (not inline, or it made a slow call in the last {} s).",
                SLOW_FOR.as_secs()
            ),
            per_plugin(&|p| u64::from(p.runs_off_worker())),
        );
        scrape.counters(
            "redress_plugin_instances_created_total",
            "Plugin instances created.",
            per_plugin(&|p| p.stats.instances_created.load(Ordering::Relaxed)),
        );
        self.metrics.render(&scrape)
    }
}
