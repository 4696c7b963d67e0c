//! The command line (API.md section 6). Every setting flag is global, so
//! `hearth serve --bind …` and `hearth --bind … serve` both work.

use crate::config::Flags;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "hearth",
    version,
    about = "A self-hosted backend in one binary"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply migrations, then serve until SIGINT/SIGTERM (then drain and exit 0).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Write a consistent backup of the database and the local files to the directory
    /// OUT (safe while a server runs).
    Backup {
        /// The directory to create (hearth.db, files/, backup.json); it must not exist.
        out: PathBuf,
    },
    /// Print the current OpenAPI document.
    Openapi,
    /// Check BACKUP's integrity, copy its files back, then make it the database (refused
    /// while a server runs on the data directory; the current database is kept beside it).
    Restore {
        /// A directory written by `hearth backup` or a scheduled backup, or a plain
        /// database file (an older backup, a Litestream restore).
        backup: PathBuf,
    },
    /// Exit 0 if the server at the configured address answers /healthz (for container
    /// HEALTHCHECKs, where there is no curl).
    Healthcheck,
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an admin, or reset an existing account to an enabled admin with a new password.
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input
        /// (otherwise from HEARTH_ADMIN_PASSWORD).
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Settings that can also come from `HEARTH_*` variables and `hearth.toml`.
#[derive(Args, Debug, Default)]
pub struct SettingArgs {
    /// Config file [env: HEARTH_CONFIG] [default: ./hearth.toml if it exists]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [env: HEARTH_BIND] [default: 127.0.0.1:8080]
    #[arg(long, global = true, value_name = "IP:PORT")]
    pub bind: Option<String>,
    /// Where the database lives [env: HEARTH_DATA_DIR] [default: ./hearth_data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// SQLite synchronous mode: normal or full [env: HEARTH_SYNCHRONOUS]
    #[arg(long, global = true, value_name = "MODE")]
    pub synchronous: Option<String>,
    /// SQLite page cache per connection, e.g. 8MiB [env: HEARTH_CACHE_SIZE]
    #[arg(long, global = true, value_name = "SIZE")]
    pub cache_size: Option<String>,
    /// Largest request body, e.g. 1MiB [env: HEARTH_BODY_LIMIT]
    #[arg(long, global = true, value_name = "SIZE")]
    pub body_limit: Option<String>,
    /// Time budget of one database query, e.g. 3s; 0 for none [env: HEARTH_QUERY_TIMEOUT]
    #[arg(long, global = true, value_name = "DURATION")]
    pub query_timeout: Option<String>,
    /// List requests one caller may run at once, e.g. 4; 0 for no cap [env: HEARTH_MAX_CONCURRENT_LISTS]
    #[arg(long, global = true, value_name = "N")]
    pub max_concurrent_lists: Option<String>,
    /// Time allowed to send request headers, e.g. 10s [env: HEARTH_HEADER_READ_TIMEOUT]
    #[arg(long, global = true, value_name = "DURATION")]
    pub header_read_timeout: Option<String>,
    /// Time allowed to send a request body, e.g. 30s [env: HEARTH_BODY_READ_TIMEOUT]
    #[arg(long, global = true, value_name = "DURATION")]
    pub body_read_timeout: Option<String>,
    /// Time in-flight requests get at shutdown, e.g. 10s [env: HEARTH_SHUTDOWN_TIMEOUT]
    #[arg(long, global = true, value_name = "DURATION")]
    pub shutdown_timeout: Option<String>,
    /// Connections served at once; more are answered 503 [env: HEARTH_MAX_CONNECTIONS] [default: 1024]
    #[arg(long, global = true, value_name = "N")]
    pub max_connections: Option<String>,
    /// Lifetime of access tokens, e.g. 1h [env: HEARTH_ACCESS_TOKEN_TTL]
    #[arg(long, global = true, value_name = "DURATION")]
    pub access_token_ttl: Option<String>,
    /// text or json [env: HEARTH_LOG_FORMAT]
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Log filter, e.g. info or hearth=debug [env: HEARTH_LOG]
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
    /// PEM certificate chain: serve HTTPS directly [env: HEARTH_TLS_CERT]
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_cert: Option<String>,
    /// PEM private key for --tls-cert [env: HEARTH_TLS_KEY]
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_key: Option<String>,
    /// Sustained requests per second per caller; 0 turns limiting off [env: HEARTH_RATE_LIMIT_PER_SECOND]
    #[arg(long, global = true, value_name = "N")]
    pub rate_limit_per_second: Option<String>,
    /// Requests a caller may burst above the rate [env: HEARTH_RATE_LIMIT_BURST]
    #[arg(long, global = true, value_name = "N")]
    pub rate_limit_burst: Option<String>,
    /// Requests per second for callers without a valid token, per address; 0: unthrottled [env: HEARTH_RATE_LIMIT_ANONYMOUS_PER_SECOND] [default: rate_limit_*]
    #[arg(long, global = true, value_name = "N")]
    pub rate_limit_anonymous_per_second: Option<String>,
    /// Burst for callers without a valid token, per address [env: HEARTH_RATE_LIMIT_ANONYMOUS_BURST] [default: rate_limit_*]
    #[arg(long, global = true, value_name = "N")]
    pub rate_limit_anonymous_burst: Option<String>,
    /// Requests per second for signed-in users, per user; 0: unthrottled [env: HEARTH_RATE_LIMIT_USER_PER_SECOND] [default: rate_limit_*]
    #[arg(long, global = true, value_name = "N")]
    pub rate_limit_user_per_second: Option<String>,
    /// Burst for signed-in users, per user [env: HEARTH_RATE_LIMIT_USER_BURST] [default: rate_limit_*]
    #[arg(long, global = true, value_name = "N")]
    pub rate_limit_user_burst: Option<String>,
    /// Requests per second for callers acting as admin, per user; 0: unthrottled [env: HEARTH_RATE_LIMIT_ADMIN_PER_SECOND] [default: 0]
    #[arg(long, global = true, value_name = "N")]
    pub rate_limit_admin_per_second: Option<String>,
    /// Burst for callers acting as admin, per user [env: HEARTH_RATE_LIMIT_ADMIN_BURST] [default: rate_limit_burst]
    #[arg(long, global = true, value_name = "N")]
    pub rate_limit_admin_burst: Option<String>,
    /// Requests per second for login, refresh, register, setup, password reset, per address; 0: unthrottled [env: HEARTH_RATE_LIMIT_AUTH_PER_SECOND]
    #[arg(long, global = true, value_name = "N")]
    pub rate_limit_auth_per_second: Option<String>,
    /// Burst for login, refresh, register, setup, password reset, per address [env: HEARTH_RATE_LIMIT_AUTH_BURST]
    #[arg(long, global = true, value_name = "N")]
    pub rate_limit_auth_burst: Option<String>,
    /// Proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is trusted [env: HEARTH_TRUSTED_PROXIES]
    #[arg(long, global = true, value_name = "LIST")]
    pub trusted_proxies: Option<String>,
    /// Origins allowed by CORS, comma-separated (none by default) [env: HEARTH_CORS_ORIGINS]
    #[arg(long, global = true, value_name = "LIST")]
    pub cors_origins: Option<String>,
    /// Methods allowed by CORS [env: HEARTH_CORS_METHODS]
    #[arg(long, global = true, value_name = "LIST")]
    pub cors_methods: Option<String>,
    /// Request headers allowed by CORS [env: HEARTH_CORS_HEADERS]
    #[arg(long, global = true, value_name = "LIST")]
    pub cors_headers: Option<String>,
    /// Allow credentialed CORS requests [env: HEARTH_CORS_CREDENTIALS]
    #[arg(long, global = true, value_name = "BOOL")]
    pub cors_credentials: Option<String>,
    /// Take an online backup this often, e.g. 6h; 0 turns it off [env: HEARTH_BACKUP_INTERVAL]
    #[arg(long, global = true, value_name = "DURATION")]
    pub backup_interval: Option<String>,
    /// Where scheduled backups go [env: HEARTH_BACKUP_DIR] [default: DATA_DIR/backups]
    #[arg(long, global = true, value_name = "DIR")]
    pub backup_dir: Option<String>,
    /// How many scheduled backups to keep [env: HEARTH_BACKUP_KEEP]
    #[arg(long, global = true, value_name = "N")]
    pub backup_keep: Option<String>,
    /// Require `Authorization: Bearer TOKEN` on /metrics (off when empty) [env: HEARTH_METRICS_TOKEN]
    #[arg(long, global = true, value_name = "TOKEN")]
    pub metrics_token: Option<String>,
    /// How long audit events are kept, e.g. 90d; 0 keeps them forever [env: HEARTH_AUDIT_RETENTION]
    #[arg(long, global = true, value_name = "DURATION")]
    pub audit_retention: Option<String>,
    /// Serve /metrics, and nothing else, on this second address (plain HTTP) [env: HEARTH_METRICS_BIND]
    #[arg(long, global = true, value_name = "IP:PORT")]
    pub metrics_bind: Option<String>,
    /// How long the change feed keeps changes for realtime clients to replay, e.g. 24h [env: HEARTH_REALTIME_RETENTION]
    #[arg(long, global = true, value_name = "DURATION")]
    pub realtime_retention: Option<String>,
    /// At most this many changes are kept in the change feed [env: HEARTH_REALTIME_MAX_ROWS]
    #[arg(long, global = true, value_name = "N")]
    pub realtime_max_rows: Option<String>,
    /// Realtime streams one user (anonymous: one client network) may hold open [env: HEARTH_REALTIME_MAX_STREAMS_PER_USER]
    #[arg(long, global = true, value_name = "N")]
    pub realtime_max_streams_per_user: Option<String>,
    /// Realtime streams the server holds open in all [env: HEARTH_REALTIME_MAX_STREAMS]
    #[arg(long, global = true, value_name = "N")]
    pub realtime_max_streams: Option<String>,
    /// Events a stream may fall behind before it ends with `overflow` [env: HEARTH_REALTIME_BUFFER]
    #[arg(long, global = true, value_name = "N")]
    pub realtime_buffer: Option<String>,
    /// Where file fields keep their blobs: local (DATA_DIR/files) or s3 [env: HEARTH_FILES_BACKEND] [default: local]
    #[arg(long, global = true, value_name = "BACKEND")]
    pub files_backend: Option<String>,
    /// The S3 service's URL, e.g. https://s3.eu-central-1.amazonaws.com [env: HEARTH_S3_ENDPOINT] [default: AWS's for s3_region]
    #[arg(long, global = true, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// The bucket files are stored in; Hearth's alone [env: HEARTH_S3_BUCKET]
    #[arg(long, global = true, value_name = "NAME")]
    pub s3_bucket: Option<String>,
    /// The bucket's region [env: HEARTH_S3_REGION] [default: us-east-1]
    #[arg(long, global = true, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// S3 access key id; without it, the AWS environment's credentials [env: HEARTH_S3_ACCESS_KEY_ID]
    #[arg(long, global = true, value_name = "ID")]
    pub s3_access_key_id: Option<String>,
    /// S3 secret key; prefer the environment or s3_secret_access_key_file, as flags show up in `ps` [env: HEARTH_S3_SECRET_ACCESS_KEY]
    #[arg(long, global = true, value_name = "SECRET")]
    pub s3_secret_access_key: Option<String>,
    /// A file holding the S3 secret key [env: HEARTH_S3_SECRET_ACCESS_KEY_FILE]
    #[arg(long, global = true, value_name = "FILE")]
    pub s3_secret_access_key_file: Option<String>,
    /// Path-style S3 URLs (endpoint/bucket/key), for MinIO and most self-hosted services [env: HEARTH_S3_PATH_STYLE] [default: false]
    #[arg(long, global = true, value_name = "BOOL")]
    pub s3_path_style: Option<String>,
}

