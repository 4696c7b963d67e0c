//! `Tus-Resumable: 1.0.0` on every answer under `/api/v1/uploads`, as tus requires,
//! including the refusals of the authentication and rate limit in front of the tus
//! endpoint (a bad token's 401, a 429), which never reach it. The endpoint itself
//! (files::tus) sets the header on its own answers.

use super::ErrorHeaders;
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

const NAME: &str = "tus-resumable";
const VERSION: HeaderValue = HeaderValue::from_static("1.0.0");

/// Put it outside the API's authentication and rate limit, inside a nest at `/api/v1`.
pub struct TusResumable;

impl<E: Endpoint> Middleware<E> for TusResumable {
    type Output = TusResumableEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        TusResumableEndpoint(ep)
    }
}

pub struct TusResumableEndpoint<E>(E);

impl<E: Endpoint> Endpoint for TusResumableEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let tus = files::tus::UploadsEndpoint::serves(req.uri().path());
        match self.0.call(req).await {
            Ok(resp) => {
                let mut resp = resp.into_response();
                if tus {
                    resp.headers_mut().insert(NAME, VERSION);
                }
                Ok(resp)
            }
            Err(mut err) if tus => {
                let mut headers = err
                    .data::<ErrorHeaders>()
                    .map(|h| h.0.clone())
                    .unwrap_or_default();
                headers.insert(NAME, VERSION);
                err.set_data(ErrorHeaders(headers));
                Err(err)
            }
            Err(err) => Err(err),
        }
    }
}
