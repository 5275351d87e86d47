//! The live screen: decisions per second, by queue, escalations, SLA
//! breaches and plugin failures, read from the daemon's own `/metrics`
//! text each time the screen refreshes. Samples are taken only while
//! someone watches, so an unwatched console costs nothing.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::html::ok;
use crate::server::state::AppState;

/// Samples kept: at one per refresh (2 s), the last five minutes.
const KEPT: usize = 150;
/// A refresh sooner than this after the last sample reuses it.
const SAMPLE_AT_MOST_EVERY: Duration = Duration::from_millis(500);
/// Rates are taken over this long (or the samples there are).
const RATE_OVER: Duration = Duration::from_secs(10);

/// The counters the screen shows, at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub decided: u64,
    pub by_queue: BTreeMap<String, u64>,
    pub escalations: BTreeMap<String, u64>,
    /// First-response and resolve timers fired.
    pub sla_breaches: u64,
    pub plugin_failures: BTreeMap<String, u64>,
}

impl Counts {
    /// Reads the counters out of a `/metrics` text.
    pub fn from_metrics(text: &str) -> Counts {
        let mut counts = Counts::default();
        let Ok(scrape) = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        else {
            return counts;
        };
        for sample in scrape.samples {
            let value = match sample.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v.max(0.0) as u64,
                _ => continue,
            };
            let name = sample
                .metric
                .strip_suffix("_total")
                .unwrap_or(&sample.metric);
            let label = |key: &str| sample.labels.get(key).unwrap_or("").to_string();
            match name {
                "redress_decisions" if sample.labels.get("outcome") == Some("decided") => {
                    counts.decided += value;
                    *counts.by_queue.entry(label("queue")).or_default() += value;
                }
                "redress_escalations" => {
                    *counts.escalations.entry(label("level")).or_default() += value;
                }
                "redress_timers_fired"
                    if matches!(
                        sample.labels.get("timer"),
                        Some("first_response" | "resolve")
                    ) =>
                {
                    counts.sla_breaches += value;
                }
                "redress_plugin_failures" => {
                    *counts.plugin_failures.entry(label("plugin")).or_default() += value;
                }
                _ => {}
            }
        }
        counts
    }
}

/// The samples taken while the live screen was watched.
#[derive(Debug, Default)]
pub struct LiveSampler {
    samples: Mutex<VecDeque<(Instant, Counts)>>,
}

impl LiveSampler {
    /// Takes a sample (unless one was just taken) and returns the kept ones.
    fn sample(&self, take: impl FnOnce() -> Counts) -> Vec<(Instant, Counts)> {
        let now = Instant::now();
        let mut samples = match self.samples.lock() {
            Ok(samples) => samples,
            Err(poisoned) => poisoned.into_inner(),
        };
        let fresh = samples
            .back()
            .is_some_and(|(at, _)| now.duration_since(*at) < SAMPLE_AT_MOST_EVERY);
        if !fresh {
            samples.push_back((now, take()));
            while samples.len() > KEPT {
                samples.pop_front();
            }
        }
        samples.iter().cloned().collect()
    }
}

/// Per second between two samples.
fn rate(earlier: u64, later: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 {
        0.0
    } else {
        later.saturating_sub(earlier) as f64 / seconds
    }
}

#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    part: Option<String>,
}

/// `GET /console/f/live`: the screen; `?part=figures` the part that
/// refreshes.
pub async fn fragment(
    State(state): State<Arc<AppState>>,
    query: Result<Query<LiveQuery>, QueryRejection>,
) -> Response {
    let samples = state
        .live_samples
        .sample(|| Counts::from_metrics(&state.render_metrics()));
    let figures = figures(&samples);
    if query.is_ok_and(|Query(q)| q.part.as_deref() == Some("figures")) {
        return ok(figures);
    }
    ok(html! {
        h1 { "Live" }
        p.hint { "From the daemon's own " code { "/metrics" } ", every 2 seconds while this screen is open." }
        div #live data-refresh="2000" data-source="/console/f/live?part=figures" { (figures) }
    })
}

