//! The route table: every path the server answers, in one place.

use crate::api_dispatch::ApiDispatch;
use crate::metrics_access::MetricsAccess;
use crate::strict_bodies::StrictBodies;
use crate::{docs, health, http, openapi, static_files};
use auth::{AuthService, Authenticate};
use kernel::ApiDocument;
use observability::{ApiRouteTags, NoteCaller, Observability, Route as Tag};
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
    pub observability: Observability,
    /// The dashboard, served under `/admin`.
    pub admin: admin::Admin,
    pub realtime: realtime::Realtime,
    pub downloads: downloads::Downloads,
    /// Whether the file store answers, for `/readyz`.
    pub file_probe: health::FileStoreProbe,
    /// tus uploads, served under `/api/v1/uploads`.
    pub uploads: files::tus::Uploads,
}

#[handler]
fn root() -> Redirect {
    Redirect::see_other("/admin")
}

/// `http`: the stack's settings; `rate_limit`: the API's and the dashboard's (a handle:
/// the application changes the limits when an admin does).
pub fn build(
    services: Services,
    http: &http::HttpOptions,
    rate_limit: http::RateLimit,
    metrics_access: MetricsAccess,
) -> BoxEndpoint<'static, Response> {
    // Every route tags its answers with its template (logs and metrics never see raw paths).
    let resources = services.resources.clone();
    let api_tags = ApiRouteTags::new(openapi::api_routes(), move |name| {
        resources.has_collection(name)
    });
    let api_spec: serde_json::Value = serde_json::from_str(&openapi::api_service().spec())
        .expect("poem-openapi always produces valid JSON");
    let route = Route::new()
        .at("/", get(root).with(Tag("/")))
        .at("/healthz", get(health::healthz).with(Tag("/healthz")))
        .at("/readyz", get(health::readyz).with(Tag("/readyz")))
        .at(
            "/metrics",
            get(observability::metrics_endpoint)
                .with(metrics_access)
                .with(Tag("/metrics")),
        )
        .at(
            "/api/v1/openapi.json",
            // Behind authentication: the document shows a caller only what it may use.
            get(openapi::document)
                .with(rate_limit.by_caller())
                .with(Authenticate::new(services.auth.clone()))
                .with(rate_limit.by_address(false))
                .with(Tag("/api/v1/openapi.json")),
        )
        .nest(
            "/api/v1",
            ApiDispatch {
                // Types checked strictly first: poem-openapi coerces and takes nulls.
                system: StrictBodies::new(openapi::api_service().into_endpoint(), &api_spec),
                records: RecordsEndpoint::new(
                    services.resources.clone(),
                    http.max_concurrent_lists,
                ),
                realtime: realtime::RealtimeEndpoint::new(services.realtime.clone()),
                files: downloads::DownloadsEndpoint::new(services.downloads.clone()),
                uploads: files::tus::UploadsEndpoint::new(services.uploads.clone()),
            }
            // Authenticate outside, so the rate limit knows the caller; the auth
            // endpoints and bad tokens are limited by address before it.
            .with(rate_limit.by_caller())
            .with(NoteCaller)
            .with(Authenticate::new(services.auth.clone()))
            .with(rate_limit.by_address(false))
            .with(http::TusResumable)
            .with(api_tags),
        )
        .nest(
            "/admin",
            services.admin.routes().with(rate_limit.by_address(true)),
        )
        .at("/api/docs", get(docs::index).with(Tag("/api/docs")))
        .at(
            "/api/docs/problems",
            get(docs::problems).with(Tag("/api/docs/problems")),
        )
        .at(
            "/static/*path",
            get(static_files::serve).with(Tag("/static/{path}")),
        )
        .data(services.db)
        .data(services.file_probe)
        .data(Arc::new(services.auth.clone()) as Arc<dyn kernel::AuditSink>)
        .data(services.auth)
        .data(services.resources)
        .data(services.docs)
        .data(services.observability.clone());
    let mut http = http.clone();
    http.observe = Some(services.observability);
    http.allow = Arc::new(allow_table(&api_spec));
    http::stack(route, &http).boxed()
}

/// The methods of every route above, for `Allow` on a 405 (the records endpoint sets its
/// own): the static API's from its generated document, the dashboard's from its table.
fn allow_table(api_spec: &serde_json::Value) -> http::AllowTable {
    let mut table = http::AllowTable::new().openapi("/api/v1", api_spec);
    table = table
        .route("/api/v1/realtime", &["GET"])
        .route("/api/v1/realtime/tickets", &["POST"])
        .route("/api/v1/files/token", &["POST"])
        .route(
            "/api/v1/files/{collection}/{record_id}/{filename}",
            &["GET"],
        );
    for path in [
        "/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/docs",
        "/api/docs/problems",
        "/static/*path",
    ] {
        table = table.route(path, &["GET"]);
    }
    for (path, methods) in admin::Admin::route_methods() {
        table = table.route(&format!("/admin{path}"), methods);
    }
    table
}

/// The `metrics_bind` listener's routes: `/metrics` and nothing else, in the same stack.
pub fn metrics_only(
    observability: Observability,
    access: MetricsAccess,
    http: &http::HttpOptions,
) -> BoxEndpoint<'static, Response> {
    let route = Route::new()
        .at(
            "/metrics",
            get(observability::metrics_endpoint)
                .with(access)
                .with(Tag("/metrics")),
        )
        .data(observability.clone());
    let mut http = http.clone();
    http.observe = Some(observability);
    http.allow = Arc::new(http::AllowTable::new().route("/metrics", &["GET"]));
    http::stack(route, &http).boxed()
}
