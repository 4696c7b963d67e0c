//! Token buckets, one per key, as GCRA: each key stores only its "theoretical arrival
//! time" (TAT), the instant its bucket will be full again. A request takes one token
//! (moves the TAT one emission interval on) if that leaves the TAT at most a full
//! bucket's worth of time ahead of now.
//!
//! Written here rather than taken from a crate for two things the limiter needs: looking
//! at a bucket without drawing from it (a request with a token is refused before the
//! token is checked when its address keeps sending bad ones), and charging a request's
//! cost after it was served, which may leave the bucket in debt (the next request pays).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Locks are per shard, so concurrent callers rarely wait for each other.
const SHARDS: usize = 16;

/// What a request that drew a token learns, or why it may not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Served; `remaining` tokens are left, the bucket is full again after `until_full`.
    Allowed {
        remaining: u32,
        until_full: Duration,
    },
    /// Not served: a token is back after `retry_after`, the bucket full after
    /// `until_full`.
    Refused {
        retry_after: Duration,
        until_full: Duration,
    },
}

pub struct Buckets<K> {
    /// The time one token takes to come back (1 / rate).
    interval: Duration,
    burst: u32,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<K, Instant>>>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// `per_second` and `burst` at least 1.
    pub fn new(per_second: u32, burst: u32) -> Buckets<K> {
        Buckets {
            interval: Duration::from_secs(1) / per_second.max(1),
            burst: burst.max(1),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// The time a full bucket's tokens take to come back.
    fn capacity(&self) -> Duration {
        self.interval * self.burst
    }

    fn shard(&self, key: &K) -> std::sync::MutexGuard<'_, HashMap<K, Instant>> {
        let i = (self.hasher.hash_one(key) as usize) % self.shards.len();
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Draws one token for `key`, if there is one.
    pub fn check(&self, key: &K, now: Instant) -> Decision {
        let mut shard = self.shard(key);
        let tat = shard.get(key).copied().unwrap_or(now).max(now);
        let after = tat + self.interval;
        let ahead = after - now;
        if ahead > self.capacity() {
            return Decision::Refused {
                retry_after: ahead - self.capacity(),
                until_full: tat - now,
            };
        }
        shard.insert(key.clone(), after);
        let left = self.capacity() - ahead;
        Decision::Allowed {
            remaining: (left.as_nanos() / self.interval.as_nanos()) as u32,
            until_full: ahead,
        }
    }

    /// Whether a request for `key` would be refused now; draws nothing.
    pub fn is_empty(&self, key: &K, now: Instant) -> bool {
        let shard = self.shard(key);
        shard
            .get(key)
            .is_some_and(|tat| tat.saturating_duration_since(now) + self.interval > self.capacity())
    }

    /// Takes `tokens` more from `key`'s bucket (a request that cost more than one). The
    /// bucket may go into debt, by at most one full bucket, so the next requests wait.
    pub fn charge(&self, key: &K, tokens: u32, now: Instant) {
        if tokens == 0 {
            return;
        }
        let mut shard = self.shard(key);
        let tat = shard.get(key).copied().unwrap_or(now).max(now);
        let most = now + self.capacity() * 2;
        shard.insert(key.clone(), (tat + self.interval * tokens).min(most));
    }

    /// Drops the buckets that are full again (they hold no information), keeping memory
    /// bounded by the callers seen recently rather than ever.
    pub fn prune(&self, now: Instant) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            shard.retain(|_, tat| *tat > now);
            shard.shrink_to_fit();
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remaining(d: Decision) -> u32 {
        match d {
            Decision::Allowed { remaining, .. } => remaining,
            Decision::Refused { .. } => panic!("refused"),
        }
    }

    #[test]
    fn a_burst_then_the_rate() {
        let b = Buckets::new(10, 3);
        let t0 = Instant::now();
        assert_eq!(remaining(b.check(&"a", t0)), 2);
        assert_eq!(remaining(b.check(&"a", t0)), 1);
        assert_eq!(remaining(b.check(&"a", t0)), 0);
        let Decision::Refused {
            retry_after,
            until_full,
        } = b.check(&"a", t0)
        else {
            panic!("a fourth at once");
        };
        assert_eq!(retry_after, Duration::from_millis(100));
        assert_eq!(until_full, Duration::from_millis(300));
        assert!(b.is_empty(&"a", t0));
        assert!(!b.is_empty(&"b", t0), "other keys have their own bucket");
        // One interval later one token is back.
        let t1 = t0 + Duration::from_millis(100);
        assert!(!b.is_empty(&"a", t1));
        assert_eq!(remaining(b.check(&"a", t1)), 0);
    }

    #[test]
    fn a_charge_can_leave_debt_that_the_next_request_pays() {
        let b = Buckets::new(10, 3);
        let t0 = Instant::now();
        assert_eq!(remaining(b.check(&"a", t0)), 2);
        b.charge(&"a", 4, t0);
        // 5 tokens taken from 3: 2 in debt, so the next one waits 300 ms.
        let Decision::Refused { retry_after, .. } = b.check(&"a", t0) else {
            panic!("served in debt");
        };
        assert_eq!(retry_after, Duration::from_millis(300));
        // Debt is capped at one full bucket.
        b.charge(&"a", 1000, t0);
        let Decision::Refused { retry_after, .. } = b.check(&"a", t0) else {
            panic!("served in debt");
        };
        assert_eq!(retry_after, Duration::from_millis(400));
    }

    #[test]
    fn full_buckets_are_pruned() {
        let b = Buckets::new(10, 3);
        let t0 = Instant::now();
        b.check(&"a", t0);
        b.check(&"b", t0);
        b.check(&"b", t0);
        b.prune(t0 + Duration::from_millis(150));
        assert_eq!(b.len(), 1, "a is full again, b is not");
    }
}
