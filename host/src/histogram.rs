//! Latency histograms for `/metrics`, shared by the server and the store:
//! prometheus-client's histogram with buckets from 50 µs to 1 s, observed
//! in seconds.

use prometheus_client::metrics::histogram::Histogram;

/// Upper bounds of the buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

/// A latency histogram; clones share their counts.
#[derive(Debug, Clone)]
pub struct LatencyHistogram(Histogram);

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram(Histogram::new(BUCKETS))
    }
}

impl LatencyHistogram {
    pub fn observe(&self, elapsed: std::time::Duration) {
        self.0.observe(elapsed.as_secs_f64());
    }

    /// The histogram, to register for rendering (it shares the counts).
    pub fn metric(&self) -> Histogram {
        self.0.clone()
    }
}
