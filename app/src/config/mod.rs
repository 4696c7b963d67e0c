//! Configuration: flags > `HEARTH_*` environment > `hearth.toml` > defaults, resolved and
//! validated once at start-up. A bad value stops the process with a one-line reason
//! (exit 2) before anything is served.

mod files;
mod parse;
mod realtime;
mod security;
mod sources;

pub use security::{Cidr, CorsConfig, RateLimitConfig, RateLimits, SecurityConfig, TlsFiles};
pub use sources::{load, Flags, Source};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use storage::Synchronous;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Every setting Hearth reads. Built only by [`load`] (or [`Config::for_data_dir`] in tests).
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub synchronous: Synchronous,
    /// SQLite page cache per connection (the writer and each reader), in bytes.
    pub cache_size: usize,
    pub body_limit: usize,
    /// The time budget of one database read (a list with a costly filter); zero: none.
    pub query_timeout: Duration,
    /// List requests one caller may have running at once; 0: no cap.
    pub max_concurrent_lists: usize,
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request body.
    pub body_read_timeout: Duration,
    pub shutdown_timeout: Duration,
    /// Connections served at once; more are answered 503 (see `server`).
    pub max_connections: usize,
    pub access_token_ttl: Duration,
    pub log_format: LogFormat,
    pub log: String,
    pub security: SecurityConfig,
    /// Scheduled online backups; `None` when `backup_interval` is 0.
    pub backups: Option<BackupConfig>,
    /// OpenTelemetry traces, from the standard `OTEL_*` variables; off without an endpoint.
    pub otel: observability::trace::OtelConfig,
    /// `/metrics` also answers `Authorization: Bearer <token>` when set (on the main
    /// listener it always answers admins' tokens); on the `metrics_bind` listener it is
    /// then required.
    pub metrics_token: Option<Secret>,
    /// How long audit events are kept (pruned in the background); `None` when
    /// `audit_retention` is 0 (kept forever).
    pub audit_retention: Option<Duration>,
    /// A second, plain-HTTP listener serving only `/metrics`, for scrapers that cannot
    /// send a token; `None` (the default): no such listener.
    pub metrics_bind: Option<SocketAddr>,
    /// Dashboard session lifetimes (idle 30 min, absolute 8 h); set in code, e.g. by tests.
    pub admin_sessions: admin::SessionLimits,
    /// What the change feed keeps for realtime streams to replay (`realtime_retention`,
    /// `realtime_max_rows`).
    pub realtime: feed::FeedConfig,
    /// Realtime streams: caps, buffer, heartbeat and re-check timings.
    pub realtime_streams: ::realtime::RealtimeConfig,
    /// Where file fields keep their blobs (`files_backend`, `s3_*`); its `Debug` hides
    /// the secret key.
    pub files: ::files::FilesConfig,
    /// When the file store's background work runs (the orphan sweep, the storage-used
    /// gauge); set in code, e.g. by tests.
    pub files_schedule: FilesSchedule,
    /// tus uploads: expiry (24 h), the largest upload, the sweep; set in code, e.g. by
    /// tests.
    pub uploads: ::files::tus::UploadsConfig,
}

/// Timings of the file store's background work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilesSchedule {
    /// The orphan sweep: at start, then every 6 h, for blobs older than 1 h.
    pub sweep: ::files::SweepConfig,
    /// How often the storage used per collection is recounted by listing the store
    /// (default 1 h: on S3 one LIST request per 1,000 objects).
    pub usage_every: Duration,
}

impl Default for FilesSchedule {
    fn default() -> Self {
        FilesSchedule {
            sweep: ::files::SweepConfig::default(),
            usage_every: Duration::from_secs(60 * 60),
        }
    }
}

/// A setting that must never be printed: `Debug` shows `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupConfig {
    pub interval: Duration,
    /// Default: `<data_dir>/backups`.
    pub dir: PathBuf,
    /// How many backups to keep; older ones are deleted after a new one checks out.
    pub keep: usize,
}

