//! `Application::build(config)` constructs the whole server; `main` and the tests both
//! start it this way, so tests run exactly what users run.

use crate::config::{Config, ConfigError};
use crate::data_lock::DataDirLock;
use crate::metrics_access::{Listener, MetricsAccess};
use crate::migrations::MIGRATIONS;
use crate::routes::{self, Services};
use crate::server::{self, ServerOptions};
use auth::{AuthConfig, AuthService, AuthSettings, ConfiguredSettings};
use observability::{Observability, RecordCounter};
use poem::endpoint::BoxEndpoint;
use poem::Response;
use resources::Resources;
use std::future::Future;
use std::net::SocketAddr;
use storage::{Db, StorageConfig, StorageError};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Locked(String),
    #[error("cannot load collections: {0}")]
    Resources(String),
    #[error("cannot open the file store: {0}")]
    Files(String),
    #[error("cannot read the stored settings: {0}")]
    Settings(String),
    #[error("cannot normalise the stored email addresses: {0}")]
    Accounts(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub struct Application {
    listener: TcpListener,
    endpoint: BoxEndpoint<'static, Response>,
    /// The `metrics_bind` listener and its endpoint (only `/metrics`).
    metrics: Option<(TcpListener, BoxEndpoint<'static, Response>)>,
    tls: Option<TlsAcceptor>,
    db: Db,
    auth: AuthService,
    resources: Resources,
    /// The change feed and its pruner (stopped before the database closes).
    feed: feed::Feed,
    /// Realtime streams: ended first when the server shuts down, since they would
    /// otherwise hold the drain for its whole timeout.
    realtime: realtime::Realtime,
    /// The deletion queue, the orphan sweep and the files metrics' refresh (stopped
    /// before the database closes).
    file_work: crate::file_work::FileWork,
    /// The file store (local or S3) records' files live in.
    files: files::BlobStore,
    downloads: downloads::Downloads,
    config: Config,
    /// Held while the application lives: one server per data directory.
    _lock: DataDirLock,
}

/// Opens (and migrates) the database the configuration points at.
pub async fn open_database(config: &Config) -> Result<Db, StartError> {
    config.ensure_data_dir_writable()?;
    let mut storage = StorageConfig::new(config.database_path());
    storage.synchronous = config.synchronous;
    storage.query_timeout = config.query_timeout;
    // The setting is validated to at most 4 GiB, so the KiB count fits in a u32.
    storage.cache_size_kib = u32::try_from(config.cache_size / 1024).unwrap_or(u32::MAX);
    let db = tokio::task::spawn_blocking(move || Db::open(storage, MIGRATIONS))
        .await
        .map_err(|e| StorageError::Panicked(e.to_string()))??;
    Ok(db)
}

pub fn auth_service(db: Db, config: &Config) -> AuthService {
    let security = &config.security;
    AuthService::new(
        db,
        AuthConfig {
            access_ttl: config.access_token_ttl,
            configured_settings: ConfiguredSettings {
                cors_origins: security.cors.origins.clone(),
                cors_credentials: security.cors.credentials,
                rate_limit_per_second: security.rate_limit.per_second,
                rate_limit_burst: security.rate_limit.burst,
                audiences: security.rate_limit_audiences,
            },
            ..AuthConfig::default()
        },
    )
}

/// The settings an admin may change at run time (CORS origins, the rate limit; API.md 4)
/// reach the middleware that applies them: the stored values now (a database value wins
/// over the configuration), and every later change as soon as it is saved.
async fn follow_settings(
    auth: &AuthService,
    cors: &crate::http::Cors,
    rate_limit: &crate::http::RateLimit,
) -> Result<(), StartError> {
    let (cors, rate_limit) = (cors.clone(), rate_limit.clone());
    let apply = move |s: &AuthSettings| {
        let limits = crate::config::RateLimits::from_settings(s);
        let now = rate_limit.current();
        let same_limits = auth::Audience::ALL
            .iter()
            .all(|a| now.get(*a).same_as(&limits.get(*a)));
        if cors.origins() != s.cors_origins.value || !same_limits {
            let shown = |a: auth::Audience| {
                let l = s.rate_limits.get(a);
                format!(
                    "{}/s ({}), burst {} ({})",
                    l.per_second.value,
                    l.per_second.source.as_str(),
                    l.burst.value,
                    l.burst.source.as_str()
                )
            };
            tracing::info!(
                cors_origins = ?s.cors_origins.value,
                cors_origins_from = s.cors_origins.source.as_str(),
                rate_limit_anonymous = shown(auth::Audience::Anonymous),
                rate_limit_user = shown(auth::Audience::User),
                rate_limit_admin = shown(auth::Audience::Admin),
                rate_limit_auth = shown(auth::Audience::Auth),
                "applying settings"
            );
        }
        cors.set_origins(&s.cors_origins.value);
        rate_limit.set(limits);
    };
    let current = auth
        .settings()
        .await
        .map_err(|e| StartError::Settings(e.to_string()))?;
    apply(&current);
    auth.on_settings_changed(Box::new(apply));
    Ok(())
}

/// Metrics and request statistics, reporting on this database and these collections.
pub fn observability(db: &Db, resources: &Resources) -> Observability {
    let resources = resources.clone();
    let count: RecordCounter = Box::new(move || {
        let resources = resources.clone();
        Box::pin(async move { resources.count_records().await.map_err(|e| e.to_string()) })
    });
    Observability::new(db, count)
}

/// The admin dashboard over the same services as the API.
pub fn dashboard(
    db: &Db,
    auth: &AuthService,
    resources: &Resources,
    realtime: &realtime::Realtime,
    observability: &Observability,
    config: &Config,
    https: bool,
) -> admin::Admin {
    let probe = db.clone();
    let health: admin::HealthCheck = std::sync::Arc::new(move || {
        let db = probe.clone();
        Box::pin(async move {
            match tokio::time::timeout(std::time::Duration::from_secs(2), db.check_writable()).await
            {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("the database did not answer within 2 s".into()),
            }
        })
    });
    let path = config.database_path();
    let wal = path.with_extension("db-wal");
    admin::Admin::new(
        db.clone(),
        auth.clone(),
        resources.clone(),
        realtime.clone(),
        Some(observability.clone()),
        admin::AdminConfig {
            sessions: config.admin_sessions,
            https,
            asset_url: crate::static_files::asset_url,
            database_files: vec![path, wal],
            health: Some(health),
        },
    )
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartError> {
        // Certificate problems are configuration errors, found before anything opens.
        let tls = match &config.security.tls {
            Some(files) => Some(crate::tls::acceptor(files)?),
            None => None,
        };
        config.ensure_data_dir_writable()?;
        let lock = DataDirLock::acquire(&config.data_dir)
            .map_err(|e| StartError::Locked(e.to_string()))?;
        // Before the database, so that bad S3 settings (a secret file that cannot be
        // read) stop the start as the configuration errors they are, before any work.
        let blob_store =
            files::BlobStore::open(&config.files, &config.data_dir).map_err(|e| match e {
                files::OpenError::Config(c) => StartError::Config(ConfigError(c.0)),
                files::OpenError::Store(s) => StartError::Files(s.to_string()),
            })?;
        let db = open_database(&config).await?;
        let auth = auth_service(db.clone(), &config);
        if let Err(e) = auth.normalize_stored_emails().await {
            let _ = db.close().await;
            return Err(StartError::Accounts(e.to_string()));
        }
        let docs = crate::openapi::new_document();
        let resources = Resources::load(db.clone(), docs.clone())
            .await
            .map_err(|e| StartError::Resources(e.to_string()))?;
        let uploads = files::tus::Uploads::open(
            db.clone(),
            blob_store.clone(),
            &config.data_dir,
            config.uploads,
            crate::upload_limits::lookup(&resources),
        )
        .map_err(|e| StartError::Resources(format!("tus uploads: {e}")))?;
        let resources = resources
            .with_files(blob_store.clone())
            .with_uploads(uploads.clone());
        // After `Resources::load`, which gives tables from before the feed their triggers.
        // Dropped (and so stopped) with the rest if a later step fails.
        let feed = feed::Feed::start(db.clone(), config.realtime);
        let observability = observability(&db, &resources);
        let files_metrics = crate::files_metrics::FilesMetricsExport::new(blob_store.clone());
        observability
            .metrics()
            .register(|registry| files_metrics.register(registry));
        let file_work = crate::file_work::FileWork::start(
            db.clone(),
            blob_store.clone(),
            resources.clone(),
            &files_metrics,
            config.files_schedule,
        );
        let realtime_metrics = realtime::RealtimeMetrics::default();
        observability
            .metrics()
            .register(|registry| realtime_metrics.register(registry));
        let realtime = realtime::Realtime::start(
            config.realtime_streams.clone(),
            resources.clone(),
            auth.clone(),
            feed.clone(),
            realtime_metrics,
        );
        let downloads_metrics = downloads::DownloadsMetrics::default();
        observability
            .metrics()
            .register(|registry| downloads_metrics.register(registry));
        let downloads = downloads::Downloads::new(
            resources.clone(),
            auth.clone(),
            blob_store.clone(),
            thumbs::Thumbnailer::new(thumbs::ThumbnailerConfig::default()),
            downloads_metrics,
            downloads::DownloadsConfig::default(),
        );
        let admin = dashboard(
            &db,
            &auth,
            &resources,
            &realtime,
            &observability,
            &config,
            tls.is_some(),
        );
        let services = Services {
            db: db.clone(),
            auth: auth.clone(),
            resources: resources.clone(),
            docs,
            observability,
            admin,
            realtime: realtime.clone(),
            downloads: downloads.clone(),
            file_probe: crate::health::FileStoreProbe::new(blob_store.clone()),
            uploads,
        };
        let http = crate::http::HttpOptions::from_config(&config, tls.is_some());
        let rate_limit = crate::http::RateLimit::new(crate::config::RateLimits::configured(
            config.security.rate_limit,
            &config.security.rate_limit_audiences,
        ));
        follow_settings(&auth, &http.cors, &rate_limit).await?;
        let metrics_endpoint = config.metrics_bind.map(|_| {
            let access = MetricsAccess::new(
                auth.clone(),
                config.metrics_token.clone(),
                Listener::Metrics,
            );
            routes::metrics_only(services.observability.clone(), access, &http)
        });
        let main_access =
            MetricsAccess::new(auth.clone(), config.metrics_token.clone(), Listener::Main);
        let endpoint = routes::build(services, &http, rate_limit, main_access);
        let mut addrs = vec![config.bind];
        addrs.extend(config.metrics_bind);
        let mut listeners = Vec::new();
        for addr in addrs {
            match TcpListener::bind(addr).await {
                Ok(listener) => listeners.push(listener),
                Err(source) => {
                    let _ = db.close().await;
                    return Err(StartError::Bind { addr, source });
                }
            }
        }
        let mut listeners = listeners.into_iter();
        let listener = listeners.next().expect("the main listener");
        let metrics = listeners.next().zip(metrics_endpoint);
        Ok(Application {
            listener,
            endpoint,
            metrics,
            tls,
            db,
            auth,
            resources,
            feed,
            realtime,
            file_work,
            files: blob_store,
            downloads,
            config,
            _lock: lock,
        })
    }

    /// The bound address (the real port when the configuration asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.config.bind)
    }

    /// The `metrics_bind` listener's address, if there is one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Whether the server speaks HTTPS (`tls_cert`/`tls_key` are set).
    pub fn is_https(&self) -> bool {
        self.tls.is_some()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn auth(&self) -> &AuthService {
        &self.auth
    }

    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// The store records' files live in.
    pub fn files(&self) -> &files::BlobStore {
        &self.files
    }

    /// File downloads and file tokens.
    pub fn downloads(&self) -> &downloads::Downloads {
        &self.downloads
    }

    /// The change feed (`changes`): what realtime streams read.
    pub fn feed(&self) -> &feed::Feed {
        &self.feed
    }

    /// Serves until `shutdown` resolves, drains in-flight requests (bounded by the
    /// configured shutdown timeout), then checkpoints and closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), StartError> {
        if let Some(backups) = self.config.backups.clone() {
            tokio::spawn(crate::backups::run(self.db.clone(), backups));
        }
        if let Some(retention) = self.config.audit_retention {
            tokio::spawn(self.auth.clone().prune_audit_log_forever(retention));
        }
        let options = ServerOptions {
            header_read_timeout: self.config.header_read_timeout,
            shutdown_timeout: self.config.shutdown_timeout,
            tls: self.tls,
            max_connections: self.config.max_connections,
        };
        // The metrics listener stops once the main one has drained, so the last scrape
        // can still see the shutdown.
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics = self.metrics.map(|(listener, endpoint)| {
            let options = ServerOptions {
                header_read_timeout: self.config.header_read_timeout,
                shutdown_timeout: self.config.shutdown_timeout,
                tls: None,
                // Scrapers are few; the cap keeps a flood on this port bounded too.
                max_connections: 64,
            };
            tokio::spawn(server::serve(listener, endpoint, options, async {
                let _ = metrics_stopped.await;
            }))
        });
        let realtime = self.realtime.clone();
        let shutdown = async move {
            shutdown.await;
            realtime.shutdown();
        };
        server::serve(self.listener, self.endpoint, options, shutdown).await;
        let _ = stop_metrics.send(());
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        self.feed.stop();
        self.file_work.stop();
        self.db.close().await?;
        tracing::info!("stopped cleanly");
        Ok(())
    }
}
