//! Headers every response carries, and the stricter set for HTML pages (API.md section 5).

use poem::http::{header, HeaderName, HeaderValue};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// Scripts and styles only from our own origin: no inline script or style, no CDN. Every
/// HTML page gets this one (the dashboard above all: its templates have no `style`
/// attribute or `<style>`, and htmx is told not to inject its indicator styles).
const HTML_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The API reference pages (`/api/docs…`) only: the vendored Swagger UI sets style
/// attributes, so they allow inline styles (never inline script).
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Pages need none of the powerful browser features.
const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=()";

/// Sent only when Hearth serves HTTPS itself: a year, subdomains included. Over plain
/// HTTP browsers ignore it, and behind a TLS proxy the proxy should send it.
const HSTS: &str = "max-age=31536000; includeSubDomains";

pub struct SecurityHeaders {
    hsts: bool,
}

impl SecurityHeaders {
    /// `https`: the server speaks TLS, so every response carries HSTS.
    pub fn new(https: bool) -> SecurityHeaders {
        SecurityHeaders { hsts: https }
    }
}

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        SecurityHeadersEndpoint {
            inner: ep,
            hsts: self.hsts,
        }
    }
}

pub struct SecurityHeadersEndpoint<E> {
    inner: E,
    hsts: bool,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path();
        let csp = if path == "/api/docs" || path.starts_with("/api/docs/") {
            DOCS_CSP
        } else {
            HTML_CSP
        };
        let mut resp = self.inner.call(req).await?.into_response();
        let is_html = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/html"));
        let headers = resp.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        if self.hsts {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(HSTS),
            );
        }
        if is_html {
            // A policy the handler set stays: a downloaded HTML file carries the
            // stricter `sandbox` one (downloads::FILE_CSP), which this must not relax.
            headers
                .entry(header::CONTENT_SECURITY_POLICY)
                .or_insert(HeaderValue::from_static(csp));
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            headers.insert(
                HeaderName::from_static("cross-origin-opener-policy"),
                HeaderValue::from_static("same-origin"),
            );
            headers.insert(
                HeaderName::from_static("permissions-policy"),
                HeaderValue::from_static(PERMISSIONS_POLICY),
            );
        }
        Ok(resp)
    }
}
