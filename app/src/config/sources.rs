//! Where each setting's value comes from, and the one place precedence is decided.

use super::{parse, Config, ConfigError, LogFormat, SETTINGS};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Bounds of `cache_size`: below a few dozen pages SQLite thrashes; above 4 GiB is a typo.
const MIN_CACHE: usize = 256 * 1024;
const MAX_CACHE: usize = 4 << 30;

/// Values given on the command line, by setting name (`bind`, `data_dir`, …).
#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub values: BTreeMap<&'static str, String>,
    /// `--config FILE`.
    pub config: Option<PathBuf>,
}

/// Where a value came from, so an error can say which knob to turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) => write!(f, "--{}", name.replace('_', "-")),
            Source::Env(var) => f.write_str(var),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

type ConfigFile = (PathBuf, toml::Table);

/// Reads the environment and the config file, then resolves.
pub fn load(flags: &Flags) -> Result<Config, ConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    let file = read_config_file(flags.config.as_deref(), &env)?;
    resolve(flags, &env, file.as_ref())
}

/// `--config` or `HEARTH_CONFIG` must exist; the default `./hearth.toml` is optional.
fn read_config_file(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ConfigFile>, ConfigError> {
    let (path, required) = match explicit {
        Some(path) => (path.to_path_buf(), true),
        None => match env("HEARTH_CONFIG") {
            Some(path) => (PathBuf::from(path), true),
            None => (PathBuf::from("hearth.toml"), false),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(e) => {
            return Err(ConfigError(format!(
                "cannot read config file {}: {e}",
                path.display()
            )))
        }
    };
    let table =
        parse_config_text(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
    Ok(Some((path, table)))
}

fn parse_config_text(text: &str) -> Result<toml::Table, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let message = e.message().to_string();
        match e.span() {
            Some(span) => {
                let line = text[..span.start].matches('\n').count() + 1;
                format!("invalid TOML at line {line}: {message}")
            }
            None => format!("invalid TOML: {message}"),
        }
    })?;
    if let Some(key) = table
        .keys()
        .find(|k| !SETTINGS.iter().any(|(name, ..)| name == k))
    {
        let known: Vec<_> = SETTINGS.iter().map(|(name, ..)| *name).collect();
        return Err(format!(
            "unknown key `{key}` (known keys: {})",
            known.join(", ")
        ));
    }
    Ok(table)
}

