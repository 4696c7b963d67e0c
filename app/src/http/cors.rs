//! CORS (API.md section 5.3). Without origins nothing here runs and no
//! `Access-Control-*` header is ever sent. The origins come from `cors_origins` in the
//! configuration, or from the database once an admin sets them (`/admin/settings`):
//! [`Cors::set_origins`] swaps the policy, and the next request uses the new one. The
//! methods, headers and credentials flag always come from the configuration.
//!
//! Written here rather than with poem's `Cors`, which (a) answers 403 to every request
//! whose `Origin` is not listed, breaking same-origin POSTs (browsers send `Origin` on
//! those too, e.g. the API docs' "try it"), (b) allows any method or header when the
//! configured list is empty, and (c) renders its own errors outside the problem format.
//!
//! - A request from a listed origin gets `Access-Control-Allow-Origin` (and
//!   `-Allow-Credentials`, `-Expose-Headers`); from any other origin it is served as if
//!   CORS did not exist: no CORS headers, so the browser keeps the response from the page.
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered
//!   here, 204, when the origin, method and every requested header are allowed; otherwise
//!   403 `forbidden` with no CORS headers.
//! - The dashboard (`/admin`, `/admin/…`) never gets CORS headers, whatever the origin:
//!   its pages and forms are for its own origin only, so no other page may read them,
//!   even one on an origin the API allows.

use crate::config::CorsConfig;
use kernel::{Problem, ProblemCode, RequestId};
use poem::http::header::{self, HeaderName, HeaderValue};
use poem::http::{Method, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use std::sync::{Arc, PoisonError, RwLock};

/// Response headers a cross-origin script may read besides the CORS-safelisted ones;
/// the `Upload-*` and `Tus-*` ones are what a browser tus client reads (API.md 10.1).
const EXPOSE: &str =
    "ETag, Location, Link, X-Request-Id, Retry-After, RateLimit, RateLimit-Policy, \
Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires, Tus-Resumable, Tus-Version, \
Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm";
/// How long (seconds) a browser may cache a preflight answer.
const MAX_AGE: &str = "600";

struct Policy {
    /// `*` was configured: every origin, answered with a literal `*`.
    any_origin: bool,
    origins: Vec<String>,
    methods: Vec<Method>,
    /// Lower case.
    headers: Vec<String>,
    credentials: bool,
    allow_methods: Option<HeaderValue>,
    allow_headers: Option<HeaderValue>,
}

impl Policy {
    /// `None` when there are no origins: CORS is off.
    fn new(config: &CorsConfig) -> Option<Policy> {
        if config.origins.is_empty() {
            return None;
        }
        let methods: Vec<Method> = config
            .methods
            .iter()
            .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
            .collect();
        let headers: Vec<String> = config
            .headers
            .iter()
            .filter(|h| HeaderName::from_bytes(h.as_bytes()).is_ok())
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let joined = |items: Vec<&str>| {
            (!items.is_empty())
                .then(|| HeaderValue::from_str(&items.join(", ")).ok())
                .flatten()
        };
        Some(Policy {
            any_origin: config.origins.iter().any(|o| o == "*"),
            origins: config.origins.clone(),
            allow_methods: joined(methods.iter().map(Method::as_str).collect()),
            allow_headers: joined(headers.iter().map(String::as_str).collect()),
            methods,
            headers,
            credentials: config.credentials,
        })
    }

    /// The `Access-Control-Allow-Origin` value for this `Origin`, if it is allowed.
    fn allow_origin(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        if self.any_origin {
            return Some(HeaderValue::from_static("*"));
        }
        let o = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(o))
            .then(|| origin.clone())
    }

    /// Checks a preflight's method and headers; `Err` says what is not allowed.
    fn check_preflight(&self, req: &Request) -> Result<(), String> {
        let method = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .ok_or("Access-Control-Request-Method is not a method")?;
        // Browsers never ask about the CORS-safelisted methods, but may send them.
        let safelisted = [Method::GET, Method::HEAD, Method::POST].contains(&method);
        if !safelisted && !self.methods.contains(&method) {
            return Err(format!("the method {method} is not allowed cross-origin"));
        }
        for value in req
            .headers()
            .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        {
            let value = value
                .to_str()
                .map_err(|_| "bad Access-Control-Request-Headers")?;
            for name in value.split(',').map(str::trim).filter(|h| !h.is_empty()) {
                if !self.headers.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                    return Err(format!("the header {name} is not allowed cross-origin"));
                }
            }
        }
        Ok(())
    }

    fn preflight_response(&self, allow_origin: HeaderValue) -> Response {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        if let Some(methods) = &self.allow_methods {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods.clone());
        }
        if let Some(headers) = &self.allow_headers {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, headers.clone());
        }
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE),
        );
        resp
    }

    fn add_vary(&self, resp: &mut Response, preflight: bool) {
        let vary = if preflight {
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        } else if self.any_origin {
            return;
        } else {
            "Origin"
        };
        resp.headers_mut()
            .append(header::VARY, HeaderValue::from_static(vary));
    }
}

