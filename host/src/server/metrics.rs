//! The daemon's own counters, and `/metrics` in the Prometheus text format
//! (0.0.4) through prometheus-client: names, label escaping and the
//! histogram are the crate's. What lives elsewhere (plugins, reloads,
//! connections, the store) is read when rendering ([`Scrape`]).

use std::collections::HashMap;
use std::sync::RwLock;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::decision::Name;
use crate::histogram::LatencyHistogram;

/// Label values, in the order they are shown.
pub type Labels = Vec<(&'static str, String)>;

/// The daemon's own counters.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    decisions: Family<Labels, Counter>,
    /// The decided counter of each queue: a decision counts without
    /// building its labels.
    by_queue: RwLock<HashMap<Name, Counter>>,
    overloaded: Counter,
    pub latency: LatencyHistogram,
    crossings: Family<Labels, Counter>,
    crossing_rules: RwLock<HashMap<Name, Counter>>,
    /// The latest count by (rule, group), for at most
    /// [`MAX_CONTROL_GROUPS`] of them.
    control_counts: Family<Labels, Gauge>,
    control_groups: RwLock<HashMap<(Name, String), Gauge>>,
    timers: Family<Labels, Counter>,
    escalations: Family<Labels, Counter>,
    escalation_levels: RwLock<HashMap<Name, Counter>>,
}

/// The counter of `key` in `cache`, made in `family` with `labels` the
/// first time: a decision then finds its counter without building labels.
fn cached_counter(
    cache: &RwLock<HashMap<Name, Counter>>,
    key: &Name,
    family: &Family<Labels, Counter>,
    labels: impl FnOnce() -> Labels,
) -> Counter {
    if let Ok(counters) = cache.read()
        && let Some(counter) = counters.get(key)
    {
        return counter.clone();
    }
    let counter = family.get_or_create(&labels()).clone();
    if let Ok(mut counters) = cache.write() {
        counters.insert(key.clone(), counter.clone());
    }
    counter
}

/// Most (rule, group) control-line counts shown in the metrics.
const MAX_CONTROL_GROUPS: usize = 1000;

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Metrics {
            registry: Registry::default(),
            decisions: Family::default(),
            by_queue: RwLock::default(),
            overloaded: Counter::default(),
            latency: LatencyHistogram::default(),
            crossings: Family::default(),
            crossing_rules: RwLock::default(),
            control_counts: Family::default(),
            control_groups: RwLock::default(),
            timers: Family::default(),
            escalations: Family::default(),
            escalation_levels: RwLock::default(),
        };
        let mut registry = Registry::default();
        registry.register(
            "redress_decisions",
            "Complaints decided, by route queue and outcome",
            metrics.decisions.clone(),
        );
        // Refusals show from the start, at 0.
        for outcome in ["rejected", "invalid"] {
            let _ = metrics.decisions.get_or_create(&outcome_labels(outcome));
        }
        registry.register(
            "redress_overloaded",
            "Requests refused with 503 because too many were in flight",
            metrics.overloaded.clone(),
        );
        registry.register(
            "redress_decision_seconds",
            "Time to decide one complaint (plugins and rules)",
            metrics.latency.metric(),
        );
        registry.register(
            "redress_control_line_crossings",
            "Complaints that crossed a control line, by rule",
            metrics.crossings.clone(),
        );
        registry.register(
            "redress_control_line_count",
            "Complaints in the window of a control line's cell, as of its latest complaint",
            metrics.control_counts.clone(),
        );
        registry.register(
            "redress_timers_fired",
            "SLA breaches and follow-ups fired, by timer",
            metrics.timers.clone(),
        );
        registry.register(
            "redress_escalations",
            "Complaints decided with an escalation, by the highest level reached",
            metrics.escalations.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }
}

fn outcome_labels(outcome: &str) -> Labels {
    vec![("queue", String::new()), ("outcome", outcome.to_string())]
}

impl Metrics {
    /// Counts one decision routed to `queue`.
    pub fn decided(&self, queue: &Name) {
        cached_counter(&self.by_queue, queue, &self.decisions, || {
            vec![
                ("queue", queue.to_string()),
                ("outcome", "decided".to_string()),
            ]
        })
        .inc();
    }

    /// Counts an event refused because a plugin with `on_error = "reject"`
    /// failed on it.
    pub fn rejected(&self) {
        self.decisions
            .get_or_create(&outcome_labels("rejected"))
            .inc();
    }

    /// Counts an event refused as invalid (its JSON, its currency, its
    /// timestamps).
    pub fn invalid(&self) {
        self.decisions
            .get_or_create(&outcome_labels("invalid"))
            .inc();
    }

    /// Counts a request refused because too many were in flight.
    pub fn overloaded(&self) {
        self.overloaded.inc();
    }

    /// Records the control lines a decision was counted by.
    pub fn control_lines(&self, lines: &[(Name, String, i64, bool)]) {
        for (rule, group, count, crossed) in lines {
            // Every rule counted shows, at 0 until it is crossed, so that
            // an alert on its increase sees the first crossing.
            let crossings = self.crossings_of(rule);
            if *crossed {
                crossings.inc();
            }
            let key = (rule.clone(), group.clone());
            if let Ok(groups) = self.control_groups.read()
                && let Some(gauge) = groups.get(&key)
            {
                gauge.set(*count);
                continue;
            }
            let Ok(mut groups) = self.control_groups.write() else {
                continue;
            };
            if groups.len() >= MAX_CONTROL_GROUPS {
                continue;
            }
            let labels = vec![
                ("rule", rule.to_string()),
                ("group", group.replace('\u{1f}', ",")),
            ];
            let gauge = self.control_counts.get_or_create(&labels).clone();
            gauge.set(*count);
            groups.insert(key, gauge);
        }
    }