/// Picks each setting from the first source that has it, then parses and validates it.
pub(super) fn resolve(
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
    file: Option<&ConfigFile>,
) -> Result<Config, ConfigError> {
    let mut picked: BTreeMap<&'static str, (String, Source)> = BTreeMap::new();
    for &(name, var, default) in SETTINGS {
        let value = if let Some(v) = flags.values.get(name) {
            (v.clone(), Source::Flag(name))
        } else if let Some(v) = env(var) {
            (v, Source::Env(var))
        } else if let Some((path, v)) = file.and_then(|(p, t)| t.get(name).map(|v| (p, v))) {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    return Err(ConfigError(format!(
                        "{}: `{name}` must be a string or a number",
                        path.display()
                    )))
                }
            };
            (text, Source::File(path.clone()))
        } else {
            (default.to_string(), Source::Default)
        };
        picked.insert(name, value);
    }

    let field = |name: &str| -> (String, Source) { picked[name].clone() };
    let bind = one(&field("bind"), "bind", |v| {
        v.parse::<std::net::SocketAddr>()
            .map_err(|_| "expected IP:PORT such as 127.0.0.1:8080 or 0.0.0.0:8080".to_string())
    })?;
    let data_dir = one(&field("data_dir"), "data_dir", |v| {
        if v.trim().is_empty() {
            Err("must not be empty".to_string())
        } else {
            Ok(PathBuf::from(v))
        }
    })?;
    let synchronous = one(&field("synchronous"), "synchronous", |v| {
        v.parse::<storage::Synchronous>()
            .map_err(|_| "expected normal or full".to_string())
    })?;
    let cache_size = one(&field("cache_size"), "cache_size", |v| {
        parse::size(v).and_then(|n| {
            if (MIN_CACHE..=MAX_CACHE).contains(&n) {
                Ok(n)
            } else {
                Err("must be from 256KiB to 4GiB".to_string())
            }
        })
    })?;
    let body_limit = one(&field("body_limit"), "body_limit", |v| {
        parse::size(v).and_then(|n| {
            if n == 0 {
                Err("must be at least 1 byte".to_string())
            } else {
                Ok(n)
            }
        })
    })?;
    let query_timeout = one(&field("query_timeout"), "query_timeout", parse::duration)?;
    let max_concurrent_lists = one(
        &field("max_concurrent_lists"),
        "max_concurrent_lists",
        |v| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| "expected a whole number (0 for no cap)".to_string())
        },
    )?;
    let positive = |v: &str| {
        parse::duration(v).and_then(|d| {
            if d.is_zero() {
                Err("must be greater than zero".to_string())
            } else {
                Ok(d)
            }
        })
    };
    let header_read_timeout = one(
        &field("header_read_timeout"),
        "header_read_timeout",
        positive,
    )?;
    let body_read_timeout = one(&field("body_read_timeout"), "body_read_timeout", positive)?;
    let shutdown_timeout = one(&field("shutdown_timeout"), "shutdown_timeout", positive)?;
    let max_connections = one(&field("max_connections"), "max_connections", |v| {
        v.trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| "expected a whole number from 1 to 1000000".to_string())
    })?;
    let access_token_ttl = one(&field("access_token_ttl"), "access_token_ttl", positive)?;
    let log_format = one(&field("log_format"), "log_format", |v| {
        match v.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected text or json".to_string()),
        }
    })?;
    let log = one(&field("log"), "log", |v| {
        tracing_subscriber::EnvFilter::try_new(v)
            .map(|_| v.to_string())
            .map_err(|e| e.to_string())
    })?;
    let security = super::security::resolve(&field)?;
    let realtime = super::realtime::resolve(&field)?;
    let realtime_streams = super::realtime::resolve_streams(&field)?;
    let files = super::files::resolve(&field)?;
    let backup_interval = one(
        &field("backup_interval"),
        "backup_interval",
        parse::duration,
    )?;
    let backup_dir = one(&field("backup_dir"), "backup_dir", |v| {
        Ok::<_, String>((!v.trim().is_empty()).then(|| PathBuf::from(v)))
    })?;
    let backup_keep = one(&field("backup_keep"), "backup_keep", |v| {
        v.trim()
            .parse::<usize>()
            .ok()
            .filter(|k| *k >= 1)
            .ok_or_else(|| "expected a whole number of at least 1".to_string())
    })?;
    // The standard OpenTelemetry variables, read from the environment only.
    let otel = observability::trace::OtelConfig::from_lookup(env)
        .map_err(|e| ConfigError(e.to_string()))?;
    let metrics_token = metrics_token(&field("metrics_token"))?;
    let audit_retention = one(
        &field("audit_retention"),
        "audit_retention",
        parse::duration,
    )?;
    let metrics_bind = one(&field("metrics_bind"), "metrics_bind", |v| {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<std::net::SocketAddr>().map(Some).map_err(|_| {
            "expected IP:PORT such as 127.0.0.1:9090, or nothing for no metrics listener"
                .to_string()
        })
    })?;
    if metrics_bind == Some(bind) {
        return Err(ConfigError(format!(
            "metrics_bind {bind} is the same address as bind: give the metrics listener its own port"
        )));
    }
    let backups = (!backup_interval.is_zero()).then(|| super::BackupConfig {
        interval: backup_interval,
        dir: backup_dir.unwrap_or_else(|| data_dir.join("backups")),
        keep: backup_keep,
    });
    Ok(Config {
        bind,
        data_dir,
        synchronous,
        cache_size,
        body_limit,
        query_timeout,
        max_concurrent_lists,
        header_read_timeout,
        body_read_timeout,
        shutdown_timeout,
        max_connections,
        access_token_ttl,
        log_format,
        log,
        security,
        backups,
        otel,
        metrics_token,
        audit_retention: (!audit_retention.is_zero()).then_some(audit_retention),
        metrics_bind,
        admin_sessions: admin::SessionLimits::default(),
        realtime,
        realtime_streams,
        files,
        files_schedule: super::FilesSchedule::default(),
        uploads: ::files::tus::UploadsConfig::default(),
    })
}

/// Empty: no metrics token (`/metrics` then answers admins' tokens only, or the
/// `metrics_bind` listener). Unlike other settings, a bad value is not echoed in the
/// error: it is a secret.
fn metrics_token((value, source): &(String, Source)) -> Result<Option<super::Secret>, ConfigError> {
    let token = value.trim();
    if token.is_empty() {
        return Ok(None);
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError(format!(
            "invalid metrics_token (from {source}): use visible ASCII characters, no spaces"
        )));
    }
    Ok(Some(super::Secret(token.to_owned())))
}

