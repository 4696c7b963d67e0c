//! The two limiter middlewares (see the module docs of `rate_limit`).

use super::{cost, network, Drawn, Key, Policy, RateLimit, Refusal};
use crate::http::ErrorHeaders;
use auth::Audience;
use kernel::{Problem, ProblemCode, QueryCost};
use poem::http::{header, HeaderMap, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

/// API paths that take a password or mint a session: limited per client address with
/// the stricter `auth` limit, whoever calls.
const AUTH_PATHS: &[&str] = &[
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/register",
    "/api/v1/auth/setup",
];
/// Every path under these is an auth endpoint too (password reset, one-time codes, the
/// second step of a sign-in).
const AUTH_PREFIXES: &[&str] = &[
    "/api/v1/auth/password-reset/",
    "/api/v1/auth/otp/",
    "/api/v1/auth/mfa/verify",
];
/// The dashboard's forms that take a password (only their POSTs).
const DASHBOARD_AUTH_PATHS: &[&str] = &["/admin/login", "/admin/setup"];

/// Put on requests [`ByAddress`] already charged, so [`ByCaller`] does not charge again.
#[derive(Clone, Copy)]
struct Charged;

fn is_auth_endpoint(req: &Request) -> bool {
    let path = req.original_uri().path();
    AUTH_PATHS.contains(&path)
        || AUTH_PREFIXES.iter().any(|p| path.starts_with(p))
        || (req.method() == Method::POST && DASHBOARD_AUTH_PATHS.contains(&path))
}

/// The client address's network (what per-address buckets are keyed by).
fn address(req: &Request) -> IpAddr {
    network(kernel::caller::client_ip(req).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
}

fn refused(refusal: Refusal) -> poem::Error {
    let mut err: poem::Error = Problem::new(ProblemCode::RateLimited)
        .with_detail(format!(
            "too many requests; retry in {} s (the {} limit: at most {} requests at once, \
             then {} a second)",
            refusal.retry_after,
            refusal.audience.as_str(),
            refusal.burst,
            refusal.per_second
        ))
        .with_retry_after(refusal.retry_after)
        .into();
    err.set_data(ErrorHeaders(refusal.headers));
    err
}

/// Adds the limiter's headers to an answer, success or problem.
fn with_headers(answer: Result<Response>, headers: HeaderMap) -> Result<Response> {
    match answer {
        Ok(mut resp) => {
            resp.headers_mut().extend(headers);
            Ok(resp)
        }
        Err(mut err) => {
            let mut all = err
                .data::<ErrorHeaders>()
                .map(|h| h.0.clone())
                .unwrap_or_default();
            all.extend(headers);
            err.set_data(ErrorHeaders(all));
            Err(err)
        }
    }
}

/// The database time an answer reports, if it ran long.
fn query_cost(answer: &Result<Response>) -> Option<QueryCost> {
    match answer {
        Ok(resp) => resp.data::<QueryCost>().copied(),
        Err(err) => err.data::<QueryCost>().copied(),
    }
}

fn status(answer: &Result<Response>) -> StatusCode {
    match answer {
        Ok(resp) => resp.status(),
        Err(err) => err.status(),
    }
}

/// Draws from `policy` for `key`, serves the request if there was a token, and charges
/// the extra cost a slow answer reports.
async fn limited<E: Endpoint>(
    inner: &E,
    req: Request,
    policy: Option<Arc<Policy>>,
    key: Key,
) -> Result<Response> {
    let Some(policy) = policy else {
        return inner.call(req).await.map(IntoResponse::into_response);
    };
    let Drawn(headers) = policy.draw(&key).map_err(refused)?;
    let answer = inner.call(req).await.map(IntoResponse::into_response);
    if let Some(QueryCost(took)) = query_cost(&answer) {
        let extra = cost::extra_tokens(took, policy.config.burst);
        policy.buckets.charge(&key, extra, Instant::now());
    }
    with_headers(answer, headers)
}

/// Outside the auth middleware: the auth endpoints, the dashboard, and addresses that
/// send bad tokens.
pub struct ByAddress {
    pub(super) limit: RateLimit,
    pub(super) dashboard: bool,
}

impl<E: Endpoint> Middleware<E> for ByAddress {
    type Output = ByAddressEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ByAddressEndpoint {
            inner: ep,
            limit: self.limit.clone(),
            dashboard: self.dashboard,
        }
    }
}

pub struct ByAddressEndpoint<E> {
    inner: E,
    limit: RateLimit,
    dashboard: bool,
}

impl<E: Endpoint> Endpoint for ByAddressEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let ip = address(&req);
        if is_auth_endpoint(&req) {
            req.extensions_mut().insert(Charged);
            let policy = self.limit.policy(Audience::Auth);
            return limited(&self.inner, req, policy, Key::Ip(ip)).await;
        }
        if self.dashboard {
            // Before the session is looked up, so random cookies cost no database work
            // beyond the limit.
            let policy = self.limit.policy(Audience::Anonymous);
            return limited(&self.inner, req, policy, Key::Dashboard(ip)).await;
        }
        let Some(policy) = self
            .limit
            .policy(Audience::Anonymous)
            .filter(|_| req.headers().contains_key(header::AUTHORIZATION))
        else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        // Requests with a token draw from their address's bad-token bucket only when the
        // token is refused, and are refused unchecked once it is empty; valid tokens
        // behind the same address are not held back until then.
        let key = Key::BadCredentials(ip);
        if policy.buckets.is_empty(&key, Instant::now()) {
            if let Err(refusal) = policy.draw(&key) {
                return Err(refused(refusal));
            }
        }
        let answer = self.inner.call(req).await.map(IntoResponse::into_response);
        if status(&answer) == StatusCode::UNAUTHORIZED {
            if let Ok(Drawn(headers)) = policy.draw(&key) {
                return with_headers(answer, headers);
            }
        }
        answer
    }
}

