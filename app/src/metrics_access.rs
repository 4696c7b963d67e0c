//! Who may read `/metrics` (README "Metrics access"). Metrics name the collections, their
//! record counts and every route's traffic, admin-only collections included, so they are
//! not public:
//!
//! - on the main listener, a request needs `Authorization: Bearer <metrics_token>` or the
//!   bearer token of a caller acting as admin; anything else is 401 (403 for a valid
//!   token of someone else);
//! - on the separate `metrics_bind` listener (reachable only where the operator binds
//!   it), the `metrics_token` when one is configured, else nothing.

use crate::config::Secret;
use auth::AuthService;
use kernel::{Problem, ProblemCode};
use poem::http::header;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// Where the guarded `/metrics` is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    Main,
    /// The `metrics_bind` listener, which serves nothing but `/metrics`.
    Metrics,
}

#[derive(Clone)]
pub struct MetricsAccess {
    auth: AuthService,
    token: Option<Secret>,
    listener: Listener,
}

impl MetricsAccess {
    pub fn new(auth: AuthService, token: Option<Secret>, listener: Listener) -> Self {
        MetricsAccess {
            auth,
            token,
            listener,
        }
    }
}

/// Equal-length comparison whose time does not depend on where the strings differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer token of the request, if it has one.
fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

impl MetricsAccess {
    async fn check(&self, req: &Request) -> Result<(), Problem> {
        let given = bearer(req);
        if let (Some(token), Some(given)) = (&self.token, given) {
            if same(given.as_bytes(), token.0.as_bytes()) {
                return Ok(());
            }
        }
        if self.listener == Listener::Metrics && self.token.is_none() {
            return Ok(());
        }
        let needs = match self.listener {
            Listener::Main => {
                "/metrics needs Authorization: Bearer <metrics token or an admin's token>"
            }
            Listener::Metrics => "/metrics needs Authorization: Bearer <metrics token>",
        };
        let Some(given) = given.filter(|_| self.listener == Listener::Main) else {
            return Err(Problem::unauthenticated(needs));
        };
        match self.auth.authenticate(given).await {
            Ok(principal) if principal.acts_as_admin() => Ok(()),
            Ok(_) => Err(Problem::new(ProblemCode::Forbidden)
                .with_detail("/metrics is for admins and the metrics token only")),
            Err(_) => Err(Problem::unauthenticated(needs)),
        }
    }
}

impl<E: Endpoint> Middleware<E> for MetricsAccess {
    type Output = MetricsAccessEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        MetricsAccessEndpoint {
            inner: ep,
            access: self.clone(),
        }
    }
}

pub struct MetricsAccessEndpoint<E> {
    inner: E,
    access: MetricsAccess,
}

impl<E: Endpoint> Endpoint for MetricsAccessEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        self.access.check(&req).await?;
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_compared_exactly() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
        let req = |v: &str| Request::builder().header(header::AUTHORIZATION, v).finish();
        assert_eq!(bearer(&req("Bearer s3cret")), Some("s3cret"));
        assert_eq!(bearer(&req("bearer  s3cret ")), Some("s3cret"));
        assert_eq!(bearer(&req("Basic s3cret")), None);
        assert_eq!(bearer(&Request::builder().finish()), None);
    }
}