fn figures(samples: &[(Instant, Counts)]) -> Markup {
    let Some((last_at, last)) = samples.last() else {
        return html! { p { "No sample yet." } };
    };
    let window_start = samples
        .iter()
        .find(|(at, _)| last_at.duration_since(*at) <= RATE_OVER)
        .unwrap_or(&samples[0]);
    let seconds = last_at.duration_since(window_start.0).as_secs_f64();
    let first = &window_start.1;
    let measured = seconds > 0.0;
    let per_second = |earlier: u64, later: u64| {
        if measured {
            format!("{:.1}", rate(earlier, later, seconds))
        } else {
            "…".to_string()
        }
    };
    let escalations: u64 = last.escalations.values().sum();
    let escalations_before: u64 = first.escalations.values().sum();
    let failures: u64 = last.plugin_failures.values().sum();
    html! {
        div.cards {
            div.card #decisions-per-second { div.muted { "Decisions per second" } div.value { (per_second(first.decided, last.decided)) } div { (last.decided) " in all" } }
            div.card { div.muted { "Escalations per second" } div.value { (per_second(escalations_before, escalations)) } div { (escalations) " in all" } }
            div.card { div.muted { "SLA breaches" } div.value #sla-breaches { (last.sla_breaches) } div { (per_second(first.sla_breaches, last.sla_breaches)) " per second" } }
            div.card { div.muted { "Plugin failures" } div.value #plugin-failures { (failures) } }
        }
        @if measured { p.muted { "Rates over the last " (format!("{seconds:.0}")) " s." } }
        (sparkline(samples))
        div.grid-two {
            div.table { table #by-queue {
                caption { "By queue" }
                thead { tr { th { "Queue" } th.number { "Decided" } th.number { "Per second" } } }
                tbody { @for (queue, count) in &last.by_queue { tr {
                    td { (queue) } td.number { (count) }
                    td.number { (per_second(first.by_queue.get(queue).copied().unwrap_or(0), *count)) }
                } } }
            } }
            div.table { table {
                caption { "Escalations by level" }
                thead { tr { th { "Level" } th.number { "Complaints" } } }
                tbody {
                    @for (level, count) in &last.escalations { tr { td { (level) } td.number { (count) } } }
                    @if last.escalations.is_empty() { tr { td.muted colspan="2" { "None yet." } } }
                }
            } }
            div.table { table {
                caption { "Plugin failures" }
                thead { tr { th { "Plugin" } th.number { "Failures" } } }
                tbody {
                    @for (plugin, count) in &last.plugin_failures { tr { td { (plugin) } td.number { (count) } } }
                    @if last.plugin_failures.is_empty() { tr { td.muted colspan="2" { "None." } } }
                }
            } }
        }
    }
}

/// Decisions per second between consecutive samples, as a line.
fn sparkline(samples: &[(Instant, Counts)]) -> Markup {
    let rates: Vec<f64> = samples
        .windows(2)
        .map(|pair| {
            let seconds = pair[1].0.duration_since(pair[0].0).as_secs_f64();
            rate(pair[0].1.decided, pair[1].1.decided, seconds)
        })
        .collect();
    if rates.len() < 2 {
        return html! {};
    }
    let (width, height) = (600.0, 80.0);
    let top = rates.iter().copied().fold(1.0, f64::max);
    let step = width / (rates.len() - 1) as f64;
    let points: Vec<String> = rates
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                height - r / top * (height - 4.0)
            )
        })
        .collect();
    html! {
        svg #sparkline viewBox=(format!("0 0 {width} {height}")) role="img" aria-label=(format!("Decisions per second over the last {} samples, at most {top:.1}", rates.len())) {
            polyline points=(points.join(" ")) fill="none" stroke="#1f5fa8" stroke-width="2" {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_the_metrics_text() {
        let text = "# TYPE redress_decisions counter\n\
            redress_decisions_total{queue=\"billing\",outcome=\"decided\"} 3\n\
            redress_decisions_total{queue=\"\",outcome=\"rejected\"} 1\n\
            redress_decisions_total{queue=\"returns\",outcome=\"decided\"} 2\n\
            # TYPE redress_timers_fired counter\n\
            redress_timers_fired_total{timer=\"resolve\"} 4\n\
            redress_timers_fired_total{timer=\"follow_up\"} 9\n\
            # TYPE redress_escalations counter\n\
            redress_escalations_total{level=\"manager\"} 2\n\
            # TYPE redress_plugin_failures_total counter\n\
            redress_plugin_failures_total{plugin=\"sentiment\",kind=\"timeout\"} 1\n";
        let counts = Counts::from_metrics(text);
        assert_eq!(counts.decided, 5);
        assert_eq!(counts.by_queue["billing"], 3);
        assert_eq!(counts.sla_breaches, 4);
        assert_eq!(counts.escalations["manager"], 2);
        assert_eq!(counts.plugin_failures["sentiment"], 1);
    }

    #[test]
    fn a_refresh_right_after_a_sample_reuses_it() {
        let sampler = LiveSampler::default();
        assert_eq!(sampler.sample(Counts::default).len(), 1);
        assert_eq!(sampler.sample(|| panic!("sampled again")).len(), 1);
    }
}
