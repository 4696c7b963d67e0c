//! The request span: one SERVER span per request, named and described by the
//! OpenTelemetry HTTP server conventions, continuing the caller's trace when the request
//! carries W3C `traceparent`/`tracestate`. Everything the request does (auth, validation,
//! SQL) runs inside it, so those spans become its children.
//!
//! Off (a plain pass-through) when traces are off, so logs keep their shape and no span
//! is created per request.

use kernel::{ClientIp, RequestId, RouteTemplate};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use poem::http::uri::Authority;
use poem::http::{header, HeaderMap};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::field::Empty;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub struct RequestSpans {
    enabled: bool,
}

impl RequestSpans {
    /// `enabled`: traces are exported (`OtelConfig::enabled`).
    pub fn new(enabled: bool) -> Self {
        RequestSpans { enabled }
    }
}

impl<E: Endpoint> Middleware<E> for RequestSpans {
    type Output = RequestSpanEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestSpanEndpoint {
            inner: ep,
            enabled: self.enabled,
        }
    }
}

pub struct RequestSpanEndpoint<E> {
    inner: E,
    enabled: bool,
}

impl<E: Endpoint> Endpoint for RequestSpanEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        if !self.enabled {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let span = request_span(&req);
        let parent = TraceContextPropagator::new().extract(&Headers(req.headers()));
        // Fails only when no OpenTelemetry layer is installed; the span is then a plain
        // `tracing` span and nothing is exported anyway.
        let _ = span.set_parent(parent);
        let method = req.method().clone();
        let path = req.original_uri().path().to_string();
        let result = self
            .inner
            .call(req)
            .instrument(span.clone())
            .await
            .map(IntoResponse::into_response);
        let (status, route) = match &result {
            Ok(resp) => {
                let route = resp.extensions().get::<RouteTemplate>();
                (resp.status(), route.map(|r| r.template.to_string()))
            }
            Err(err) => (err.status(), None),
        };
        let route = route.unwrap_or(path);
        span.record("otel.name", format!("{method} {route}"));
        span.record("http.route", route);
        // tracing-opentelemetry keeps i64 as an integer (u64 would become a string).
        span.record("http.response.status_code", i64::from(status.as_u16()));
        // Server spans are errors on 5xx only; a 4xx is the client's mistake.
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", status.as_str());
        }
        result
    }
}

fn request_span(req: &Request) -> tracing::Span {
    let headers = req.headers();
    let method = req.method().as_str();
    let path = req.original_uri().path();
    let span = tracing::info_span!(
        "request",
        otel.name = format!("{method} {path}"),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = Empty,
        http.response.status_code = Empty,
        url.path = path,
        url.scheme = req.scheme().as_str(),
        network.protocol.version = protocol_version(req.version()),
        server.address = Empty,
        server.port = Empty,
        client.address = Empty,
        user_agent.original = Empty,
        error.type = Empty,
        hearth.request_id = Empty,
    );
    let authority = req.original_uri().authority().cloned().or_else(|| {
        header_str(headers, header::HOST.as_str())?
            .parse::<Authority>()
            .ok()
    });
    if let Some(authority) = authority {
        span.record("server.address", authority.host());
        if let Some(port) = authority.port_u16() {
            span.record("server.port", i64::from(port));
        }
    }
    if let Some(ClientIp(ip)) = req.extensions().get::<ClientIp>() {
        span.record("client.address", ip.to_string());
    }
    if let Some(agent) = header_str(headers, header::USER_AGENT.as_str()) {
        span.record("user_agent.original", agent);
    }
    if let Some(id) = req.extensions().get::<RequestId>() {
        span.record("hearth.request_id", id.as_str());
    }
    span
}

fn protocol_version(version: poem::http::Version) -> &'static str {
    match version {
        poem::http::Version::HTTP_10 => "1.0",
        poem::http::Version::HTTP_2 => "2",
        poem::http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request headers as the propagator reads them.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        header_str(self.0, key)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
