//! How handlers learn who is calling. The auth module's middleware puts a verified
//! [`Principal`] into the request; handlers declare what they need by type:
//! [`BearerAuth`] (any authenticated caller, and documented as bearer security in the
//! OpenAPI document) or [`AdminPrincipal`] (which only the admin check can construct),
//! and [`AdminWriter`] for admin changes (which also needs the `write` scope).

use crate::{Principal, Problem, ProblemCode, Scope};
use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

/// Requires `Authorization: Bearer <token>`; the handler receives the caller.
#[derive(SecurityScheme)]
#[oai(
    rename = "bearer",
    ty = "bearer",
    bearer_format = "opaque (hth_…)",
    checker = "verified_principal"
)]
pub struct BearerAuth(pub Principal);

async fn verified_principal(req: &Request, _bearer: Bearer) -> poem::Result<Principal> {
    // The auth middleware has already answered 401 for a bad token; no principal here
    // means the route was not behind it, which is a wiring mistake worth a clear 401.
    caller(req).cloned().ok_or_else(|| {
        Problem::unauthenticated("the bearer token is invalid, expired or revoked").into()
    })
}

/// The verified caller of this request, if it presented a valid token.
pub fn caller(req: &Request) -> Option<&Principal> {
    req.extensions().get::<Principal>()
}

/// A caller proven to act as an admin (admin user with a token carrying the admin scope).
#[derive(Clone, Debug)]
pub struct AdminPrincipal(Principal);

impl AdminPrincipal {
    /// The only way to get one: 403 `forbidden` for everyone else.
    pub fn check(principal: Principal) -> Result<AdminPrincipal, Problem> {
        if principal.acts_as_admin() {
            Ok(AdminPrincipal(principal))
        } else {
            Err(Problem::new(ProblemCode::Forbidden).with_detail("this API is for admins only"))
        }
    }

    pub fn principal(&self) -> &Principal {
        &self.0
    }
}

/// An admin allowed to change things: the admin check plus the `write` scope, so a
/// `["read", "admin"]` token can look at admin APIs but change nothing. Every service
/// function that changes collections, users or settings takes one, so an admin write
/// cannot be wired without this check. It dereferences to the [`AdminPrincipal`] the
/// read-only functions take.
#[derive(Clone, Debug)]
pub struct AdminWriter(AdminPrincipal);

impl AdminWriter {
    /// 403 `forbidden` for non-admins (as [`AdminPrincipal::check`]) and for admin tokens
    /// without the `write` scope.
    pub fn check(principal: Principal) -> Result<AdminWriter, Problem> {
        let admin = AdminPrincipal::check(principal)?;
        if admin.0.has_scope(Scope::Write) {
            Ok(AdminWriter(admin))
        } else {
            Err(Problem::new(ProblemCode::Forbidden).with_detail(
                "the token lacks the `write` scope: admin changes need both `admin` and `write`",
            ))
        }
    }

    pub fn principal(&self) -> &Principal {
        &self.0 .0
    }
}

impl std::ops::Deref for AdminWriter {
    type Target = AdminPrincipal;

    fn deref(&self) -> &AdminPrincipal {
        &self.0
    }
}

/// The client's address as the server believes it: the peer address, or the
/// `X-Forwarded-For` entry added by a trusted proxy. Set by the HTTP layer on every
/// request; used for rate limits, login throttling and the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

/// The client reached the server over HTTPS: the server's own TLS, or a trusted proxy's
/// (its `X-Forwarded-Proto: https`). Set by the HTTP layer; absent means plain HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecureTransport;

/// Whether the request came over HTTPS, as the HTTP layer determined.
pub fn is_https(req: &Request) -> bool {
    req.extensions().get::<SecureTransport>().is_some()
}

/// The request's client address, if the HTTP layer determined one.
pub fn client_ip(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions().get::<ClientIp>().map(|c| c.0)
}

/// The network one client is counted by: an IPv4 address itself, an IPv6 address by its
/// /64, which one host usually owns whole (so rotating addresses inside it gains
/// nothing). Rate limits, idempotency scopes and per-caller caps key on this.
pub fn client_network(ip: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::{IpAddr, Ipv6Addr};
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64))),
        v4 => v4,
    }
}

/// The route a response came from as a template (`/api/v1/{collection}/{id}`), never
/// the raw path, plus the collection when there is one. Set in the *response*
/// extensions by whoever routed the request; read by logging and metrics, whose label
/// sets must stay bounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTemplate {
    pub template: std::borrow::Cow<'static, str>,
    pub collection: Option<String>,
}

/// Database time a request used, beyond the ordinary: set in the *response* extensions
/// by a handler whose queries ran long (a list with a costly filter). The rate limiter
/// charges the caller extra tokens for it, so slow queries cost more than fast ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryCost(pub std::time::Duration);
