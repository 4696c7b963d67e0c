//! Failed-login throttling by progressive delays, never by locking an account: whoever
//! fails waits, whoever has not failed is never refused. Three counts of recent
//! failures, each forgotten [`FORGET_AFTER`] after its last failure:
//! - per client address (any account): after [`FREE_PER_ADDRESS`] failures the address
//!   waits before each further attempt, doubling from [`BASE`] up to [`CAP`];
//! - per account *from* an address: the same after [`FREE_PER_PAIR`] failures;
//! - per account (any address; refused attempts count here too, as hammering): it never
//!   refuses anything itself, but once the account has [`UNDER_ATTACK`] recent failures,
//!   every address gets only
//!   [`FREE_UNDER_ATTACK`] free failure against it, so many addresses guessing together
//!   are slowed too.
//!
//! A correct password from an address with no recent failures is therefore always
//! accepted, however hard others hammer the account. Delays are counted from the last
//! failure; refused attempts check no password and do not lengthen their own delay.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const FREE_PER_ADDRESS: u32 = 10;
pub const FREE_PER_PAIR: u32 = 5;
pub const UNDER_ATTACK: u32 = 20;
pub const FREE_UNDER_ATTACK: u32 = 1;
pub const BASE: Duration = Duration::from_secs(1);
pub const CAP: Duration = Duration::from_secs(15 * 60);
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

/// How long after the last of `count` failures the next attempt may come.
fn delay(count: u32, free: u32) -> Duration {
    if count < free {
        return Duration::ZERO;
    }
    let doublings = (count - free).min(20);
    (BASE * 2u32.pow(doublings)).min(CAP)
}

fn keys(account: &str, address: &str) -> [String; 3] {
    [
        format!("ip:{address}"),
        format!("pair:{account}|{address}"),
        format!("acct:{account}"),
    ]
}

impl LoginThrottle {
    /// `Err(seconds to wait)` when this address must wait before trying this account.
    pub fn check(&self, account: &str, address: &str, now: Instant) -> Result<(), u64> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let recent = |key: &str| {
            map.get(key)
                .filter(|f| now.duration_since(f.last) < FORGET_AFTER)
                .copied()
        };
        let [ip, pair, acct] = keys(account, address);
        let under_attack = recent(&acct).is_some_and(|f| f.count >= UNDER_ATTACK);
        let pair_free = if under_attack {
            FREE_UNDER_ATTACK
        } else {
            FREE_PER_PAIR
        };
        let mut wait = Duration::ZERO;
        for (key, free) in [(ip, FREE_PER_ADDRESS), (pair, pair_free)] {
            if let Some(f) = recent(&key) {
                let until = f.last + delay(f.count, free);
                wait = wait.max(until.saturating_duration_since(now));
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            // Whole seconds, rounded up: trying at `Retry-After` is never too early.
            Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        }
    }

    pub fn record_failure(&self, account: &str, address: &str, now: Instant) {
        self.count(keys(account, address), now);
    }

    /// An attempt refused by [`check`](Self::check): evidence of an attack on the
    /// account, counted for the account only.
    pub fn record_refused(&self, account: &str, address: &str, now: Instant) {
        let [_, _, acct] = keys(account, address);
        self.count([acct], now);
    }

    fn count<const N: usize>(&self, keys: [String; N], now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            evict(&mut map, now);
        }
        for key in keys {
            let f = map.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.duration_since(f.last) >= FORGET_AFTER {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
    }

    /// A correct password clears this address's failures against the account (not the
    /// address's overall count, nor the account's: an attacker logging into their own
    /// account must not reset either).
    pub fn record_success(&self, account: &str, address: &str) {
        let [_, pair, _] = keys(account, address);
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&pair);
    }
}

/// Forgets idle entries; if that is not enough, the older half (the newest failures,
/// those of an attack in progress, are what must be kept).
fn evict(map: &mut HashMap<String, Failures>, now: Instant) {
    map.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
    if map.len() >= MAX_KEYS {
        let mut lasts: Vec<Instant> = map.values().map(|f| f.last).collect();
        lasts.sort_unstable();
        let cut = lasts[lasts.len() / 2];
        map.retain(|_, f| f.last > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(t: &LoginThrottle, account: &str, address: &str, n: u32, at: Instant) {
        for _ in 0..n {
            t.record_failure(account, address, at);
        }
    }

    #[test]
    fn delays_double_from_the_free_failures_up_to_the_cap() {
        assert_eq!(delay(4, 5), Duration::ZERO);
        assert_eq!(delay(5, 5), BASE);
        assert_eq!(delay(6, 5), BASE * 2);
        assert_eq!(delay(9, 5), BASE * 16);
        assert_eq!(delay(40, 5), CAP);
        assert_eq!(delay(u32::MAX, 5), CAP);
        let t = LoginThrottle::default();
        let start = Instant::now();
        fail(&t, "victim", "a", FREE_PER_PAIR, start);
        assert_eq!(t.check("victim", "a", start), Err(1));
        assert!(t.check("victim", "a", start + BASE).is_ok());
        fail(&t, "victim", "a", 3, start);
        assert_eq!(t.check("victim", "a", start), Err(8));
        fail(&t, "victim", "a", 30, start);
        assert_eq!(t.check("victim", "a", start), Err(CAP.as_secs()));
        assert!(
            t.check("victim", "a", start + FORGET_AFTER).is_ok(),
            "forgotten"
        );
    }

    #[test]
    fn a_clean_address_is_never_refused() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        fail(&t, "victim", "attacker", FREE_PER_ADDRESS, now);
        for _ in 0..UNDER_ATTACK {
            assert!(t.check("victim", "attacker", now).is_err());
            t.record_refused("victim", "attacker", now);
        }
        assert!(t.check("victim", "attacker", now).is_err());
        assert!(t.check("victim", "owner", now).is_ok());
        // Under attack, one failure is enough to slow another address down.
        t.record_failure("victim", "second", now);
        assert!(t.check("victim", "second", now).is_err());
        assert!(
            t.check("other", "second", now).is_ok(),
            "other accounts: 5 free"
        );
        // Success clears the pair only.
        t.record_success("victim", "attacker");
        assert!(
            t.check("victim", "attacker", now).is_err(),
            "the address count stays"
        );
    }

    #[test]
    fn an_address_failing_across_accounts_waits_too() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..FREE_PER_ADDRESS {
            t.record_failure(&format!("a{i}"), "sprayer", now);
        }
        assert!(t.check("fresh", "sprayer", now).is_err());
        assert!(t.check("fresh", "someone", now).is_ok());
    }
}