/// Parses one picked value; the error names the setting, the value and its source.
pub(super) fn one<T>(
    (value, source): &(String, Source),
    name: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    parse(value).map_err(|reason| {
        ConfigError(format!(
            "invalid {name} {value:?} (from {source}): {reason}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn file(text: &str) -> ConfigFile {
        (
            PathBuf::from("hearth.toml"),
            parse_config_text(text).unwrap(),
        )
    }

    #[test]
    fn defaults_apply_with_nothing_set() {
        let c = resolve(&Flags::default(), &|_| None, None).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./hearth_data"));
        assert_eq!(c.body_limit, 1 << 20);
        assert_eq!(c.shutdown_timeout, Duration::from_secs(10));
        assert_eq!(c.synchronous, storage::Synchronous::Normal);
        assert_eq!(c.cache_size, 8 << 20);
    }

    #[test]
    fn rate_limits_by_audience_default_and_follow_the_shared_limit() {
        let c = resolve(&Flags::default(), &|_| None, None).unwrap();
        let a = &c.security.rate_limit_audiences;
        assert_eq!(
            a.get(auth::Audience::Anonymous),
            auth::ConfiguredLimit::SHARED
        );
        assert_eq!(
            a.get(auth::Audience::Admin).per_second,
            Some(0),
            "admins unthrottled"
        );
        assert_eq!(
            a.get(auth::Audience::Auth),
            auth::ConfiguredLimit::new(5, 20)
        );
        let limits = crate::config::RateLimits::configured(c.security.rate_limit, a);
        assert_eq!(
            limits.anonymous, c.security.rate_limit,
            "the old keys still apply"
        );
        assert!(limits.admin.is_off());
        let env = env_of(&[
            ("HEARTH_RATE_LIMIT_PER_SECOND", "7"),
            ("HEARTH_RATE_LIMIT_USER_BURST", "9"),
        ]);
        let c = resolve(&Flags::default(), &env, None).unwrap();
        let limits = crate::config::RateLimits::configured(
            c.security.rate_limit,
            &c.security.rate_limit_audiences,
        );
        assert_eq!((limits.user.per_second, limits.user.burst), (7, 9));
        let env = env_of(&[("HEARTH_RATE_LIMIT_AUTH_BURST", "0")]);
        let err = resolve(&Flags::default(), &env, None).unwrap_err();
        assert!(err.0.starts_with("invalid rate_limit_auth_burst"), "{err}");
    }

    #[test]
    fn cache_size_takes_sizes_within_bounds() {
        let env = env_of(&[("HEARTH_CACHE_SIZE", "64MiB")]);
        let c = resolve(&Flags::default(), &env, None).unwrap();
        assert_eq!(c.cache_size, 64 << 20);
        for bad in ["1KiB", "8GiB", "lots"] {
            let env = move |k: &str| (k == "HEARTH_CACHE_SIZE").then(|| bad.to_string());
            let err = resolve(&Flags::default(), &env, None).unwrap_err();
            assert!(err.0.contains("invalid cache_size"), "{bad}: {err}");
        }
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let f = file("bind = \"127.0.0.1:3\"\nbody_limit = 100\nlog_format = \"json\"\nsynchronous = \"full\"");
        let env = env_of(&[("HEARTH_BIND", "127.0.0.1:2"), ("HEARTH_BODY_LIMIT", "200")]);
        let mut flags = Flags::default();
        flags.values.insert("bind", "127.0.0.1:1".into());
        let c = resolve(&flags, &env, Some(&f)).unwrap();
        assert_eq!(c.bind.port(), 1, "flag wins");
        assert_eq!(c.body_limit, 200, "env beats file");
        assert_eq!(c.log_format, LogFormat::Json, "file beats default");
        assert_eq!(c.synchronous, storage::Synchronous::Full);
        assert_eq!(c.header_read_timeout, Duration::from_secs(10), "default");
    }

    #[test]
    fn errors_name_setting_value_and_source() {
        let env = env_of(&[("HEARTH_BIND", "nonsense")]);
        let err = resolve(&Flags::default(), &env, None).unwrap_err();
        assert!(
            err.0
                .starts_with("invalid bind \"nonsense\" (from HEARTH_BIND)"),
            "{err}"
        );
        assert!(!err.0.contains('\n'));

        let f = file("shutdown_timeout = \"soon\"");
        let err = resolve(&Flags::default(), &|_| None, Some(&f)).unwrap_err();
        assert!(err.0.contains("(from hearth.toml)"), "{err}");

        let mut flags = Flags::default();
        flags.values.insert("synchronous", "sometimes".into());
        let err = resolve(&flags, &|_| None, None).unwrap_err();
        assert!(err.0.contains("(from --synchronous)"), "{err}");
    }

    #[test]
    fn unknown_and_malformed_file_keys_are_refused() {
        let err = parse_config_text("bind = \"127.0.0.1:1\"\nbnid = 1").unwrap_err();
        assert!(err.starts_with("unknown key `bnid`"), "{err}");
        let err = parse_config_text("bind = ").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
        let f = file("bind = [1]");
        assert!(resolve(&Flags::default(), &|_| None, Some(&f)).is_err());
    }

    #[test]
    fn explicit_config_file_must_exist_but_default_may_not() {
        let missing = Path::new("/nonexistent/hearth.toml");
        assert!(read_config_file(Some(missing), &|_| None).is_err());
        let env = env_of(&[("HEARTH_CONFIG", "/nonexistent/x.toml")]);
        assert!(read_config_file(None, &env).is_err());
    }
}
