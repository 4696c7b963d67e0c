//! Request body size and time limits. poem sets neither. A declared `Content-Length` over
//! the limit is refused before reading anything; any other body is read here, up to the
//! limit and within `body_read_timeout`, so a client trickling a body byte by byte cannot
//! hold a connection (and a shutdown) for ever.
//!
//! An over-limit body is answered 413 at once, and the rest of it is then read and
//! thrown away in the background (up to [`DRAIN_MAX`] bytes within [`DRAIN_TIME`]): a
//! client that writes its whole body before reading (many simple clients do) would
//! otherwise have the connection reset under it, and never read the answer. A body
//! longer than that, or a client waiting for `100 Continue`, gets the 413 and the
//! connection closes.

use super::ErrorHeaders;
use futures_util::StreamExt;
use kernel::{Problem, ProblemCode};
use poem::http::{header, HeaderMap, HeaderValue};
use poem::{Body, Endpoint, Middleware, Request, Result};
use std::time::Duration;

/// The most of an over-limit body read (and discarded) so that its sender reads the 413.
const DRAIN_MAX: u64 = 64 * 1024 * 1024;
/// The most time spent on that.
const DRAIN_TIME: Duration = Duration::from_secs(5);

pub struct BodyLimit {
    limit: usize,
    read_timeout: Option<Duration>,
}

impl BodyLimit {
    pub fn new(limit: usize, read_timeout: Option<Duration>) -> Self {
        BodyLimit {
            limit,
            read_timeout,
        }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            limit: self.limit,
            read_timeout: self.read_timeout,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    limit: usize,
    read_timeout: Option<Duration>,
}

impl<E: Endpoint> BodyLimitEndpoint<E> {
    /// 413; with `Connection: close` when the rest of the body is not going to be read,
    /// so the connection is not reused with it still in it.
    fn too_large(&self, draining: bool) -> poem::Error {
        let mut err: poem::Error = Problem::new(ProblemCode::PayloadTooLarge)
            .with_detail(format!(
                "the request body is larger than {} bytes",
                self.limit
            ))
            .into();
        if !draining {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            err.set_data(ErrorHeaders(headers));
        }
        err
    }

    fn timed_out(limit: Duration) -> poem::Error {
        Problem::new(ProblemCode::RequestTimeout)
            .with_detail(format!(
                "the request body did not arrive within {} s",
                limit.as_secs_f32()
            ))
            .into()
    }

    /// The body up to the limit; past it, the rest is drained and the answer is 413.
    async fn read(&self, body: Body) -> Result<bytes::Bytes> {
        let mut stream = body.into_bytes_stream();
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                poem::Error::from(
                    Problem::new(ProblemCode::BadRequest)
                        .with_detail(format!("could not read the request body: {e}")),
                )
            })?;
            if buf.len() + chunk.len() > self.limit {
                tokio::spawn(drain(stream, DRAIN_MAX));
                return Err(self.too_large(true));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

/// Reads and discards what is left of a body, at most `budget` bytes within
/// [`DRAIN_TIME`], while (or after) the answer goes out; then the connection is
/// reused, or closed if the body did not end within both.
async fn drain<S>(mut stream: S, budget: u64)
where
    S: futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Unpin,
{
    let read_all = async {
        let mut read = 0u64;
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { return false };
            read += chunk.len() as u64;
            if read > budget {
                return false;
            }
        }
        true
    };
    let _ = tokio::time::timeout(DRAIN_TIME, read_all).await;
}

/// A `multipart/form-data` write to a record (`POST /api/v1/{collection}`, `PUT|PATCH
/// /api/v1/{collection}/{id}`, the dashboard's record forms): its files stream to the file store and can be far larger
/// than `body_limit`, so it is not read here. Its limits are the file fields' (each file
/// is cut off at `max_size`, form values at 1 MiB, resources/src/api/multipart.rs), and
/// the read timeout applies to each wait for more bytes instead of to the whole body.
///
/// A tus `PATCH /api/v1/uploads/{id}` with `application/offset+octet-stream` streams
/// too: its chunks go to the upload's staging file, bounded by its `Upload-Length`
/// (modules/files/src/tus), and the read timeout applies per wait in the same way.
fn streams_upload(req: &Request) -> bool {
    if is_tus_patch(req) {
        return true;
    }
    let method = req.method();
    if !(method == poem::http::Method::POST
        || method == poem::http::Method::PUT
        || method == poem::http::Method::PATCH)
    {
        return false;
    }
    let multipart = kernel::media::is_multipart(req.headers());
    if multipart && method == poem::http::Method::POST && is_admin_record_form(req.uri().path()) {
        return true;
    }
    let Some(rest) = req.uri().path().strip_prefix("/api/v1/") else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let record_path = match segments.as_slice() {
        [collection] => {
            method == poem::http::Method::POST
                && !collection.is_empty()
                && !resources::RESERVED_NAMES.contains(collection)
        }
        [collection, id] => {
            method != poem::http::Method::POST
                && !id.is_empty()
                && !resources::RESERVED_NAMES.contains(collection)
        }
        _ => false,
    };
    multipart && record_path
}

/// The dashboard's record forms (`POST /admin/collections/{name}/records/new` and
/// `…/records/{id}`): with file fields they post multipart, read by the same reader as
/// the API's, after the dashboard's guard checked the session and the CSRF token (the
/// first part; it buffers nothing else).
fn is_admin_record_form(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/admin/collections/") else {
        return false;
    };
    matches!(rest.split('/').collect::<Vec<_>>().as_slice(),
        [name, "records", id] if !name.is_empty() && !id.is_empty())
}

fn is_tus_patch(req: &Request) -> bool {
    let offset_stream = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/offset+octet-stream")
        });
    let upload_path = req
        .uri()
        .path()
        .strip_prefix("/api/v1/uploads/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'));
    req.method() == poem::http::Method::PATCH && offset_stream && upload_path
}

/// `body`, failing with 408 when no bytes come for `idle`.
fn idle_timeout(body: Body, idle: Duration) -> Body {
    let stream = body.into_bytes_stream();
    let timed = futures_util::stream::unfold(Some(stream), move |stream| async move {
        let mut stream = stream?;
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(item)) => Some((item, Some(stream))),
            Ok(None) => None,
            Err(_) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no body bytes arrived within {} s", idle.as_secs_f32()),
                )),
                None,
            )),
        }
    });
    Body::from_bytes_stream(Box::pin(timed))
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        if streams_upload(&req) {
            if let Some(idle) = self.read_timeout {
                let body = req.take_body();
                req.set_body(idle_timeout(body, idle));
            }
            return self.inner.call(req).await;
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let has_body = match declared {
            Some(len) if len > self.limit as u64 => {
                // A client that waits for `100 Continue` sends nothing until the body is
                // read: it gets the 413 at once and the connection closes.
                let expects_continue = req
                    .headers()
                    .get(header::EXPECT)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
                let drain_it = !expects_continue && len <= DRAIN_MAX;
                if drain_it {
                    tokio::spawn(drain(req.take_body().into_bytes_stream(), len));
                }
                return Err(self.too_large(drain_it));
            }
            Some(len) => len > 0,
            None => req.headers().contains_key(header::TRANSFER_ENCODING),
        };
        if has_body {
            let body = req.take_body();
            let bytes = match self.read_timeout {
                Some(limit) => tokio::time::timeout(limit, self.read(body))
                    .await
                    .map_err(|_| Self::timed_out(limit))??,
                None => self.read(body).await?,
            };
            req.set_body(Body::from_bytes(bytes));
        }
        self.inner.call(req).await
    }
}
