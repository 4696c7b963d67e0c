//! `X-Request-Id`: the client's if it is sane, else a fresh UUIDv7; always echoed back.

use kernel::RequestId;
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

pub const HEADER: &str = "x-request-id";

pub struct RequestIds;

impl<E: Endpoint> Middleware<E> for RequestIds {
    type Output = RequestIdEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestIdEndpoint(ep)
    }
}

pub struct RequestIdEndpoint<E>(E);

impl<E: Endpoint> Endpoint for RequestIdEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let id = req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(RequestId::from_client)
            .unwrap_or_else(RequestId::generate);
        req.extensions_mut().insert(id.clone());
        let mut resp = match self.0.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => err.into_response(),
        };
        if let Ok(value) = HeaderValue::from_str(id.as_str()) {
            resp.headers_mut().insert(HEADER, value);
        }
        Ok(resp)
    }
}
