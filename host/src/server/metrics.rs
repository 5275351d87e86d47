//! Metrics in the Prometheus text format. Counters are atomics; the
//! per-queue counters sit behind a read-mostly lock taken for writing only
//! when a queue is seen for the first time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::decision::Name;
use crate::histogram::Histogram;

/// The daemon's own counters (plugin and reload counters are read from
/// where they live when rendering).
#[derive(Debug, Default)]
pub struct Metrics {
    decisions: RwLock<BTreeMap<Name, Arc<AtomicU64>>>,
    pub rejected: AtomicU64,
    pub invalid: AtomicU64,
    pub overloaded: AtomicU64,
    pub latency: Histogram,
    /// Control lines: crossings by rule, and the latest count by (rule, group).
    crossings: RwLock<BTreeMap<Name, u64>>,
    control_counts: RwLock<BTreeMap<(Name, String), i64>>,
    /// Timers fired, by kind.
    timers: RwLock<BTreeMap<String, u64>>,
}

/// Most (rule, group) control-line counts shown in the metrics.
const MAX_CONTROL_GROUPS: usize = 1000;

impl Metrics {
    /// Counts one decision routed to `queue`.
    pub fn decided(&self, queue: &Name) {
        if let Ok(counters) = self.decisions.read()
            && let Some(counter) = counters.get(queue)
        {
            counter.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Ok(mut counters) = self.decisions.write() {
            counters
                .entry(queue.clone())
                .or_default()
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records the control lines a decision was counted by.
    pub fn control_lines(&self, lines: &[(Name, String, i64, bool)]) {
        if lines.is_empty() {
            return;
        }
        if let Ok(mut counts) = self.control_counts.write() {
            for (rule, group, count, _) in lines {
                let key = (rule.clone(), group.clone());
                if counts.len() < MAX_CONTROL_GROUPS || counts.contains_key(&key) {
                    counts.insert(key, *count);
                }
            }
        }
        if let Ok(mut crossings) = self.crossings.write() {
            for (rule, _, _, crossed) in lines {
                let entry = crossings.entry(rule.clone()).or_default();
                *entry += u64::from(*crossed);
            }
        }
    }

    /// Records a fired timer.
    pub fn timer_fired(&self, kind: &str) {
        if let Ok(mut timers) = self.timers.write() {
            *timers.entry(kind.to_string()).or_default() += 1;
        }
    }

    /// Renders the daemon's counters, then `extra` (plugins, reloads...).
    pub fn render(&self, extra: &dyn Fn(&mut String)) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP redress_decisions_total Complaints decided, by route queue and outcome.\n",
        );
        out.push_str("# TYPE redress_decisions_total counter\n");
        if let Ok(counters) = self.decisions.read() {
            for (queue, count) in counters.iter() {
                let _ = writeln!(
                    out,
                    "redress_decisions_total{{queue=\"{}\",outcome=\"decided\"}} {}",
                    escape(queue),
                    count.load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "redress_decisions_total{{queue=\"\",outcome=\"rejected\"}} {}",
            self.rejected.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "redress_decisions_total{{queue=\"\",outcome=\"invalid\"}} {}",
            self.invalid.load(Ordering::Relaxed)
        );
        out.push_str("# HELP redress_overloaded_total Requests refused with 503 because too many were in flight.\n");
        out.push_str("# TYPE redress_overloaded_total counter\n");
        let _ = writeln!(
            out,
            "redress_overloaded_total {}",
            self.overloaded.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP redress_decision_seconds Time to decide one complaint (plugins and rules).\n",
        );
        out.push_str("# TYPE redress_decision_seconds histogram\n");
        self.latency.render(&mut out, "redress_decision_seconds");
        out.push_str("# HELP redress_control_line_crossings_total Complaints that crossed a control line, by rule.\n# TYPE redress_control_line_crossings_total counter\n");
        if let Ok(crossings) = self.crossings.read() {
            for (rule, count) in crossings.iter() {
                let _ = writeln!(
                    out,
                    "redress_control_line_crossings_total{{rule=\"{}\"}} {count}",
                    escape(rule)
                );
            }
        }
        out.push_str("# HELP redress_control_line_count Complaints in the window of a control line's cell, as of its latest complaint.\n# TYPE redress_control_line_count gauge\n");
        if let Ok(counts) = self.control_counts.read() {
            for ((rule, group), count) in counts.iter() {
                let _ = writeln!(
                    out,
                    "redress_control_line_count{{rule=\"{}\",group=\"{}\"}} {count}",
                    escape(rule),
                    escape(&group.replace('\u{1f}', ","))
                );
            }
        }
        out.push_str("# HELP redress_timers_fired_total SLA breaches and follow-ups fired, by timer.\n# TYPE redress_timers_fired_total counter\n");
        if let Ok(timers) = self.timers.read() {
            for (kind, count) in timers.iter() {
                let _ = writeln!(
                    out,
                    "redress_timers_fired_total{{timer=\"{kind}\"}} {count}"
                );
            }
        }
        extra(&mut out);
        out
    }
}

/// Escapes a Prometheus label value.
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let metrics = Metrics::default();
        metrics.decided(&Name::from("billing"));
        metrics.decided(&Name::from("billing"));
        metrics
            .latency
            .observe(std::time::Duration::from_micros(80));
        let text = metrics.render(&|out| out.push_str("extra 1\n"));
        assert!(
            text.contains("redress_decisions_total{queue=\"billing\",outcome=\"decided\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("redress_decision_seconds_bucket{le=\"0.0001\"} 1"),
            "{text}"
        );
        assert!(text.contains("redress_decision_seconds_count 1"), "{text}");
        assert!(text.ends_with("extra 1\n"));
    }
}
