//! One blob as an HTTP response: its type sniffed from its first bytes, validators,
//! ranges, and the headers that keep an uploaded file from acting in Hearth's origin.

use crate::headers::{
    content_disposition, etag_for, if_range_allows, none_match, parse_range, RangeRequest,
};
use crate::metrics::DownloadsMetrics;
use bytes::{Bytes, BytesMut};
use files::{is_safe_inline_image, sniff_mime, BlobKey, BlobStore, ByteRange, StoreError};
use futures_util::TryStreamExt;
use kernel::{Problem, ProblemCode, RequestId};
use poem::http::{header, HeaderValue, StatusCode};
use poem::{Body, Request, Response};
use std::ops::Range;

/// Whatever the content, the browser treats the response as a sandboxed document with
/// no right to load or run anything: an HTML or SVG upload opened directly cannot run
/// script in Hearth's origin, even where `attachment` is ignored.
pub const FILE_CSP: &str = "sandbox; default-src 'none'";

/// A blob's size and its first bytes (at most `files::SNIFF_BYTES`), read before
/// answering: the type comes from the content, never from the name or the uploader.
pub(crate) struct Probe {
    pub size: u64,
    pub mime: &'static str,
    /// The first bytes; the whole blob when it is this short.
    pub prefix: Bytes,
}

impl Probe {
    pub async fn read(store: &BlobStore, key: &BlobKey) -> Result<Probe, StoreError> {
        let fetched = match store
            .get(key, Some(ByteRange::Bounded(0..files::SNIFF_BYTES as u64)))
            .await
        {
            Ok(fetched) => fetched,
            // The only blob with no satisfiable first byte is the empty one.
            Err(StoreError::RangeNotSatisfiable { size: 0 }) => {
                return Ok(Probe {
                    size: 0,
                    mime: sniff_mime(&[]),
                    prefix: Bytes::new(),
                })
            }
            Err(err) => return Err(err),
        };
        let size = fetched.size;
        let prefix = fetched
            .stream
            .try_fold(BytesMut::new(), |mut all, chunk| async move {
                all.extend_from_slice(&chunk);
                Ok(all)
            })
            .await?
            .freeze();
        Ok(Probe {
            size,
            mime: sniff_mime(&prefix),
            prefix,
        })
    }

    fn holds(&self, range: &Range<u64>) -> bool {
        range.end <= self.prefix.len() as u64
    }
}

/// How to answer for one blob.
pub(crate) struct Serve<'a> {
    pub store: &'a BlobStore,
    pub metrics: &'a DownloadsMetrics,
    pub key: &'a BlobKey,
    pub probe: Probe,
    /// The name `Content-Disposition` gives.
    pub name: &'a str,
    pub cache_control: &'a str,
}

impl Serve<'_> {
    pub async fn respond(self, req: &Request) -> Result<Response, Problem> {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        let size = self.probe.size;
        let etag = etag_for(self.key.as_str(), size);
        let mut resp = Response::builder()
            .header(header::ETAG, etag.as_str())
            .header(header::CACHE_CONTROL, self.cache_control)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(header::CONTENT_SECURITY_POLICY, FILE_CSP);
        if none_match(header(header::IF_NONE_MATCH), &etag) {
            return Ok(resp.status(StatusCode::NOT_MODIFIED).finish());
        }
        let range = if if_range_allows(header(header::IF_RANGE), &etag) {
            parse_range(header(header::RANGE))
        } else {
            RangeRequest::Whole
        };
        let (status, range) = match range {
            RangeRequest::Whole => (StatusCode::OK, 0..size),
            RangeRequest::One(asked) => match asked.resolve(size) {
                Ok(range) => {
                    let content_range = format!(
                        "bytes {}-{}/{size}",
                        range.start,
                        range.end.saturating_sub(1)
                    );
                    resp = resp.header(header::CONTENT_RANGE, content_range);
                    (StatusCode::PARTIAL_CONTENT, range)
                }
                Err(_) => return Ok(unsatisfiable(req, size)),
            },
        };
        let mime = self.probe.mime;
        let content_type = if mime == "text/plain" {
            // Sniffing calls only UTF-8 `text/plain`.
            "text/plain; charset=utf-8"
        } else {
            mime
        };
        resp = resp
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .header(
                header::CONTENT_DISPOSITION,
                content_disposition(is_safe_inline_image(mime), self.name),
            )
            .header(header::CONTENT_LENGTH, range.end - range.start);
        if req.method() == poem::http::Method::HEAD {
            return Ok(resp.body(Body::empty()));
        }
        if self.probe.holds(&range) {
            let bytes = self
                .probe
                .prefix
                .slice(range.start as usize..range.end as usize);
            self.metrics.served(bytes.len() as u64);
            return Ok(resp.body(bytes));
        }
        let fetched = self
            .store
            .get(self.key, Some(ByteRange::Bounded(range)))
            .await
            .map_err(store_problem)?;
        let metrics = self.metrics.clone();
        let key = self.key.clone();
        // Streamed as the store reads it: memory stays at a few chunks per download.
        let stream = fetched
            .stream
            .inspect_ok(move |chunk| metrics.served(chunk.len() as u64))
            .inspect_err(move |err| {
                tracing::warn!(key = %key, error = %err, "file download stopped by a read error")
            })
            .map_err(std::io::Error::other);
        Ok(resp.body(Body::from_bytes_stream(stream)))
    }
}

/// 416 as a problem, with the `Content-Range: bytes */SIZE` RFC 9110 15.5.17 asks for.
/// Rendered here rather than returned as an error: the problem renderer has no way to
/// add that header.
fn unsatisfiable(req: &Request, size: u64) -> Response {
    let problem = Problem::new(ProblemCode::RangeNotSatisfiable).with_detail(format!(
        "the file has {size} bytes; ask for a range that starts before its end"
    ));
    let request_id = req.extensions().get::<RequestId>();
    let mut resp = problem.render(
        Some(req.original_uri().path()),
        request_id.map(RequestId::as_str),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
        resp.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    resp
}

/// The problem a store failure is answered with. A blob a record names but the store
/// lacks is 404 (the record may have just dropped it); an unreachable store is 503.
pub(crate) fn store_problem(err: StoreError) -> Problem {
    match err {
        StoreError::NotFound { .. } => Problem::not_found().with_detail("no such file"),
        StoreError::Unavailable(reason) => {
            tracing::warn!(error = %reason, "file store unavailable for a download");
            Problem::new(ProblemCode::Unavailable)
                .with_detail("the file store cannot be reached now")
                .with_retry_after(5)
        }
        StoreError::Full => Problem::new(ProblemCode::InsufficientStorage),
        other => {
            tracing::error!(error = %other, "file store error during a download");
            Problem::internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_become_the_problems_clients_can_act_on() {
        let code = |err| store_problem(err).code;
        assert_eq!(
            code(StoreError::NotFound {
                key: "a/b/c".into()
            }),
            ProblemCode::NotFound
        );
        let unavailable = store_problem(StoreError::Unavailable("timeout".into()));
        assert_eq!(unavailable.code, ProblemCode::Unavailable);
        assert!(unavailable.retry_after.is_some());
        assert_eq!(code(StoreError::Full), ProblemCode::InsufficientStorage);
        assert_eq!(
            code(StoreError::Backend("access denied".into())),
            ProblemCode::Internal
        );
    }
}
