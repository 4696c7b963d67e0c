//! Rate limiting for the API (API.md section 5): one token bucket (GCRA, governor) per
//! caller: the user when the request carries a valid token, else the client address
//! (IPv6 clients by their /64, which one host usually owns whole). It sits inside the
//! auth middleware, which is how it knows the user.
//!
//! Every answer carries the IETF httpapi draft fields as structured-field lists:
//! `RateLimit-Policy: "default";q=<burst>;w=<secs>` (a full bucket, and the time it takes
//! to refill, so q/w is the sustained rate) and `RateLimit: "default";r=<remaining>;t=<secs
//! until the bucket is full again>`. A refused request gets 429 `rate_limited` with
//! `Retry-After` (whole seconds, at least 1) as well.
//!
//! The limit comes from the configuration, or from the database once an admin sets it
//! (`/admin/settings`): [`RateLimit::set`] builds a new limiter that the next request
//! uses. The buckets do not carry over: after a change every caller starts full.

use super::ErrorHeaders;
use crate::config::RateLimitConfig;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use kernel::{Problem, ProblemCode};
use poem::http::{HeaderMap, HeaderName, HeaderValue};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Once, PoisonError, RwLock, Weak};
use std::time::Duration;

pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// How often buckets that have refilled completely (so hold no information) are dropped,
/// keeping memory bounded by the callers seen recently rather than ever.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Whose bucket a request draws from.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Key {
    User(String),
    Ip(IpAddr),
}

type Limiter =
    RateLimiter<Key, DefaultKeyedStateStore<Key>, DefaultClock, StateInformationMiddleware>;

struct Limits {
    limiter: Limiter,
    per_second: u32,
    burst: u32,
    /// The time one request's worth of quota takes to come back.
    replenish: Duration,
    policy: HeaderValue,
    pruning: Once,
}

/// The middleware, and the handle that changes the limit while the server runs: clones
/// share one limiter. With `per_second` 0 it lets everything through untouched.
#[derive(Clone, Default)]
pub struct RateLimit {
    /// `None`: off. Requests take a reference and never hold the lock.
    limits: Arc<RwLock<Option<Arc<Limits>>>>,
}

impl RateLimit {
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimit {
            limits: Arc::new(RwLock::new(Limits::build(config))),
        }
    }

    /// Applies `config` from the next request on. A new limiter starts with every bucket
    /// full; an unchanged limit keeps the current one (and its buckets).
    pub fn set(&self, config: RateLimitConfig) {
        let wanted = (config.per_second > 0).then(|| RateLimitConfig {
            per_second: config.per_second,
            burst: config.burst.max(1),
        });
        let mut limits = self.limits.write().unwrap_or_else(PoisonError::into_inner);
        if limits.as_ref().map(|l| l.config()) != wanted {
            *limits = Limits::build(config);
        }
    }

    /// The limit in force (`per_second` 0: off).
    pub fn current(&self) -> RateLimitConfig {
        self.limits()
            .map(|l| l.config())
            .unwrap_or(RateLimitConfig::OFF)
    }

    fn limits(&self) -> Option<Arc<Limits>> {
        self.limits
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RateLimit").field(&self.current()).finish()
    }
}

impl<E: Endpoint> Middleware<E> for RateLimit {
    type Output = RateLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RateLimitEndpoint {
            inner: ep,
            limit: self.clone(),
        }
    }
}

pub struct RateLimitEndpoint<E> {
    inner: E,
    limit: RateLimit,
}

impl<E: Endpoint> Endpoint for RateLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let Some(limits) = self.limit.limits() else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        limits
            .pruning
            .call_once(|| spawn_pruner(Arc::downgrade(&limits)));
        match limits.limiter.check_key(&key(&req)) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                let used = limits.replenish * (limits.burst.saturating_sub(remaining));
                let headers = limits.headers(remaining, ceil_secs(used));
                match self.inner.call(req).await {
                    Ok(resp) => {
                        let mut resp = resp.into_response();
                        resp.headers_mut().extend(headers);
                        Ok(resp)
                    }
                    Err(mut err) => {
                        err.set_data(ErrorHeaders(headers));
                        Err(err)
                    }
                }
            }
            Err(refused) => {
                let wait = refused.wait_time_from(limits.limiter.clock().now());
                let retry_after = ceil_secs(wait).max(1);
                let until_full = wait + limits.replenish * (limits.burst - 1);
                let headers = limits.headers(0, ceil_secs(until_full).max(retry_after));
                let mut err: poem::Error = Problem::new(ProblemCode::RateLimited)
                    .with_detail(format!(
                        "too many requests; retry in {retry_after} s (at most {} requests \
                         at once, then {} a second)",
                        limits.burst, limits.per_second
                    ))
                    .with_retry_after(retry_after)
                    .into();
                err.set_data(ErrorHeaders(headers));
                Err(err)
            }
        }
    }
}