/// The dashboard's paths, which CORS never opens up.
fn is_dashboard(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// The middleware, and the handle that changes its origins while the server runs: clones
/// share one policy. Without origins it lets everything through untouched.
#[derive(Clone, Default)]
pub struct Cors {
    live: Arc<Live>,
}

#[derive(Default)]
struct Live {
    /// Methods, headers, credentials (and the configured origins, replaced at run time).
    config: RwLock<CorsConfig>,
    /// Rebuilt on every change; requests take a reference and never hold the lock.
    policy: RwLock<Option<Arc<Policy>>>,
}

impl Cors {
    pub fn new(config: &CorsConfig) -> Self {
        Cors {
            live: Arc::new(Live {
                config: RwLock::new(config.clone()),
                policy: RwLock::new(Policy::new(config).map(Arc::new)),
            }),
        }
    }

    /// Allows exactly these origins from the next request on; none turns CORS off.
    pub fn set_origins(&self, origins: &[String]) {
        let mut config = self
            .live
            .config
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if config.origins == origins {
            return;
        }
        config.origins = origins.to_vec();
        let policy = Policy::new(&config).map(Arc::new);
        *self
            .live
            .policy
            .write()
            .unwrap_or_else(PoisonError::into_inner) = policy;
    }

    /// The origins allowed now.
    pub fn origins(&self) -> Vec<String> {
        self.live
            .config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .origins
            .clone()
    }

    fn policy(&self) -> Option<Arc<Policy>> {
        self.live
            .policy
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl std::fmt::Debug for Cors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cors")
            .field("origins", &self.origins())
            .finish()
    }
}

impl<E: Endpoint> Middleware<E> for Cors {
    type Output = CorsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        CorsEndpoint {
            inner: ep,
            cors: self.clone(),
        }
    }
}

pub struct CorsEndpoint<E> {
    inner: E,
    cors: Cors,
}

impl<E: Endpoint> Endpoint for CorsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let Some(policy) = self.cors.policy() else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        let allow_origin = req
            .headers()
            .get(header::ORIGIN)
            .filter(|_| !is_dashboard(req.uri().path()))
            .and_then(|o| policy.allow_origin(o));
        let is_preflight = req.method() == Method::OPTIONS
            && req.headers().contains_key(header::ORIGIN)
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if is_preflight {
            let checked = match allow_origin {
                Some(origin) => policy.check_preflight(&req).map(|()| origin),
                None => Err("this origin is not allowed cross-origin".into()),
            };
            let mut resp = match checked {
                Ok(origin) => policy.preflight_response(origin),
                Err(detail) => {
                    let request_id = req.extensions().get::<RequestId>();
                    Problem::new(ProblemCode::Forbidden)
                        .with_detail(detail)
                        .render(Some(req.uri().path()), request_id.map(|r| r.as_str()))
                }
            };
            policy.add_vary(&mut resp, true);
            return Ok(resp);
        }
        let mut resp = self.inner.call(req).await?.into_response();
        if let Some(origin) = allow_origin {
            let h = resp.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            if policy.credentials {
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSE),
            );
        }
        policy.add_vary(&mut resp, false);
        Ok(resp)
    }
}
