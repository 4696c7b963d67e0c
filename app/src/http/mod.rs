//! The HTTP layer every request passes through, outermost first:
//! request id → client address → request span (traces) → access log, metrics and stats
//! → security headers → CORS → problem rendering (and panic catching) → body limit. Rate
//! limiting is not here: it needs to know the caller, so it wraps the API inside the auth
//! middleware (see `routes`).

mod allow;
mod body_limit;
mod client_ip;
mod cors;
mod problems;
mod rate_limit;
mod request_id;
mod security_headers;
mod tus_resumable;

pub use allow::AllowTable;
pub use body_limit::BodyLimit;
pub use client_ip::{client_ip, ClientIps};
pub use cors::Cors;
pub use problems::{problem_for, ErrorHeaders, Problems};
pub use rate_limit::RateLimit;
pub use request_id::RequestIds;
pub use security_headers::SecurityHeaders;
pub use tus_resumable::TusResumable;

use crate::config::{Cidr, Config};
use poem::{Endpoint, EndpointExt, IntoEndpoint, Response};

/// What the stack needs from the configuration.
#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    pub body_limit: usize,
    /// How long a request body may take to arrive; `None` (stack tests) waits forever.
    pub body_read_timeout: Option<std::time::Duration>,
    /// The server speaks TLS itself, so every response carries `Strict-Transport-Security`.
    pub https: bool,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<Cidr>,
    /// CORS, changeable while the server runs (its origins); without origins (the
    /// default) no CORS headers at all.
    pub cors: Cors,
    /// Traces are exported: every request gets an OpenTelemetry SERVER span.
    pub traces: bool,
    /// Access log, metrics and dashboard stats for every request; `None` in stack tests
    /// that have no application around them. Set by `routes::build`.
    pub observe: Option<observability::Observability>,
    /// The methods of every route, for the `Allow` header of a 405; set by `routes::build`.
    pub allow: std::sync::Arc<AllowTable>,
    /// List requests one caller may have running at once (`max_concurrent_lists`; 0: no cap).
    pub max_concurrent_lists: usize,
}

impl HttpOptions {
    pub fn from_config(config: &Config, https: bool) -> HttpOptions {
        HttpOptions {
            body_limit: config.body_limit,
            max_concurrent_lists: config.max_concurrent_lists,
            body_read_timeout: Some(config.body_read_timeout),
            https,
            trusted_proxies: config.security.trusted_proxies.clone(),
            cors: Cors::new(&config.security.cors),
            traces: config.otel.enabled(),
            observe: None,
            allow: Default::default(),
        }
    }
}

/// Wraps any endpoint in the full stack. Both the application and the tests use this,
/// so tests of the stack exercise exactly what production runs.
pub fn stack<E>(ep: E, options: &HttpOptions) -> impl Endpoint<Output = Response>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    ep.into_endpoint()
        .with(BodyLimit::new(
            options.body_limit,
            options.body_read_timeout,
        ))
        .with(Problems::new(options.allow.clone()))
        .with(options.cors.clone())
        .with(SecurityHeaders::new(options.https))
        // The access log, metrics and stats: inside the request span (so the access log
        // event carries the trace), outside everything that can change the status.
        .with(observability::ObserveRequests(options.observe.clone()))
        // Inside ClientIps and RequestIds, whose results it records; outside the rest,
        // so its status is the one the client gets.
        .with(observability::trace::RequestSpans::new(options.traces))
        .with(ClientIps::new(options.trusted_proxies.clone()))
        .with(RequestIds)
}
