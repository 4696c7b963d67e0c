//! `GET /metrics`: the Prometheus text exposition. Who may read it is the application's
//! decision (the main listener wants a token, a separate `metrics_bind` listener may not),
//! so it wraps this handler; nothing here checks credentials.

use crate::metrics::CONTENT_TYPE;
use crate::Observability;
use poem::http::header;
use poem::web::Data;
use poem::{handler, Response};

#[handler]
pub async fn metrics(observability: Data<&Observability>) -> Response {
    observability.refresh_record_counts().await;
    Response::builder()
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .header(header::CACHE_CONTROL, "no-store")
        .body(observability.metrics().render())
}
