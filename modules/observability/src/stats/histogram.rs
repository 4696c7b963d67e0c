//! A small fixed latency histogram: 23 counters, mergeable, with percentiles
//! interpolated inside a bucket. Exact enough for a dashboard (the error is bounded by
//! the bucket width, ~25–50 % of the value), and the same size whatever the traffic.

/// Upper bounds (ms) of the buckets; one more bucket holds everything slower.
pub const BOUNDS_MS: [f64; 22] = [
    0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0,
    500.0, 750.0, 1000.0, 2000.0, 5000.0, 10000.0,
];
const BUCKETS: usize = BOUNDS_MS.len() + 1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: [u32; BUCKETS],
}

impl LatencyHistogram {
    pub const EMPTY: LatencyHistogram = LatencyHistogram {
        counts: [0; BUCKETS],
    };

    pub fn record(&mut self, ms: f64) {
        let i = BOUNDS_MS.partition_point(|&bound| bound < ms);
        self.counts[i] = self.counts[i].saturating_add(1);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine = mine.saturating_add(theirs);
        }
    }

    /// The `q` quantile (0 < q ≤ 1) in ms, `None` when empty. Within a bucket the values
    /// are assumed evenly spread; the open last bucket reports its lower bound.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0);
        let mut below = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            let c = u64::from(c);
            if c > 0 && (below + c) as f64 >= rank {
                let lower = if i == 0 { 0.0 } else { BOUNDS_MS[i - 1] };
                let Some(&upper) = BOUNDS_MS.get(i) else {
                    return Some(lower);
                };
                let within = (rank - below as f64) / c as f64;
                return Some(lower + (upper - lower) * within);
            }
            below += c;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(values: &[f64]) -> LatencyHistogram {
        let mut h = LatencyHistogram::default();
        values.iter().for_each(|&v| h.record(v));
        h
    }

    #[test]
    fn empty_has_no_percentiles() {
        assert_eq!(LatencyHistogram::default().percentile(0.5), None);
        assert_eq!(LatencyHistogram::default().count(), 0);
    }

    #[test]
    fn values_land_in_the_bucket_whose_upper_bound_they_do_not_exceed() {
        let h = of(&[0.0, 0.5, 0.51, 10.0, 10.1, 1e9]);
        assert_eq!(h.counts[0], 2, "0 and 0.5 ms");
        assert_eq!(h.counts[1], 1, "0.51 ms");
        assert_eq!(h.counts[6], 1, "10 ms");
        assert_eq!(h.counts[7], 1, "10.1 ms");
        assert_eq!(h.counts[BUCKETS - 1], 1, "beyond the last bound");
        assert_eq!(h.count(), 6);
    }

    #[test]
    fn percentiles_stay_within_the_right_bucket() {
        // 90 fast requests (~1.5 ms) and 10 slow ones (~400 ms).
        let mut values = vec![1.5; 90];
        values.extend([400.0; 10]);
        let h = of(&values);
        let p50 = h.percentile(0.50).unwrap();
        let p95 = h.percentile(0.95).unwrap();
        let p99 = h.percentile(0.99).unwrap();
        assert!((1.0..=2.0).contains(&p50), "{p50}");
        assert!((300.0..=500.0).contains(&p95), "{p95}");
        assert!((300.0..=500.0).contains(&p99), "{p99}");
        assert!(p50 <= p95 && p95 <= p99);
        // A single sample: every percentile is inside its bucket.
        let one = of(&[42.0]);
        for q in [0.01, 0.5, 1.0] {
            let p = one.percentile(q).unwrap();
            assert!((30.0..=50.0).contains(&p), "{q}: {p}");
        }
        // The open bucket reports its lower bound.
        assert_eq!(of(&[60_000.0]).percentile(0.99), Some(10_000.0));
    }

    #[test]
    fn merging_adds_counts() {
        let mut a = of(&[1.0, 100.0]);
        a.merge(&of(&[1.0, 5000.0]));
        assert_eq!(a, of(&[1.0, 1.0, 100.0, 5000.0]));
        let mut full = LatencyHistogram::default();
        full.counts[0] = u32::MAX;
        full.merge(&of(&[0.1]));
        assert_eq!(full.counts[0], u32::MAX, "saturates instead of wrapping");
    }
}