impl SettingArgs {
    pub fn flags(&self) -> Flags {
        let mut flags = Flags {
            config: self.config.clone(),
            ..Flags::default()
        };
        let given = [
            ("bind", &self.bind),
            ("data_dir", &self.data_dir),
            ("synchronous", &self.synchronous),
            ("cache_size", &self.cache_size),
            ("body_limit", &self.body_limit),
            ("query_timeout", &self.query_timeout),
            ("max_concurrent_lists", &self.max_concurrent_lists),
            ("header_read_timeout", &self.header_read_timeout),
            ("body_read_timeout", &self.body_read_timeout),
            ("shutdown_timeout", &self.shutdown_timeout),
            ("max_connections", &self.max_connections),
            ("access_token_ttl", &self.access_token_ttl),
            ("log_format", &self.log_format),
            ("log", &self.log),
            ("tls_cert", &self.tls_cert),
            ("tls_key", &self.tls_key),
            ("rate_limit_per_second", &self.rate_limit_per_second),
            ("rate_limit_burst", &self.rate_limit_burst),
            (
                "rate_limit_anonymous_per_second",
                &self.rate_limit_anonymous_per_second,
            ),
            (
                "rate_limit_anonymous_burst",
                &self.rate_limit_anonymous_burst,
            ),
            (
                "rate_limit_user_per_second",
                &self.rate_limit_user_per_second,
            ),
            ("rate_limit_user_burst", &self.rate_limit_user_burst),
            (
                "rate_limit_admin_per_second",
                &self.rate_limit_admin_per_second,
            ),
            ("rate_limit_admin_burst", &self.rate_limit_admin_burst),
            (
                "rate_limit_auth_per_second",
                &self.rate_limit_auth_per_second,
            ),
            ("rate_limit_auth_burst", &self.rate_limit_auth_burst),
            ("trusted_proxies", &self.trusted_proxies),
            ("cors_origins", &self.cors_origins),
            ("cors_methods", &self.cors_methods),
            ("cors_headers", &self.cors_headers),
            ("cors_credentials", &self.cors_credentials),
            ("backup_interval", &self.backup_interval),
            ("backup_dir", &self.backup_dir),
            ("backup_keep", &self.backup_keep),
            ("metrics_token", &self.metrics_token),
            ("audit_retention", &self.audit_retention),
            ("metrics_bind", &self.metrics_bind),
            ("realtime_retention", &self.realtime_retention),
            ("realtime_max_rows", &self.realtime_max_rows),
            (
                "realtime_max_streams_per_user",
                &self.realtime_max_streams_per_user,
            ),
            ("realtime_max_streams", &self.realtime_max_streams),
            ("realtime_buffer", &self.realtime_buffer),
            ("files_backend", &self.files_backend),
            ("s3_endpoint", &self.s3_endpoint),
            ("s3_bucket", &self.s3_bucket),
            ("s3_region", &self.s3_region),
            ("s3_access_key_id", &self.s3_access_key_id),
            ("s3_secret_access_key", &self.s3_secret_access_key),
            ("s3_secret_access_key_file", &self.s3_secret_access_key_file),
            ("s3_path_style", &self.s3_path_style),
        ];
        for (name, value) in given {
            if let Some(v) = value {
                flags.values.insert(name, v.clone());
            }
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SETTINGS;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_setting_has_a_flag() {
        let cmd = Cli::command();
        for (name, ..) in SETTINGS {
            let long = name.replace('_', "-");
            assert!(
                cmd.get_arguments()
                    .any(|a| a.get_long() == Some(long.as_str())),
                "--{long} missing"
            );
        }
        let cli = Cli::parse_from(["hearth", "serve", "--bind", "127.0.0.1:1", "--log", "debug"]);
        let flags = cli.settings.flags();
        assert_eq!(flags.values["bind"], "127.0.0.1:1");
        assert_eq!(flags.values["log"], "debug");
    }
}
