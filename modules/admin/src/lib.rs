//! The admin dashboard: server-rendered pages (askama templates in `templates/admin/`,
//! assets in `static/admin/`) over the same services the API uses. No validation, rule
//! or query is repeated here: pages turn forms into service calls and service errors
//! into messages next to the fields they name.
//!
//! Owns the `admin_sessions` table (cookie sessions, separate from API tokens).

mod context;
mod cookies;
mod form;
mod guard;
mod multipart_csrf;
mod page;
mod pages;
mod session;
mod stats;

pub use session::SessionLimits;

use auth::AuthService;
use observability::Observability;
use realtime::Realtime;
use resources::Resources;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use storage::Db;

/// The readiness check the overview shows (`Ok` when the database accepts writes).
pub type HealthCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// What the dashboard needs from the application.
#[derive(Clone)]
pub struct AdminConfig {
    pub sessions: SessionLimits,
    /// Served over HTTPS: cookies get `Secure` and the `__Host-` prefix.
    pub https: bool,
    /// `/static/…?v=HASH` for a file under `static/` (the application's asset table).
    pub asset_url: fn(&str) -> String,
    /// Database files whose sizes the overview shows (the db and its WAL).
    pub database_files: Vec<std::path::PathBuf>,
    pub health: Option<HealthCheck>,
}

/// The services the pages call, shared by every request.
#[derive(Clone)]
pub struct Admin {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub auth: AuthService,
    pub resources: Resources,
    pub observability: Option<Observability>,
    /// The records page's live updates and the overview's count of open streams.
    pub realtime: Realtime,
    pub sessions: session::Sessions,
    pub config: AdminConfig,
}

impl Admin {
    pub fn new(
        db: Db,
        auth: AuthService,
        resources: Resources,
        realtime: Realtime,
        observability: Option<Observability>,
        config: AdminConfig,
    ) -> Admin {
        Admin {
            inner: Arc::new(Inner {
                auth,
                resources,
                realtime,
                observability,
                sessions: session::Sessions::new(db, config.sessions),
                config,
            }),
        }
    }

    /// Every `/admin…` route, to be nested at `/admin`.
    /// Each route's methods (paths under `/admin`), for `Allow` on a 405.
    pub fn route_methods() -> &'static [(&'static str, &'static [&'static str])] {
        pages::ROUTE_METHODS
    }

    pub fn routes(&self) -> poem::endpoint::BoxEndpoint<'static, poem::Response> {
        pages::routes(self.clone())
    }
}
