//! The per-request middleware: a `request` span carrying the request id around
//! everything logged while serving, then exactly one access-log event (target
//! `hearth::access`), one metrics update and one stats update per request.
//!
//! What the access log holds: method, route template, collection, status, latency,
//! response bytes, request id, user id, client IP. Never headers, bodies, the query
//! string or the raw path (ids and tokens live there).

use crate::metrics::method_label;
use crate::routes::unmatched;
use crate::Observability;
use bytes::Bytes;
use kernel::{RequestId, RouteTemplate};
use poem::http::header;
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tracing::Instrument;

/// The access log's target, for filters such as `HEARTH_LOG=info,hearth::access=warn`.
pub const TARGET: &str = "hearth::access";

/// The target of the `request` span (this module's path): the only span the log
/// output formats, and one the trace layer leaves out.
pub const REQUEST_SPAN_TARGET: &str = module_path!();

/// The route of CORS preflights, which the CORS layer answers before any route.
pub const PREFLIGHT: &str = "preflight";

/// Where the authenticated caller's user id is noted for the access log: put in the
/// request by [`ObserveRequests`], filled by [`NoteCaller`] behind the authentication
/// middleware (the principal lives in a request the outer layers no longer see).
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<OnceLock<String>>);

/// Logs, counts and times every request. Sits inside the request-id and client-address
/// layers (it reads both) and outside everything else, so it sees the final status.
/// `None` makes it a pass-through (stack tests without an application).
pub struct ObserveRequests(pub Option<Observability>);

impl<E: Endpoint> Middleware<E> for ObserveRequests {
    type Output = ObserveEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ObserveEndpoint {
            inner: ep,
            observability: self.0.clone(),
        }
    }
}

pub struct ObserveEndpoint<E> {
    inner: E,
    observability: Option<Observability>,
}

impl<E: Endpoint> Endpoint for ObserveEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let Some(observability) = &self.observability else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        let started = Instant::now();
        let method = method_label(req.method());
        let request_id = req.extensions().get::<RequestId>().cloned();
        let client_ip = kernel::caller::client_ip(&req);
        // Answered by the CORS layer before any route: labelled `preflight`.
        let preflight = req.method() == poem::http::Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        let caller = CallerSlot::default();
        req.extensions_mut().insert(caller.clone());
        // ERROR level so the span exists whatever the filter lets through: every event
        // logged while serving this request carries its id. Its target (this module's
        // path) is what the trace layer leaves out of traces (trace/pipeline.rs).
        let span = tracing::error_span!(
            "request",
            request_id = request_id.as_ref().map(|r| r.as_str()).unwrap_or_default()
        );
        let in_flight = observability.metrics().request_started();
        let mut resp = match self.inner.call(req).instrument(span).await {
            Ok(resp) => resp.into_response(),
            Err(err) => err.into_response(),
        };
        drop(in_flight);
        let took = started.elapsed();
        let route = match resp.extensions().get::<RouteTemplate>() {
            Some(route) => route.clone(),
            None => {
                let route = if preflight {
                    RouteTemplate {
                        template: PREFLIGHT.into(),
                        collection: None,
                    }
                } else {
                    unmatched()
                };
                resp.set_data(route.clone());
                route
            }
        };
        let status = resp.status().as_u16();
        let bytes = body_size(&mut resp);
        observability
            .metrics()
            .request_finished(method, &route, status, took);
        observability.stats().record(&route.template, status, took);
        // Display (`%`) so the text format prints values unquoted; JSON has strings anyway.
        use tracing::field::display as shown;
        tracing::info!(
            target: TARGET,
            method = %method,
            route = %route.template,
            collection = route.collection.as_deref().map(shown),
            status,
            latency_ms = (took.as_secs_f64() * 1e6).round() / 1e3,
            bytes,
            request_id = request_id.as_ref().map(|r| shown(r.as_str())),
            user_id = caller.0.get().map(shown),
            client_ip = client_ip.map(shown),
            "request"
        );
        Ok(resp)
    }
}

/// The response body's length when it is known before sending (a buffered body, or a
/// `Content-Length` header); `None` for streams.
fn body_size(resp: &mut Response) -> Option<u64> {
    if let Some(len) = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
    {
        return Some(len);
    }
    let body: http_body_util::combinators::BoxBody<Bytes, std::io::Error> = resp.take_body().into();
    let size = http_body::Body::size_hint(&body).exact();
    resp.set_body(Body::from(body));
    size
}

/// Notes the authenticated caller for the access log. Put it right inside the
/// authentication middleware.
pub struct NoteCaller;

impl<E: Endpoint> Middleware<E> for NoteCaller {
    type Output = NoteCallerEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        NoteCallerEndpoint(ep)
    }
}

pub struct NoteCallerEndpoint<E>(E);

impl<E: Endpoint> Endpoint for NoteCallerEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        if let (Some(slot), Some(principal)) = (
            req.extensions().get::<CallerSlot>(),
            kernel::caller::caller(&req),
        ) {
            let _ = slot.0.set(principal.user_id.clone());
        }
        self.0.call(req).await
    }
}
