//! Verifies the bearer token of every API request once, before any handler runs.
//! No `Authorization` header: the request goes on anonymous. A header that is not a
//! valid, live token: 401 at once, whatever the route (a bad token is never silently
//! treated as anonymous). Login is exempt: a stale token must not block logging in.

use crate::service::AuthService;
use kernel::Problem;
use poem::http::header;
use poem::{Endpoint, Middleware, Request, Result};
use tracing::Instrument;

/// Paths that ignore any `Authorization` header: a stale token must not stop anyone
/// from logging in, refreshing, signing up or finishing setup.
const EXEMPT: &[&str] = &[
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/register",
    "/api/v1/auth/setup",
];

pub struct Authenticate {
    service: AuthService,
}

impl Authenticate {
    pub fn new(service: AuthService) -> Self {
        Authenticate { service }
    }
}

impl<E: Endpoint> Middleware<E> for Authenticate {
    type Output = AuthenticateEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        AuthenticateEndpoint {
            inner: ep,
            service: self.service.clone(),
        }
    }
}

pub struct AuthenticateEndpoint<E> {
    inner: E,
    service: AuthService,
}

impl<E: Endpoint> Endpoint for AuthenticateEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        // Routes are nested, so the full path is the original URI's.
        if EXEMPT.contains(&req.original_uri().path()) {
            return self.inner.call(req).await;
        }
        let Some(value) = req.headers().get(header::AUTHORIZATION) else {
            return self.inner.call(req).await;
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
            .ok_or_else(|| Problem::unauthenticated("use Authorization: Bearer <token>"))?;
        // A span of its own, so a trace shows what token checks cost (and their SQL).
        let span = tracing::info_span!("auth.verify_token", auth.outcome = tracing::field::Empty);
        let verified = self
            .service
            .authenticate(&token)
            .instrument(span.clone())
            .await;
        span.record(
            "auth.outcome",
            if verified.is_ok() { "ok" } else { "rejected" },
        );
        let principal = verified.map_err(Problem::from)?;
        req.extensions_mut().insert(principal);
        self.inner.call(req).await
    }
}
