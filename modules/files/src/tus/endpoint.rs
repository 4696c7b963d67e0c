//! The HTTP side of tus, mounted inside `/api/v1` behind authentication and the rate
//! limits: `OPTIONS|POST /uploads`, `OPTIONS|HEAD|PATCH|DELETE /uploads/{id}`.
//!
//! Every answer carries `Tus-Resumable: 1.0.0`, problems included, so this endpoint
//! renders its problems itself (with the request id and path, as the HTTP layer would).

use super::append::Chunk;
use super::error::UploadError;
use super::protocol::{self, TUS_VERSION};
use super::service::{UploadInfo, Uploads};
use futures_util::TryStreamExt;
use kernel::{Principal, Problem, ProblemCode, RequestId, RouteTemplate, Scope};
use poem::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use poem::{Endpoint, Request, Response, Result};
use std::borrow::Cow;

pub struct UploadsEndpoint {
    uploads: Uploads,
}

/// A refusal and the headers it needs beyond `Tus-Resumable`.
struct Refusal {
    problem: Problem,
    headers: Vec<(&'static str, String)>,
}

impl From<Problem> for Refusal {
    fn from(problem: Problem) -> Self {
        Refusal {
            problem,
            headers: Vec::new(),
        }
    }
}

impl From<UploadError> for Refusal {
    fn from(e: UploadError) -> Self {
        Problem::from(e).into()
    }
}

fn bad(detail: impl Into<String>) -> Refusal {
    Problem::new(ProblemCode::BadRequest)
        .with_detail(detail)
        .into()
}

impl UploadsEndpoint {
    pub fn new(uploads: Uploads) -> Self {
        UploadsEndpoint { uploads }
    }

    /// Whether `path` (relative to `/api/v1`) is one of this endpoint's.
    pub fn serves(path: &str) -> bool {
        target(path).is_some()
    }
}

/// `Some(None)` for `/uploads`, `Some(Some(id))` for `/uploads/{id}`.
fn target(path: &str) -> Option<Option<&str>> {
    let rest = path.strip_prefix("/uploads")?;
    if rest.is_empty() {
        return Some(None);
    }
    let id = rest.strip_prefix('/')?;
    (!id.is_empty() && !id.contains('/')).then_some(Some(id))
}

impl Endpoint for UploadsEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path().to_owned();
        let Some(target) = target(&path).map(|t| t.map(str::to_owned)) else {
            return Err(Problem::not_found().into());
        };
        let template = match target {
            None => "/api/v1/uploads",
            Some(_) => "/api/v1/uploads/{id}",
        };
        let instance = req.original_uri().path().to_owned();
        let request_id = req.extensions().get::<RequestId>().cloned();
        let mut resp = match self.route(req, target.as_deref()).await {
            Ok(resp) => resp,
            Err(refusal) => {
                let mut resp = refusal
                    .problem
                    .render(Some(&instance), request_id.as_ref().map(|r| r.as_str()));
                for (name, value) in refusal.headers {
                    if let Ok(value) = HeaderValue::from_str(&value) {
                        resp.headers_mut().insert(name, value);
                    }
                }
                resp
            }
        };
        let headers = resp.headers_mut();
        headers.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp.set_data(RouteTemplate {
            template: Cow::Borrowed(template),
            collection: None,
        });
        Ok(resp)
    }
}

impl UploadsEndpoint {
    async fn route(&self, req: Request, id: Option<&str>) -> Result<Response, Refusal> {
        let method = req.method().clone();
        let allow = if id.is_some() {
            "OPTIONS, HEAD, PATCH, DELETE"
        } else {
            "OPTIONS, POST"
        };
        if method == Method::OPTIONS {
            // Upload ids are UUIDs: anything else names no upload.
            if id.is_some_and(|id| !kernel::ids::is_uuid(id)) {
                return Err(Problem::not_found()
                    .with_detail("no upload with this id")
                    .into());
            }
            return Ok(self.options());
        }
        let known = if id.is_some() {
            [Method::HEAD, Method::PATCH, Method::DELETE].contains(&method)
        } else {
            method == Method::POST
        };
        if !known {
            return Err(kernel::query::method_not_allowed(allow).into());
        }
        protocol::check_resumable(req.headers()).map_err(|detail| Refusal {
            problem: Problem::new(ProblemCode::TusVersionUnsupported).with_detail(detail),
            headers: vec![("tus-version", TUS_VERSION.into())],
        })?;
        let Some(caller) = kernel::caller::caller(&req) else {
            return Err(Problem::unauthenticated(
                "tus uploads need a bearer token (Authorization: Bearer <token>)",
            )
            .into());
        };
        // Creating, sending and removing change things, as record writes do.
        let scope = if method == Method::HEAD {
            Scope::Read
        } else {
            Scope::Write
        };
        if !caller.has_scope(scope) {
            return Err(Problem::new(ProblemCode::Forbidden)
                .with_detail(format!("the token lacks the `{}` scope", scope.as_str()))
                .into());
        }
        let owner = caller.user_id.clone();
        match (id, method) {
            (None, _) => self.create(&req, caller).await,
            (Some(id), Method::HEAD) => Ok(head(&self.uploads.status(id, &owner).await?)),
            (Some(id), Method::PATCH) => self.patch(req, id, &owner).await,
            (Some(id), _) => {
                self.uploads.terminate(id, &owner).await?;
                Ok(Response::builder().status(StatusCode::NO_CONTENT).finish())
            }
        }
    }

