//! Rate limiting (API.md 5.1, README "Rate limits"), by audience: a token bucket per
//! caller, with the limit of the caller's audience ([`auth::Audience`]):
//!
//! - `anonymous`: no valid token, one bucket per client address (IPv6 clients by their
//!   /64, which one host usually owns whole); the dashboard's requests draw from
//!   buckets of their own with this limit, and so do requests with bad tokens;
//! - `user` and `admin`: one bucket per user (all of a user's tokens share it);
//! - `auth`: login, refresh, register, setup and password reset (and the dashboard's
//!   login and setup forms), one bucket per client address.
//!
//! Two middlewares share the buckets. [`RateLimit::by_address`] sits outside the auth
//! middleware, so it runs before any token is checked: it limits the auth endpoints,
//! the dashboard, and requests whose address keeps sending bad tokens (each 401 draws
//! from that address's bucket; an empty bucket is 429 before the token is looked up).
//! [`RateLimit::by_caller`] sits inside, where the caller is known. A response carrying
//! [`kernel::QueryCost`] (a slow query) costs its caller extra tokens (see [`cost`]).
//!
//! Every answer from a limited audience carries the IETF httpapi draft fields as
//! structured-field lists naming the policy (the audience): `RateLimit-Policy:
//! "user";q=<burst>;w=<secs>` (a full bucket, and the time it takes to refill, so q/w is
//! the sustained rate) and `RateLimit: "user";r=<remaining>;t=<secs until the bucket is
//! full again>`. A refused request gets 429 `rate_limited` with `Retry-After` (whole
//! seconds, at least 1) as well. An audience whose rate is 0 is unthrottled and gets
//! neither field.
//!
//! The limits come from the configuration, or from the database once an admin sets them
//! (`/admin/settings`): [`RateLimit::set`] rebuilds the buckets of each audience whose
//! limit changed; those callers start full.

mod buckets;
pub mod cost;
mod middleware;

pub use middleware::{ByAddress, ByCaller};

use crate::config::{RateLimitConfig, RateLimits};
use auth::Audience;
use buckets::{Buckets, Decision};
use poem::http::{HeaderMap, HeaderName, HeaderValue};
use std::net::IpAddr;
use std::sync::{Arc, Once, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// How often buckets that have refilled completely (so hold no information) are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Whose bucket a request draws from.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Key {
    User(String),
    Ip(IpAddr),
    /// Requests from this address whose token was refused.
    BadCredentials(IpAddr),
    /// Dashboard requests from this address.
    Dashboard(IpAddr),
}

/// One audience's limit and its buckets.
struct Policy {
    audience: Audience,
    config: RateLimitConfig,
    buckets: Buckets<Key>,
    policy: HeaderValue,
}

type Policies = [Option<Arc<Policy>>; 4];

/// The handle both middlewares and the settings share: clones share the buckets.
#[derive(Clone)]
pub struct RateLimit {
    /// `None` for an unthrottled audience. Requests take a reference and never hold the
    /// lock.
    policies: Arc<RwLock<Policies>>,
    pruning: Arc<Once>,
}

impl Default for RateLimit {
    /// Every audience unthrottled.
    fn default() -> Self {
        RateLimit {
            policies: Arc::default(),
            pruning: Arc::new(Once::new()),
        }
    }
}

impl RateLimit {
    pub fn new(limits: RateLimits) -> Self {
        let limit = RateLimit::default();
        limit.set(limits);
        limit
    }

    /// Applies `limits` from the next request on. An audience whose limit changed starts
    /// with every bucket full; an unchanged one keeps its buckets.
    pub fn set(&self, limits: RateLimits) {
        let mut policies = self
            .policies
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for audience in Audience::ALL {
            let wanted = limits.get(audience);
            let slot = &mut policies[audience as usize];
            let now = slot
                .as_ref()
                .map(|p| p.config)
                .unwrap_or(RateLimitConfig::OFF);
            if !now.same_as(&wanted) {
                *slot = Policy::build(audience, wanted);
            }
        }
    }

    /// The limits in force (`per_second` 0: unthrottled).
    pub fn current(&self) -> RateLimits {
        let mut limits = RateLimits::all(RateLimitConfig::OFF);
        for audience in Audience::ALL {
            if let Some(p) = self.policy(audience) {
                limits.set(audience, p.config);
            }
        }
        limits
    }

    /// The middleware outside the auth middleware (see the module docs); `dashboard`: it
    /// guards `/admin`, else the API.
    pub fn by_address(&self, dashboard: bool) -> ByAddress {
        ByAddress {
            limit: self.clone(),
            dashboard,
        }
    }

    /// The middleware inside the auth middleware, where the caller is known.
    pub fn by_caller(&self) -> ByCaller {
        ByCaller {
            limit: self.clone(),
        }
    }

    fn policy(&self, audience: Audience) -> Option<Arc<Policy>> {
        self.pruning
            .call_once(|| spawn_pruner(Arc::downgrade(&self.policies)));
        self.policies.read().unwrap_or_else(PoisonError::into_inner)[audience as usize].clone()
    }
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RateLimit").field(&self.current()).finish()
    }
}

