//! The route table: every path the server answers, in one place.

use crate::api_dispatch::ApiDispatch;
use crate::config::RateLimitConfig;
use crate::{docs, health, http, openapi, static_files};
use auth::{AuthService, Authenticate};
use kernel::ApiDocument;
use poem::endpoint::BoxEndpoint;
use poem::web::Redirect;
use poem::{get, handler, EndpointExt, IntoEndpoint, Response, Route};
use resources::{RecordsEndpoint, Resources};
use std::sync::Arc;
use storage::Db;

/// The handles routes need, built once by `Application::build`.
pub struct Services {
    pub db: Db,
    pub auth: AuthService,
    pub resources: Resources,
    pub docs: Arc<ApiDocument>,
}

#[handler]
fn root() -> Redirect {
    Redirect::see_other("/api/docs")
}

/// `http`: the stack's settings; `rate_limit`: the API's (`None` turns limiting off).
pub fn build(
    services: Services,
    http: &http::HttpOptions,
    rate_limit: Option<RateLimitConfig>,
) -> BoxEndpoint<'static, Response> {
    let route = Route::new()
        .at("/", get(root))
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::readyz))
        .at("/api/v1/openapi.json", get(openapi::document))
        .nest(
            "/api/v1",
            ApiDispatch {
                system: openapi::api_service().into_endpoint(),
                records: RecordsEndpoint::new(services.resources.clone()),
            }
            // Authenticate outside, so the rate limit knows the caller.
            .with(http::RateLimit::new(rate_limit))
            .with(Authenticate::new(services.auth.clone())),
        )
        .at("/api/docs", get(docs::index))
        .at("/api/docs/problems", get(docs::problems))
        .at("/static/*path", get(static_files::serve))
        .data(services.db)
        .data(Arc::new(services.auth.clone()) as Arc<dyn kernel::AuditSink>)
        .data(services.auth)
        .data(services.resources)
        .data(services.docs);
    http::stack(route, http).boxed()
}