    fn options(&self) -> Response {
        Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header("tus-version", TUS_VERSION)
            .header("tus-extension", protocol::TUS_EXTENSIONS)
            .header("tus-max-size", self.uploads.config().max_size)
            .header("tus-checksum-algorithm", protocol::CHECKSUM_ALGORITHMS)
            .finish()
    }

    async fn create(&self, req: &Request, caller: &Principal) -> Result<Response, Refusal> {
        let headers = req.headers();
        if headers.contains_key("upload-defer-length") {
            return Err(bad(
                "Upload-Defer-Length is not supported: send Upload-Length",
            ));
        }
        let length = protocol::u64_header(headers, "upload-length")
            .map_err(bad)?
            .ok_or_else(|| bad("Upload-Length is required"))?;
        let has_body = protocol::u64_header(headers, header::CONTENT_LENGTH.as_str())
            .ok()
            .flatten()
            .is_some_and(|n| n > 0)
            || headers.contains_key(header::TRANSFER_ENCODING);
        if has_body {
            return Err(bad(
                "creation-with-upload is not supported: create with an empty body, then PATCH",
            ));
        }
        let metadata = protocol::parse_metadata(headers).map_err(bad)?;
        let info = self.uploads.create(caller, length, metadata).await?;
        let mut resp = Response::builder()
            .status(StatusCode::CREATED)
            .header(header::LOCATION, format!("/api/v1/uploads/{}", info.id))
            .finish();
        expires(resp.headers_mut(), &info);
        Ok(resp)
    }

    async fn patch(&self, mut req: Request, id: &str, owner: &str) -> Result<Response, Refusal> {
        if !protocol::is_offset_octet_stream(req.headers()) {
            return Err(Problem::new(ProblemCode::UnsupportedMediaType)
                .with_detail("a tus PATCH body is Content-Type: application/offset+octet-stream")
                .into());
        }
        let headers = req.headers();
        let offset = protocol::u64_header(headers, "upload-offset")
            .map_err(bad)?
            .ok_or_else(|| bad("Upload-Offset is required"))?;
        let chunk = Chunk {
            offset,
            checksum: protocol::parse_checksum(headers).map_err(bad)?,
            declared: protocol::u64_header(headers, header::CONTENT_LENGTH.as_str())
                .map_err(bad)?,
        };
        let body = req
            .take_body()
            .into_bytes_stream()
            .map_err(std::io::Error::other);
        match self.uploads.append(id, owner, chunk, Box::pin(body)).await {
            Ok(info) => {
                let mut resp = Response::builder()
                    .status(StatusCode::NO_CONTENT)
                    .header("upload-offset", info.offset)
                    .finish();
                expires(resp.headers_mut(), &info);
                Ok(resp)
            }
            Err(e @ UploadError::OffsetMismatch { current, .. }) => Err(Refusal {
                problem: e.into(),
                headers: vec![("upload-offset", current.to_string())],
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// HEAD: where the upload stands.
fn head(info: &UploadInfo) -> Response {
    let mut resp = Response::builder()
        .status(StatusCode::OK)
        .header("upload-offset", info.offset)
        .header("upload-length", info.length)
        .finish();
    let metadata = protocol::format_metadata(&info.metadata);
    if let Ok(value) = HeaderValue::from_str(&metadata) {
        if !metadata.is_empty() {
            resp.headers_mut().insert("upload-metadata", value);
        }
    }
    expires(resp.headers_mut(), info);
    resp
}

/// `Upload-Expires`, for unfinished uploads (tus's expiration extension).
fn expires(headers: &mut HeaderMap, info: &UploadInfo) {
    if info.is_finished() {
        return;
    }
    if let Some(value) =
        protocol::http_date(&info.expires_at).and_then(|d| HeaderValue::from_str(&d).ok())
    {
        headers.insert("upload-expires", value);
    }
}
