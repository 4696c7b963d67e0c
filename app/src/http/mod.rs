//! The HTTP layer every request passes through, outermost first:
//! request id → security headers → problem rendering (and panic catching) → body limit.

mod body_limit;
mod problems;
mod request_id;
mod security_headers;

pub use body_limit::BodyLimit;
pub use problems::{problem_for, Problems};
pub use request_id::RequestIds;
pub use security_headers::SecurityHeaders;

use poem::{Endpoint, EndpointExt, IntoEndpoint, Response};

/// Wraps any endpoint in the full stack. Both the application and the tests use this,
/// so tests of the stack exercise exactly what production runs.
pub fn stack<E>(ep: E, body_limit: usize) -> impl Endpoint<Output = Response>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    ep.into_endpoint()
        .with(BodyLimit::new(body_limit))
        .with(Problems)
        .with(SecurityHeaders)
        .with(RequestIds)
}