/// Inside the auth middleware: each caller by its audience.
pub struct ByCaller {
    pub(super) limit: RateLimit,
}

impl<E: Endpoint> Middleware<E> for ByCaller {
    type Output = ByCallerEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ByCallerEndpoint {
            inner: ep,
            limit: self.limit.clone(),
        }
    }
}

pub struct ByCallerEndpoint<E> {
    inner: E,
    limit: RateLimit,
}

impl<E: Endpoint> Endpoint for ByCallerEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        if req.extensions().get::<Charged>().is_some() {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let (audience, key) = match kernel::caller::caller(&req) {
            Some(p) if p.acts_as_admin() => (Audience::Admin, Key::User(p.user_id.clone())),
            Some(p) => (Audience::User, Key::User(p.user_id.clone())),
            None => (Audience::Anonymous, Key::Ip(address(&req))),
        };
        let policy = self.limit.policy(audience);
        limited(&self.inner, req, policy, key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RateLimitConfig, RateLimits};
    use poem::endpoint::make_sync;
    use poem::EndpointExt;
    use std::time::Duration;

    fn request(ip: &str, path: &str) -> Request {
        let mut req = Request::builder().uri_str(path).finish();
        req.extensions_mut()
            .insert(kernel::ClientIp(ip.parse().unwrap()));
        req
    }

    fn remaining(resp: &Response) -> String {
        resp.headers()[super::super::RATELIMIT]
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn a_slow_answer_costs_its_caller_extra_tokens_on_the_next_request() {
        let limit = RateLimit::new(RateLimits::all(RateLimitConfig {
            per_second: 1,
            burst: 10,
        }));
        // 125 ms of database time: 4 tokens beyond the one the request drew.
        let ep = make_sync(|req: Request| {
            let mut resp = Response::builder().body("listed");
            if req.uri().path() == "/slow" {
                resp.set_data(QueryCost(Duration::from_millis(125)));
            }
            resp
        })
        .with(limit.by_caller());
        let slow = ep.call(request("192.0.2.1", "/slow")).await.unwrap();
        assert_eq!(remaining(&slow), "\"anonymous\";r=9;t=1");
        let next = ep.call(request("192.0.2.1", "/fast")).await.unwrap();
        assert!(
            remaining(&next).starts_with("\"anonymous\";r=4;"),
            "{}",
            remaining(&next)
        );
        // Another address is not charged.
        let other = ep.call(request("192.0.2.2", "/fast")).await.unwrap();
        assert!(remaining(&other).starts_with("\"anonymous\";r=9;"));
    }

    #[tokio::test]
    async fn a_cost_beyond_what_is_left_puts_the_bucket_in_debt() {
        let limit = RateLimit::new(RateLimits::all(RateLimitConfig {
            per_second: 1,
            burst: 3,
        }));
        let ep = make_sync(|_: Request| {
            let mut resp = Response::builder().body("listed");
            resp.set_data(QueryCost(Duration::from_secs(5)));
            resp
        })
        .with(limit.by_caller());
        ep.call(request("192.0.2.1", "/slow")).await.unwrap();
        let err = ep.call(request("192.0.2.1", "/slow")).await.unwrap_err();
        assert_eq!(err.status(), StatusCode::TOO_MANY_REQUESTS);
        let headers = &err.data::<ErrorHeaders>().unwrap().0;
        assert_eq!(
            headers[super::super::RATELIMIT_POLICY],
            "\"anonymous\";q=3;w=3"
        );
    }
}
