//! The delivery-latency histogram. prometheus-client's `Histogram` takes a mutex per
//! observation; a change fanned out to a thousand streams would take it a thousand
//! times. Here a stream records a whole batch at once (`observe_n`: every event of a
//! hub batch was noticed at the same instant, so they share one latency), on atomics.

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct BatchHistogram {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Upper bounds in seconds, ascending; one more bucket (+Inf) follows.
    bounds: Vec<f64>,
    /// Per bucket (not cumulative), bounds.len() + 1 of them.
    counts: Vec<AtomicU64>,
    /// The sum of observations in microseconds (an integer, so it can be an atomic add).
    sum_micros: AtomicU64,
}

impl BatchHistogram {
    pub fn new(bounds: &[f64]) -> BatchHistogram {
        let bounds: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        BatchHistogram {
            inner: Arc::new(Inner {
                bounds,
                counts,
                sum_micros: AtomicU64::new(0),
            }),
        }
    }

    /// Records `n` observations of `seconds`.
    pub fn observe_n(&self, seconds: f64, n: u64) {
        if n == 0 || !seconds.is_finite() || seconds < 0.0 {
            return;
        }
        let inner = &self.inner;
        let i = inner.bounds.partition_point(|&bound| bound < seconds);
        inner.counts[i].fetch_add(n, Ordering::Relaxed);
        let micros = (seconds * 1e6).round() as u64;
        inner
            .sum_micros
            .fetch_add(micros.saturating_mul(n), Ordering::Relaxed);
    }

    /// (sum in seconds, count, per-bucket (upper bound, count)).
    fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let inner = &self.inner;
        let buckets: Vec<(f64, u64)> = inner
            .bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(inner.counts.iter().map(|c| c.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, c)| c).sum();
        let sum = inner.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        (sum, count, buckets)
    }
}

impl TypedMetric for BatchHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for BatchHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let (sum, count, buckets) = self.snapshot();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;
    use prometheus_client::registry::Registry;

    #[test]
    fn batches_land_in_their_bucket_and_encode_cumulatively() {
        let histogram = BatchHistogram::new(&[0.001, 0.01, 0.1]);
        histogram.observe_n(0.0005, 3);
        histogram.observe_n(0.05, 2);
        histogram.observe_n(2.0, 1);
        histogram.observe_n(f64::NAN, 5);
        histogram.observe_n(0.05, 0);
        let mut registry = Registry::default();
        registry.register("lat", "test", histogram.clone());
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(text.contains("lat_count 6\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"0.001\"} 3\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"0.01\"} 3\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"0.1\"} 5\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"+Inf\"} 6\n"), "{text}");
        // 3 × 0.0005 + 2 × 0.05 + 2.0
        assert!(text.contains("lat_sum 2.1015\n"), "{text}");
    }
}
