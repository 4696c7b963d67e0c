//! Latency histogram in microseconds: exact below 64 µs, then 32 buckets per power of
//! two (every bucket within ~3 % of its values), so a subscriber's histogram is a fixed
//! ~9 KB however many events it records, and merging two is adding their counts.

/// Values below this are their own bucket.
const LINEAR: u64 = 64;
/// Buckets per power of two above `LINEAR` (5 bits of mantissa).
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Largest power of two tracked: 2^40 µs is 12 days; anything longer lands in the top bucket.
const MAX_EXP: u32 = 40;
const FIRST_EXP: u32 = LINEAR.trailing_zeros(); // 6
const BUCKETS: usize = LINEAR as usize + ((MAX_EXP - FIRST_EXP + 1) as usize) * SUB as usize;

#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    let exp = (63 - us.leading_zeros()).min(MAX_EXP);
    let us = us.min((1u64 << (MAX_EXP + 1)) - 1);
    let mantissa = (us >> (exp - SUB_BITS)) - SUB;
    LINEAR as usize + ((exp - FIRST_EXP) as usize) * SUB as usize + mantissa as usize
}

/// The largest value that falls into `bucket` (what a quantile reports: never below
/// the true value, at most one bucket width above it).
fn bucket_high(bucket: usize) -> u64 {
    if bucket < LINEAR as usize {
        return bucket as u64;
    }
    let rel = (bucket - LINEAR as usize) as u64;
    let exp = FIRST_EXP as u64 + rel / SUB;
    let mantissa = SUB + rel % SUB;
    ((mantissa + 1) << (exp - SUB_BITS as u64)) - 1
}

impl Histogram {
    pub fn record(&mut self, us: u64) {
        self.counts[bucket_of(us)] += 1;
        self.total += 1;
        self.max = self.max.max(us);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0..=1), in µs; 0 for an empty histogram.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        // The rank of the value asked for, 1-based: p50 of 2 values is the first.
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return bucket_high(bucket).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_cover_their_values() {
        let mut last = 0;
        for us in [
            0,
            1,
            63,
            64,
            65,
            100,
            127,
            128,
            1000,
            12_345,
            1 << 30,
            u64::MAX,
        ] {
            let b = bucket_of(us);
            assert!(b >= last, "bucket of {us} went backwards");
            assert!(b < BUCKETS);
            last = b;
            if us < 1 << MAX_EXP {
                assert!(
                    bucket_high(b) >= us,
                    "{us} above its bucket's top {}",
                    bucket_high(b)
                );
                // Within one bucket width (1/32 of the value) above it.
                assert!(bucket_high(b) - us <= us / 32 + 1, "{us}: bucket too wide");
            }
        }
    }

    #[test]
    fn quantiles_of_a_known_spread() {
        let mut h = Histogram::default();
        for us in 1..=1000 {
            h.record(us);
        }
        assert_eq!(h.count(), 1000);
        assert_eq!(h.max(), 1000);
        let p50 = h.quantile(0.5);
        assert!((500..=516).contains(&p50), "p50 {p50}");
        let p99 = h.quantile(0.99);
        assert!((990..=1000).contains(&p99), "p99 {p99}");
        assert_eq!(h.quantile(1.0), 1000);
    }

    #[test]
    fn merge_adds_counts_and_keeps_the_max() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        a.record(10);
        b.record(5000);
        b.record(20);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.max(), 5000);
        assert_eq!(a.quantile(0.5), 20);
        assert_eq!(Histogram::default().quantile(0.99), 0);
    }
}