    /// The crossings counter of a control line's rule.
    fn crossings_of(&self, rule: &Name) -> Counter {
        cached_counter(&self.crossing_rules, rule, &self.crossings, || {
            vec![("rule", rule.to_string())]
        })
    }

    /// Counts a decided complaint escalated to `level` (its highest).
    pub fn escalated(&self, level: &Name) {
        cached_counter(&self.escalation_levels, level, &self.escalations, || {
            vec![("level", level.to_string())]
        })
        .inc();
    }

    /// Records a fired timer.
    pub fn timer_fired(&self, kind: &str) {
        self.timers
            .get_or_create(&vec![("timer", kind.to_string())])
            .inc();
    }

    /// Renders the daemon's counters, then `scrape`'s (plugins, reloads...).
    pub fn render(&self, scrape: &Scrape) -> String {
        let mut out = String::with_capacity(8192);
        // Writing to a String does not fail.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        let _ = prometheus_text::encode(&mut out, &scrape.registry);
        out
    }
}

/// Metrics read from where they live, for one rendering.
#[derive(Debug, Default)]
pub struct Scrape {
    registry: Registry,
}

impl Scrape {
    /// A counter with no labels; `name` ends in `_total`, as it is shown.
    pub fn counter(&mut self, name: &str, help: &str, value: u64) {
        let counter = Counter::<u64>::default();
        counter.inc_by(value);
        self.registry
            .register(counter_name(name), trim(help), counter);
    }

    /// A gauge with no labels.
    pub fn gauge(&mut self, name: &str, help: &str, value: u64) {
        let gauge = Gauge::<i64>::default();
        gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
        self.registry.register(name, trim(help), gauge);
    }

    /// A counter with a sample per label set.
    pub fn counters(
        &mut self,
        name: &str,
        help: &str,
        samples: impl IntoIterator<Item = (Labels, u64)>,
    ) {
        let family = Family::<Labels, Counter>::default();
        for (labels, value) in samples {
            family.get_or_create(&labels).inc_by(value);
        }
        self.registry
            .register(counter_name(name), trim(help), family);
    }

    /// A gauge with a sample per label set.
    pub fn gauges(
        &mut self,
        name: &str,
        help: &str,
        samples: impl IntoIterator<Item = (Labels, u64)>,
    ) {
        let family = Family::<Labels, Gauge>::default();
        for (labels, value) in samples {
            family
                .get_or_create(&labels)
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
        self.registry.register(name, trim(help), family);
    }

    /// A latency histogram.
    pub fn histogram(&mut self, name: &str, help: &str, histogram: &LatencyHistogram) {
        self.registry.register(name, trim(help), histogram.metric());
    }
}

/// The name a counter is registered under: prometheus-client adds `_total`.
fn counter_name(shown: &str) -> &str {
    shown.strip_suffix("_total").unwrap_or(shown)
}

/// prometheus-client ends every help text with a full stop.
fn trim(help: &str) -> &str {
    help.trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram_that_parse() {
        let metrics = Metrics::default();
        metrics.decided(&Name::from("billing"));
        metrics.decided(&Name::from("billing"));
        metrics.rejected();
        metrics
            .latency
            .observe(std::time::Duration::from_micros(80));
        metrics.control_lines(&[
            (Name::from("grid"), "tv\u{1f}\"x\"".into(), 6, true),
            (Name::from("calm"), "all".into(), 1, false),
        ]);
        let mut scrape = Scrape::default();
        scrape.counters(
            "redress_plugin_calls_total",
            "Plugin calls.",
            [(vec![("plugin", "a\\b\n".to_string())], 3)],
        );
        let text = metrics.render(&scrape);
        assert!(
            text.contains("redress_decisions_total{queue=\"billing\",outcome=\"decided\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("redress_decisions_total{queue=\"\",outcome=\"rejected\"} 1"),
            "{text}"
        );
        assert!(text.contains("redress_decision_seconds_count 1"), "{text}");
        assert!(
            text.contains("# HELP redress_plugin_calls_total Plugin calls.\n"),
            "{text}"
        );
        assert!(
            text.contains("redress_control_line_crossings_total{rule=\"grid\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("redress_control_line_crossings_total{rule=\"calm\"} 0\n"),
            "a rule counted and not crossed shows at 0: {text}"
        );
        let lines = text.lines().map(|line| Ok(line.to_string()));
        let parsed = prometheus_parse::Scrape::parse(lines).unwrap();
        let find = |name: &str| {
            parsed
                .samples
                .iter()
                .find(|sample| sample.metric == name)
                .unwrap_or_else(|| panic!("{name} in {text}"))
        };
        assert_eq!(
            find("redress_overloaded_total").value,
            prometheus_parse::Value::Counter(0.0)
        );
        let calls = find("redress_plugin_calls_total");
        // As written: escaped (the parser does not unescape).
        assert_eq!(calls.labels.get("plugin"), Some(r"a\\b\n"));
        // Escaped as the format says (prometheus-parse would split this
        // label at its comma, so it is checked as text).
        assert!(
            text.contains(r#"redress_control_line_count{rule="grid",group="tv,\"x\""} 6"#),
            "{text}"
        );
        assert!(
            parsed
                .samples
                .iter()
                .any(|s| s.metric == "redress_decision_seconds"),
            "the histogram parses as one: {text}"
        );
    }
}
