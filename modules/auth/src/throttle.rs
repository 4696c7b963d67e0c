//! Failed-login throttling, per account and per client address, independent of the
//! general rate limit: after `MAX_FAILURES` failures within `WINDOW`, further attempts
//! are refused until the oldest failure leaves the window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginThrottle {
    /// `Err(seconds to wait)` when any of `keys` is over the limit.
    pub fn check(&self, keys: &[String]) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mut wait = Duration::ZERO;
        for key in keys {
            if let Some(times) = map.get_mut(key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= WINDOW)
                {
                    times.pop_front();
                }
                if times.len() >= MAX_FAILURES {
                    let until = WINDOW - now.duration_since(times[0]);
                    wait = wait.max(until);
                }
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.as_secs().max(1))
        }
    }

    pub fn record_failure(&self, keys: &[String]) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            let now = Instant::now();
            map.retain(|_, t| {
                t.back()
                    .is_some_and(|last| now.duration_since(*last) < WINDOW)
            });
        }
        for key in keys {
            let times = map.entry(key.clone()).or_default();
            times.push_back(Instant::now());
            while times.len() > MAX_FAILURES {
                times.pop_front();
            }
        }
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenth_failure_locks_until_the_window_passes() {
        let t = LoginThrottle::default();
        let keys = vec!["acct:a".to_string(), "ip:1".to_string()];
        for _ in 0..MAX_FAILURES - 1 {
            t.record_failure(&keys);
        }
        assert!(t.check(&keys).is_ok());
        t.record_failure(&keys);
        let wait = t.check(&keys).unwrap_err();
        assert!(wait > 14 * 60 && wait <= 15 * 60, "{wait}");
        assert!(
            t.check(&["acct:b".to_string()]).is_ok(),
            "other accounts unaffected"
        );
        t.clear("acct:a");
        assert!(t.check(&["acct:a".to_string()]).is_ok());
        assert!(
            t.check(&["ip:1".to_string()]).is_err(),
            "the address stays throttled"
        );
    }
}