impl Limits {
    /// `None` when `per_second` is 0 (off).
    fn build(config: RateLimitConfig) -> Option<Arc<Limits>> {
        let per_second = NonZeroU32::new(config.per_second)?;
        let burst = NonZeroU32::new(config.burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(per_second).allow_burst(burst);
        let window = burst.get().div_ceil(per_second.get());
        let policy = format!("\"default\";q={burst};w={window}");
        Some(Arc::new(Limits {
            limiter: RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>(),
            per_second: per_second.get(),
            burst: burst.get(),
            replenish: quota.replenish_interval(),
            policy: HeaderValue::from_str(&policy).expect("ASCII"),
            pruning: Once::new(),
        }))
    }

    fn config(&self) -> RateLimitConfig {
        RateLimitConfig {
            per_second: self.per_second,
            burst: self.burst,
        }
    }

    fn headers(&self, remaining: u32, reset: u64) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(RATELIMIT_POLICY, self.policy.clone());
        let state = format!("\"default\";r={remaining};t={reset}");
        headers.insert(RATELIMIT, HeaderValue::from_str(&state).expect("ASCII"));
        headers
    }
}

/// The caller's bucket: the verified user, else the client's address.
fn key(req: &Request) -> Key {
    if let Some(principal) = kernel::caller::caller(req) {
        return Key::User(principal.user_id.clone());
    }
    let ip = kernel::caller::client_ip(req).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    Key::Ip(network(ip))
}

/// An IPv6 host usually owns a whole /64, so that is what one bucket covers.
fn network(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64))),
        v4 => v4,
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Drops full buckets now and then; ends once the server (holding the limiter) is gone.
fn spawn_pruner(limits: Weak<Limits>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(limits) = limits.upgrade() else {
                break;
            };
            limits.limiter.retain_recent();
            limits.limiter.shrink_to_fit();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn policy_states_burst_and_refill_window() {
        let limit = RateLimit::new(RateLimitConfig {
            per_second: 100,
            burst: 200,
        });
        let limits = limit.limits().unwrap();
        assert_eq!(limits.policy, "\"default\";q=200;w=2");
        let headers = limits.headers(150, 1);
        assert_eq!(headers[RATELIMIT], "\"default\";r=150;t=1");
        let limit = RateLimit::new(RateLimitConfig {
            per_second: 1,
            burst: 3,
        });
        assert_eq!(limit.limits().unwrap().policy, "\"default\";q=3;w=3");
    }

    #[test]
    fn a_new_limit_replaces_the_limiter_and_zero_turns_it_off() {
        let limit = RateLimit::new(RateLimitConfig::OFF);
        assert!(limit.limits().is_none());
        let shared = limit.clone();
        shared.set(RateLimitConfig {
            per_second: 5,
            burst: 10,
        });
        let first = limit.limits().expect("on, through the clone");
        assert_eq!(first.policy, "\"default\";q=10;w=2");
        // The same limit again keeps the limiter (and the callers' buckets).
        limit.set(RateLimitConfig {
            per_second: 5,
            burst: 10,
        });
        assert!(Arc::ptr_eq(&first, &limit.limits().unwrap()));
        limit.set(RateLimitConfig {
            per_second: 5,
            burst: 20,
        });
        assert!(!Arc::ptr_eq(&first, &limit.limits().unwrap()));
        limit.set(RateLimitConfig {
            per_second: 0,
            burst: 20,
        });
        assert!(limit.limits().is_none());
        assert_eq!(limit.current(), RateLimitConfig::OFF);
    }
}
