//! Everything under `/api/v1` goes through one endpoint: system paths (the reserved
//! collection names: `auth`, `collections`, …) to the static poem-openapi routes, every
//! other first segment to the records of the collection of that name. A collection can
//! never shadow a system route because those names are refused for collections. The
//! realtime paths (`/realtime…`, `/{collection}/events`) go to the realtime module,
//! `/files/…` (downloads, file tokens) to the downloads module, and the tus upload paths
//! (`/uploads`, `/uploads/{id}`) to the files module.

use poem::{Endpoint, IntoResponse, Request, Response, Result};
use resources::RESERVED_NAMES;

pub struct ApiDispatch<S, R, T, F, U> {
    pub system: S,
    pub records: R,
    pub realtime: T,
    pub files: F,
    pub uploads: U,
}

impl<S: Endpoint, R: Endpoint, T: Endpoint, F: Endpoint, U: Endpoint> Endpoint
    for ApiDispatch<S, R, T, F, U>
{
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        if files::tus::UploadsEndpoint::serves(req.uri().path()) {
            return self
                .uploads
                .call(req)
                .await
                .map(IntoResponse::into_response);
        }
        if downloads::DownloadsEndpoint::serves(req.uri().path()) {
            return self.files.call(req).await.map(IntoResponse::into_response);
        }
        if realtime::RealtimeEndpoint::serves(req.uri().path()) {
            return self
                .realtime
                .call(req)
                .await
                .map(IntoResponse::into_response);
        }
        let first = req
            .uri()
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        if RESERVED_NAMES.contains(&first) {
            self.system.call(req).await.map(IntoResponse::into_response)
        } else {
            self.records
                .call(req)
                .await
                .map(IntoResponse::into_response)
        }
    }
}
