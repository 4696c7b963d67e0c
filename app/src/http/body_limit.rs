//! Request body size limit. poem sets none by default. A declared `Content-Length` over
//! the limit is refused before reading anything; a chunked body is read up to the limit.

use kernel::{Problem, ProblemCode};
use poem::error::ReadBodyError;
use poem::http::header;
use poem::{Body, Endpoint, Middleware, Request, Result};

pub struct BodyLimit {
    limit: usize,
}

impl BodyLimit {
    pub fn new(limit: usize) -> Self {
        BodyLimit { limit }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            limit: self.limit,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    limit: usize,
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
        match declared {
            Some(len) if len > self.limit as u64 => return Err(self.too_large()),
            // hyper stops reading at the declared length, so the limit holds.
            Some(_) => {}
            None if req.headers().contains_key(header::TRANSFER_ENCODING) => {
                let body = req.take_body();
                let bytes = body
                    .into_bytes_limit(self.limit)
                    .await
                    .map_err(|e| match e {
                        ReadBodyError::PayloadTooLarge => self.too_large(),
                        other => Problem::new(ProblemCode::BadRequest)
                            .with_detail(format!("could not read the request body: {other}"))
                            .into(),
                    })?;
                req.set_body(Body::from_bytes(bytes));
            }
            None => {}
        }
        self.inner.call(req).await
    }
}
