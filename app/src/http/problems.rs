//! Turns every failure into an RFC 9457 problem response: our own `Problem`s, poem's and
//! poem-openapi's rejections, and panics (500 `internal`; the connection stays usable and
//! the cause goes only to the log).

use super::AllowTable;
use futures_util::FutureExt;
use kernel::{Problem, ProblemCode, RequestId, RouteTemplate};
use poem::error::{
    MethodNotAllowedError, NotFoundError, ParseJsonError, ParseQueryError, ReadBodyError,
    SizedLimitError,
};
use poem::http::HeaderMap;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::error::{
    AuthorizationError, ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// Renders problems; `allow` gives 405s their `Allow` header.
pub struct Problems {
    allow: Arc<AllowTable>,
}

impl Problems {
    pub fn new(allow: Arc<AllowTable>) -> Self {
        Problems { allow }
    }
}

/// Headers a middleware wants on the problem response rendered from this error (set with
/// `poem::Error::set_data`), e.g. the rate limit state on a 404 from deeper in.
#[derive(Clone, Debug)]
pub struct ErrorHeaders(pub HeaderMap);

impl<E: Endpoint> Middleware<E> for Problems {
    type Output = ProblemsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ProblemsEndpoint(ep, self.allow.clone())
    }
}

pub struct ProblemsEndpoint<E>(E, Arc<AllowTable>);

impl<E: Endpoint> Endpoint for ProblemsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let instance = req.uri().path().to_owned();
        let request_id = req.extensions().get::<RequestId>().cloned();
        let (mut extra, mut route) = (None, None);
        let problem = match AssertUnwindSafe(self.0.call(req)).catch_unwind().await {
            Ok(Ok(resp)) => return Ok(resp.into_response()),
            Ok(Err(err)) => {
                extra = err.data::<ErrorHeaders>().cloned();
                route = err.data::<RouteTemplate>().cloned();
                let mut problem = problem_for(&err);
                if err.is::<MethodNotAllowedError>() {
                    problem.allow = self.1.lookup(&instance).map(str::to_owned);
                    if let Some(allow) = &problem.allow {
                        problem.detail = Some(format!("this path accepts {allow}"));
                    }
                }
                problem
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".into());
                tracing::error!(
                    request_id = request_id.as_ref().map(|r| r.as_str()),
                    path = %instance,
                    panic = %message,
                    "request handler panicked"
                );
                Problem::internal()
            }
        };
        if problem.code == ProblemCode::Internal {
            tracing::error!(
                request_id = request_id.as_ref().map(|r| r.as_str()),
                path = %instance,
                "answered 500 internal"
            );
        }
        let mut resp = problem.render(Some(&instance), request_id.as_ref().map(|r| r.as_str()));
        if let Some(ErrorHeaders(headers)) = extra {
            resp.headers_mut().extend(headers);
        }
        // The route the error came from, for the access log and metrics.
        if let Some(route) = route {
            resp.set_data(route);
        }
        Ok(resp)
    }
}

/// The problem that describes a poem error. Unknown errors keep their status class but
/// never their text for 5xx, which could leak internals.
pub fn problem_for(err: &poem::Error) -> Problem {
    if let Some(p) = err.downcast_ref::<Problem>() {
        return p.clone();
    }
    let with = |code: ProblemCode, detail: String| Problem::new(code).with_detail(detail);
    if err.is::<NotFoundError>() {
        return Problem::not_found().with_detail("no resource at this path");
    }
    if err.is::<MethodNotAllowedError>() {
        return with(
            ProblemCode::MethodNotAllowed,
            "this path does not accept that method".into(),
        );
    }
    if let Some(e) = err.downcast_ref::<ParseJsonError>() {
        return match e {
            ParseJsonError::Parse(inner) => with(ProblemCode::InvalidJson, inner.to_string()),
            _ => with(ProblemCode::UnsupportedMediaType, e.to_string()),
        };
    }
    if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        return with(ProblemCode::InvalidJson, e.reason.clone());
    }
    if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        return with(ProblemCode::UnsupportedMediaType, e.to_string());
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return with(ProblemCode::InvalidQuery, e.to_string());
    }
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        return with(ProblemCode::InvalidQuery, e.to_string());
    }
    if let Some(e) = err.downcast_ref::<ParseQueryError>() {
        return with(
            ProblemCode::InvalidQuery,
            format!("invalid query string: {e}"),
        );
    }
    if err.is::<AuthorizationError>() {
        return Problem::unauthenticated(
            "a bearer token is required (Authorization: Bearer <token>)",
        );
    }
    if matches!(
        err.downcast_ref::<ReadBodyError>(),
        Some(ReadBodyError::PayloadTooLarge)
    ) || matches!(
        err.downcast_ref::<SizedLimitError>(),
        Some(SizedLimitError::PayloadTooLarge)
    ) {
        return Problem::new(ProblemCode::PayloadTooLarge);
    }
    let status = err.status();
    let code = match status.as_u16() {
        401 => ProblemCode::Unauthenticated,
        403 => ProblemCode::Forbidden,
        404 => ProblemCode::NotFound,
        405 => ProblemCode::MethodNotAllowed,
        412 => ProblemCode::PreconditionFailed,
        413 => ProblemCode::PayloadTooLarge,
        415 => ProblemCode::UnsupportedMediaType,
        429 => ProblemCode::RateLimited,
        503 => ProblemCode::Unavailable,
        400..=499 => ProblemCode::BadRequest,
        _ => {
            tracing::error!(error = %err, status = %status, "unmapped server error");
            return Problem::internal();
        }
    };
    with(code, err.to_string())
}