/// Name, environment variable and default of each setting; the flag is `--name-with-dashes`
/// and the config-file key is the name itself.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("bind", "HEARTH_BIND", "127.0.0.1:8080"),
    ("data_dir", "HEARTH_DATA_DIR", "./hearth_data"),
    ("synchronous", "HEARTH_SYNCHRONOUS", "normal"),
    ("cache_size", "HEARTH_CACHE_SIZE", "8MiB"),
    ("body_limit", "HEARTH_BODY_LIMIT", "1MiB"),
    ("query_timeout", "HEARTH_QUERY_TIMEOUT", "3s"),
    ("max_concurrent_lists", "HEARTH_MAX_CONCURRENT_LISTS", "4"),
    ("header_read_timeout", "HEARTH_HEADER_READ_TIMEOUT", "10s"),
    ("body_read_timeout", "HEARTH_BODY_READ_TIMEOUT", "30s"),
    ("shutdown_timeout", "HEARTH_SHUTDOWN_TIMEOUT", "10s"),
    ("max_connections", "HEARTH_MAX_CONNECTIONS", "1024"),
    ("access_token_ttl", "HEARTH_ACCESS_TOKEN_TTL", "1h"),
    ("log_format", "HEARTH_LOG_FORMAT", "text"),
    ("log", "HEARTH_LOG", "info"),
    ("tls_cert", "HEARTH_TLS_CERT", ""),
    ("tls_key", "HEARTH_TLS_KEY", ""),
    (
        "rate_limit_per_second",
        "HEARTH_RATE_LIMIT_PER_SECOND",
        "100",
    ),
    ("rate_limit_burst", "HEARTH_RATE_LIMIT_BURST", "200"),
    (
        "rate_limit_anonymous_per_second",
        "HEARTH_RATE_LIMIT_ANONYMOUS_PER_SECOND",
        "",
    ),
    (
        "rate_limit_anonymous_burst",
        "HEARTH_RATE_LIMIT_ANONYMOUS_BURST",
        "",
    ),
    (
        "rate_limit_user_per_second",
        "HEARTH_RATE_LIMIT_USER_PER_SECOND",
        "",
    ),
    ("rate_limit_user_burst", "HEARTH_RATE_LIMIT_USER_BURST", ""),
    (
        "rate_limit_admin_per_second",
        "HEARTH_RATE_LIMIT_ADMIN_PER_SECOND",
        "0",
    ),
    (
        "rate_limit_admin_burst",
        "HEARTH_RATE_LIMIT_ADMIN_BURST",
        "",
    ),
    (
        "rate_limit_auth_per_second",
        "HEARTH_RATE_LIMIT_AUTH_PER_SECOND",
        "5",
    ),
    (
        "rate_limit_auth_burst",
        "HEARTH_RATE_LIMIT_AUTH_BURST",
        "20",
    ),
    ("trusted_proxies", "HEARTH_TRUSTED_PROXIES", ""),
    ("cors_origins", "HEARTH_CORS_ORIGINS", ""),
    (
        "cors_methods",
        "HEARTH_CORS_METHODS",
        "GET,POST,PUT,PATCH,DELETE",
    ),
    (
        "cors_headers",
        "HEARTH_CORS_HEADERS",
        "authorization,content-type,if-match,if-none-match,idempotency-key",
    ),
    ("cors_credentials", "HEARTH_CORS_CREDENTIALS", "false"),
    ("backup_interval", "HEARTH_BACKUP_INTERVAL", "0"),
    ("backup_dir", "HEARTH_BACKUP_DIR", ""),
    ("backup_keep", "HEARTH_BACKUP_KEEP", "7"),
    ("metrics_token", "HEARTH_METRICS_TOKEN", ""),
    ("audit_retention", "HEARTH_AUDIT_RETENTION", "90d"),
    ("metrics_bind", "HEARTH_METRICS_BIND", ""),
    ("realtime_retention", "HEARTH_REALTIME_RETENTION", "24h"),
    ("realtime_max_rows", "HEARTH_REALTIME_MAX_ROWS", "1000000"),
    (
        "realtime_max_streams_per_user",
        "HEARTH_REALTIME_MAX_STREAMS_PER_USER",
        "8",
    ),
    (
        "realtime_max_streams",
        "HEARTH_REALTIME_MAX_STREAMS",
        "10000",
    ),
    ("realtime_buffer", "HEARTH_REALTIME_BUFFER", "1000"),
    ("files_backend", "HEARTH_FILES_BACKEND", "local"),
    ("s3_endpoint", "HEARTH_S3_ENDPOINT", ""),
    ("s3_bucket", "HEARTH_S3_BUCKET", ""),
    ("s3_region", "HEARTH_S3_REGION", ""),
    ("s3_access_key_id", "HEARTH_S3_ACCESS_KEY_ID", ""),
    ("s3_secret_access_key", "HEARTH_S3_SECRET_ACCESS_KEY", ""),
    (
        "s3_secret_access_key_file",
        "HEARTH_S3_SECRET_ACCESS_KEY_FILE",
        "",
    ),
    ("s3_path_style", "HEARTH_S3_PATH_STYLE", "false"),
];

/// A configuration problem, as the one line printed before exiting with status 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Defaults with another data directory: what tests and embedders start from.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Config {
        let mut config =
            sources::resolve(&Flags::default(), &|_| None, None).expect("defaults are valid");
        config.data_dir = data_dir.into();
        config
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("hearth.db")
    }

    /// Creates the data directory if needed (0700; an existing one is narrowed to 0700)
    /// and proves it is writable, so a read-only disk is reported at start-up rather than
    /// at the first write.
    pub fn ensure_data_dir_writable(&self) -> Result<(), ConfigError> {
        let dir = &self.data_dir;
        let fail = |e: std::io::Error| {
            ConfigError(format!(
                "data directory {} is not writable: {e}",
                dir.display()
            ))
        };
        storage::private_files::private_dir(dir).map_err(fail)?;
        let probe = dir.join(format!(".hearth-write-probe-{}", std::process::id()));
        std::fs::write(&probe, b"ok").map_err(fail)?;
        std::fs::remove_file(&probe).map_err(fail)
    }
}