/// A request that drew its token: the headers its answer carries.
struct Drawn(HeaderMap);

/// A refused request: the headers, the wait, and what to say.
struct Refusal {
    headers: HeaderMap,
    retry_after: u64,
    burst: u32,
    per_second: u32,
    audience: Audience,
}

impl Policy {
    /// `None` when `per_second` is 0 (unthrottled).
    fn build(audience: Audience, config: RateLimitConfig) -> Option<Arc<Policy>> {
        if config.is_off() {
            return None;
        }
        let burst = config.burst.max(1);
        let window = burst.div_ceil(config.per_second);
        let name = audience.as_str();
        let policy = format!("\"{name}\";q={burst};w={window}");
        Some(Arc::new(Policy {
            audience,
            config: RateLimitConfig {
                per_second: config.per_second,
                burst,
            },
            buckets: Buckets::new(config.per_second, burst),
            policy: HeaderValue::from_str(&policy).expect("ASCII"),
        }))
    }

    fn draw(&self, key: &Key) -> Result<Drawn, Refusal> {
        match self.buckets.check(key, Instant::now()) {
            Decision::Allowed {
                remaining,
                until_full,
            } => Ok(Drawn(self.headers(remaining, ceil_secs(until_full)))),
            Decision::Refused {
                retry_after,
                until_full,
            } => {
                let retry_after = ceil_secs(retry_after).max(1);
                Err(Refusal {
                    headers: self.headers(0, ceil_secs(until_full).max(retry_after)),
                    retry_after,
                    burst: self.config.burst,
                    per_second: self.config.per_second,
                    audience: self.audience,
                })
            }
        }
    }

    fn headers(&self, remaining: u32, reset: u64) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(RATELIMIT_POLICY, self.policy.clone());
        let state = format!("\"{}\";r={remaining};t={reset}", self.audience.as_str());
        headers.insert(RATELIMIT, HeaderValue::from_str(&state).expect("ASCII"));
        headers
    }
}

/// An IPv6 host usually owns a whole /64, so that is what one bucket covers.
pub(super) use kernel::caller::client_network as network;

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Drops full buckets now and then; ends once every handle is gone.
fn spawn_pruner(policies: Weak<RwLock<Policies>>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(policies) = policies.upgrade() else {
                break;
            };
            let current: Vec<Arc<Policy>> = policies
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .flatten()
                .cloned()
                .collect();
            drop(policies);
            for policy in current {
                policy.buckets.prune(Instant::now());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32) -> RateLimitConfig {
        RateLimitConfig { per_second, burst }
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a = network("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = network("2001:db8:1:2:bbbb::2".parse().unwrap());
        let c = network("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(network(v4), v4);
        assert_eq!(network("::ffff:203.0.113.7".parse().unwrap()), v4);
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(2)), 2);
        assert_eq!(ceil_secs(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn policies_are_named_after_their_audience() {
        let mut limits = RateLimits::all(limit(100, 200));
        limits.auth = limit(1, 3);
        let rl = RateLimit::new(limits);
        let user = rl.policy(Audience::User).unwrap();
        assert_eq!(user.policy, "\"user\";q=200;w=2");
        let headers = user.headers(150, 1);
        assert_eq!(headers[RATELIMIT], "\"user\";r=150;t=1");
        assert_eq!(
            rl.policy(Audience::Auth).unwrap().policy,
            "\"auth\";q=3;w=3"
        );
        assert_eq!(
            rl.policy(Audience::Anonymous).unwrap().policy,
            "\"anonymous\";q=200;w=2"
        );
    }

    #[test]
    fn a_new_limit_replaces_only_that_audience_and_zero_turns_it_off() {
        let rl = RateLimit::new(RateLimits::all(RateLimitConfig::OFF));
        assert!(Audience::ALL.iter().all(|a| rl.policy(*a).is_none()));
        let shared = rl.clone();
        shared.set(RateLimits::all(limit(5, 10)));
        let user = rl.policy(Audience::User).expect("on, through the clone");
        let admin = rl.policy(Audience::Admin).unwrap();
        // The same limits again keep every policy (and the callers' buckets).
        let mut limits = RateLimits::all(limit(5, 10));
        rl.set(limits);
        assert!(Arc::ptr_eq(&user, &rl.policy(Audience::User).unwrap()));
        limits.admin = limit(5, 20);
        rl.set(limits);
        assert!(!Arc::ptr_eq(&admin, &rl.policy(Audience::Admin).unwrap()));
        assert!(Arc::ptr_eq(&user, &rl.policy(Audience::User).unwrap()));
        limits.admin = limit(0, 20);
        rl.set(limits);
        assert!(rl.policy(Audience::Admin).is_none());
        assert_eq!(rl.current().admin, RateLimitConfig::OFF);
        assert_eq!(rl.current().user, limit(5, 10));
    }
}
