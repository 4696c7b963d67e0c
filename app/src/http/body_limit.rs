//! Request body size and time limits. poem sets neither. A declared `Content-Length` over
//! the limit is refused before reading anything; any other body is read here, up to the
//! limit and within `body_read_timeout`, so a client trickling a body byte by byte cannot
//! hold a connection (and a shutdown) for ever.

use kernel::{Problem, ProblemCode};
use poem::error::ReadBodyError;
use poem::http::header;
use poem::{Body, Endpoint, Middleware, Request, Result};
use std::time::Duration;

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
    fn too_large(&self) -> poem::Error {
        Problem::new(ProblemCode::PayloadTooLarge)
            .with_detail(format!(
                "the request body is larger than {} bytes",
                self.limit
            ))
            .into()
    }
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let has_body = match declared {
            Some(len) if len > self.limit as u64 => return Err(self.too_large()),
            Some(len) => len > 0,
            None => req.headers().contains_key(header::TRANSFER_ENCODING),
        };
        if has_body {
            let read = req.take_body().into_bytes_limit(self.limit);
            let bytes = match self.read_timeout {
                Some(limit) => tokio::time::timeout(limit, read).await.map_err(|_| {
                    poem::Error::from(Problem::new(ProblemCode::RequestTimeout).with_detail(
                        format!(
                            "the request body did not arrive within {} s",
                            limit.as_secs_f32()
                        ),
                    ))
                })?,
                None => read.await,
            }
            .map_err(|e| match e {
                ReadBodyError::PayloadTooLarge => self.too_large(),
                other => Problem::new(ProblemCode::BadRequest)
                    .with_detail(format!("could not read the request body: {other}"))
                    .into(),
            })?;
            req.set_body(Body::from_bytes(bytes));
        }
        self.inner.call(req).await
    }
}
