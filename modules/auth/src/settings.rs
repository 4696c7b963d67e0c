//! Run-time settings the auth module owns (`/admin/settings`, API.md 4), stored as JSON
//! values in the `settings` table:
//!
//! - `allow_signups` (boolean, off unless stored): whether `POST /auth/register` creates
//!   accounts;
//! - `cors_origins` (list of origins), `rate_limit_per_second` and `rate_limit_burst` (the
//!   shared limit), and the limits by audience (`rate_limits`): the server's configuration
//!   (flags, `HEARTH_*`, `hearth.toml`) gives their defaults. A value an admin stores
//!   wins over the configuration, at every start too, until it is cleared; then the
//!   configured value applies again.
//!
//! This module stores and checks them; the server applies them. It subscribes with
//! [`AuthService::on_settings_changed`] and is handed the new effective settings after
//! every successful change (the auth module knows nothing of CORS or rate limiters).

use crate::error::AuthError;
use crate::rate_limits::{self, AudienceLimits, ConfiguredLimits};
use crate::repo::settings;
use crate::service::{AuthService, Ctx};
use kernel::{clock, AdminWriter, FieldCode, FieldError};
use rusqlite::Connection;
use serde_json::{Map, Value};

pub const ALLOW_SIGNUPS: &str = "allow_signups";
pub const CORS_ORIGINS: &str = "cors_origins";
pub const RATE_LIMIT_PER_SECOND: &str = "rate_limit_per_second";
pub const RATE_LIMIT_BURST: &str = "rate_limit_burst";

/// The largest `rate_limit_per_second` an admin may set (0 turns limiting off).
pub const MAX_PER_SECOND: i64 = 100_000;
/// The largest `rate_limit_burst` an admin may set (at least 1).
pub const MAX_BURST: i64 = 1_000_000;
/// The most CORS origins an admin may list.
pub const MAX_ORIGINS: usize = 100;
const MAX_ORIGIN_LEN: usize = 255;

/// What the server's configuration says about the settings an admin may override: the
/// values that apply while the database holds none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredSettings {
    pub cors_origins: Vec<String>,
    /// `cors_credentials` is on, so the origin `*` is refused (browsers refuse that pair).
    pub cors_credentials: bool,
    /// 0: rate limiting is off.
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    /// The limits by audience; an audience left open follows the shared limit.
    pub audiences: ConfiguredLimits,
}

impl Default for ConfiguredSettings {
    /// No CORS, no rate limit (what a server without configuration around it does).
    fn default() -> Self {
        ConfiguredSettings {
            cors_origins: Vec::new(),
            cors_credentials: false,
            rate_limit_per_second: 0,
            rate_limit_burst: 1,
            audiences: ConfiguredLimits::default(),
        }
    }
}

/// Where an effective setting comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingSource {
    /// Nothing is stored: the configuration's value applies.
    Config,
    /// An admin stored this value; it wins over the configuration until cleared.
    Database,
    /// Neither is set for this audience's limit: the shared limit in effect applies.
    Shared,
}

impl SettingSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SettingSource::Config => "config",
            SettingSource::Database => "database",
            SettingSource::Shared => "shared",
        }
    }
}

/// An effective value and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub source: SettingSource,
}

impl<T> Setting<T> {
    fn resolve(stored: Option<T>, configured: T) -> Setting<T> {
        match stored {
            Some(value) => Setting {
                value,
                source: SettingSource::Database,
            },
            None => Setting {
                value: configured,
                source: SettingSource::Config,
            },
        }
    }

    /// The value comes from the database (an admin set it).
    pub fn is_stored(&self) -> bool {
        self.source == SettingSource::Database
    }
}

/// The run-time settings in effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSettings {
    pub allow_signups: bool,
    /// Origins whose pages may call the API from a browser; empty: no CORS headers.
    pub cors_origins: Setting<Vec<String>>,
    /// The shared limit: sustained API requests per second per caller; 0: off. What an
    /// audience without a limit of its own uses.
    pub rate_limit_per_second: Setting<u32>,
    /// The shared limit: API requests a caller may make at once.
    pub rate_limit_burst: Setting<u32>,
    /// The limit each audience gets (what the rate limiter applies).
    pub rate_limits: AudienceLimits,
    /// The configuration's values (what a cleared setting returns to).
    pub configured: ConfiguredSettings,
}

/// A change to the settings. `None` leaves a setting as it is; for the overridable ones,
/// `Some(None)` clears the stored value so the configured one applies again. Numbers are
/// wide on purpose: out-of-range values are refused here, field by field, not by a parser.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsUpdate {
    pub allow_signups: Option<bool>,
    pub cors_origins: Option<Option<Vec<String>>>,
    pub rate_limit_per_second: Option<Option<i64>>,
    pub rate_limit_burst: Option<Option<i64>>,
    /// Limits by audience, by setting key (`rate_limit_admin_per_second`, …): a value
    /// stores it, `None` clears it; keys left out stay as they are.
    pub audience_limits: std::collections::BTreeMap<&'static str, Option<i64>>,
}

impl SettingsUpdate {
    pub fn is_empty(&self) -> bool {
        *self == SettingsUpdate::default()
    }
}

/// Told the effective settings after every successful change.
pub type SettingsListener = Box<dyn Fn(&AuthSettings) + Send + Sync>;

impl AuthService {
    /// The settings in effect: stored values, else the configured ones.
    pub async fn settings(&self) -> Result<AuthSettings, AuthError> {
        let configured = self.config.configured_settings.clone();
        self.db.read(move |conn| read(conn, configured)).await
    }

    /// Checks every value (all invalid fields are reported together, 422), stores the
    /// change in one transaction, audits `settings.changed` with what was sent (`null`:
    /// cleared), then hands the new effective settings to every listener.
    pub async fn update_settings(
        &self,
        admin: &AdminWriter,
        update: SettingsUpdate,
        ctx: &Ctx,
    ) -> Result<AuthSettings, AuthError> {
        let changes = check(&update, &self.config.configured_settings)?;
        if changes.is_empty() {
            return self.settings().await;
        }
        // One change at a time, so listeners see the changes in the order they were made.
        let _serial = self.settings_writes.lock().await;
        let writes = changes.clone();
        self.db
            .write(move |conn| {
                let now = clock::now();
                for (key, value) in &writes {
                    match value {
                        Some(v) => settings::put(conn, key, v, &now)?,
                        None => settings::delete(conn, key)?,
                    }
                }
                Ok::<_, AuthError>(())
            })
            .await?;
        let detail: Map<String, Value> = changes
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value.unwrap_or(Value::Null)))
            .collect();
        self.audit(
            ctx.event("settings.changed")
                .by(admin.principal())
                .detail(Value::Object(detail)),
        );
        let current = self.settings().await?;
        for listener in self
            .settings_listeners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            listener(&current);
        }
        Ok(current)
    }

    /// Calls `listener` with the effective settings after every successful
    /// [`update_settings`](Self::update_settings), on every clone of this service.
    pub fn on_settings_changed(&self, listener: SettingsListener) {
        self.settings_listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
    }
}

fn read(conn: &Connection, configured: ConfiguredSettings) -> Result<AuthSettings, AuthError> {
    // A stored value that no longer passes the checks (edited by hand) is ignored, so the
    // configured one applies.
    let allow_signups = settings::get(conn, ALLOW_SIGNUPS)?
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let origins = settings::get(conn, CORS_ORIGINS)?.and_then(|v| {
        let list: Vec<String> = serde_json::from_value(v).ok()?;
        check_origins(&list, configured.cors_credentials).ok()
    });
    let number = |key, check: fn(i64) -> Result<u32, FieldError>| {
        Ok::<_, AuthError>(
            settings::get(conn, key)?
                .and_then(|v| v.as_i64())
                .and_then(|n| check(n).ok()),
        )
    };
    let per_second = number(RATE_LIMIT_PER_SECOND, check_per_second)?;
    let burst = number(RATE_LIMIT_BURST, check_burst)?;
    let rate_limit_per_second = Setting::resolve(per_second, configured.rate_limit_per_second);
    let rate_limit_burst = Setting::resolve(burst, configured.rate_limit_burst);
    let mut stored = std::collections::HashMap::new();
    for a in rate_limits::Audience::ALL {
        for (key, check) in [
            (
                a.per_second_key(),
                check_per_second_of as fn(&str, i64) -> _,
            ),
            (a.burst_key(), check_burst_of),
        ] {
            let value = settings::get(conn, key)?
                .and_then(|v| v.as_i64())
                .and_then(|n| check(key, n).ok());
            if let Some(v) = value {
                stored.insert(key, v);
            }
        }
    }
    let rate_limits = AudienceLimits::resolve(
        &configured.audiences,
        (&rate_limit_per_second, &rate_limit_burst),
        |key| stored.get(key).copied(),
    );
    Ok(AuthSettings {
        allow_signups,
        cors_origins: Setting::resolve(origins, configured.cors_origins.clone()),
        rate_limit_per_second,
        rate_limit_burst,
        rate_limits,
        configured,
    })
}

/// The rows to write (`None`: delete), or every invalid field.
fn check(
    update: &SettingsUpdate,
    configured: &ConfiguredSettings,
) -> Result<Vec<(&'static str, Option<Value>)>, AuthError> {
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    if let Some(allow) = update.allow_signups {
        changes.push((ALLOW_SIGNUPS, Some(Value::Bool(allow))));
    }
    match &update.cors_origins {
        None => {}
        Some(None) => changes.push((CORS_ORIGINS, None)),
        Some(Some(list)) => match check_origins(list, configured.cors_credentials) {
            Ok(list) => changes.push((CORS_ORIGINS, Some(Value::from(list)))),
            Err(e) => errors.extend(e),
        },
    }
    for (key, value, check) in [
        (
            RATE_LIMIT_PER_SECOND,
            update.rate_limit_per_second,
            check_per_second as fn(i64) -> Result<u32, FieldError>,
        ),
        (RATE_LIMIT_BURST, update.rate_limit_burst, check_burst),
    ] {
        match value {
            None => {}
            Some(None) => changes.push((key, None)),
            Some(Some(n)) => match check(n) {
                Ok(n) => changes.push((key, Some(Value::from(n)))),
                Err(e) => errors.push(e),
            },
        }
    }
    for (&key, value) in &update.audience_limits {
        let Some((key, check)) = rate_limits::checker(key) else {
            errors.push(FieldError::new(key, FieldCode::Invalid, "not a setting"));
            continue;
        };
        match value {
            None => changes.push((key, None)),
            Some(n) => match check(key, *n) {
                Ok(n) => changes.push((key, Some(Value::from(n)))),
                Err(e) => errors.push(e),
            },
        }
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(AuthError::InvalidFields(errors))
    }
}

fn check_per_second(n: i64) -> Result<u32, FieldError> {
    check_per_second_of(RATE_LIMIT_PER_SECOND, n)
}

fn check_burst(n: i64) -> Result<u32, FieldError> {
    check_burst_of(RATE_LIMIT_BURST, n)
}

/// A rate setting's range, errors naming `field`.
pub(crate) fn check_per_second_of(field: &str, n: i64) -> Result<u32, FieldError> {
    range(
        field,
        n,
        0,
        MAX_PER_SECOND,
        "requests per second (0 turns rate limiting off)",
    )
}

/// A burst setting's range, errors naming `field`.
pub(crate) fn check_burst_of(field: &str, n: i64) -> Result<u32, FieldError> {
    range(field, n, 1, MAX_BURST, "requests")
}

fn range(field: &str, n: i64, min: i64, max: i64, unit: &str) -> Result<u32, FieldError> {
    let code = if n < min {
        FieldCode::TooSmall
    } else if n > max {
        FieldCode::TooLarge
    } else {
        return Ok(n as u32);
    };
    Err(FieldError::new(
        field,
        code,
        format!("must be a whole number from {min} to {max} {unit}"),
    ))
}

/// Trimmed, without duplicates (case-insensitive, first kept), or one error per bad entry.
fn check_origins(list: &[String], credentials: bool) -> Result<Vec<String>, Vec<FieldError>> {
    if list.len() > MAX_ORIGINS {
        return Err(vec![FieldError::new(
            CORS_ORIGINS,
            FieldCode::TooLong,
            format!("at most {MAX_ORIGINS} origins"),
        )]);
    }
    let mut kept: Vec<String> = Vec::with_capacity(list.len());
    let mut errors = Vec::new();
    for (i, origin) in list.iter().enumerate() {
        let origin = origin.trim();
        let field = || format!("{CORS_ORIGINS}[{i}]");
        if let Err(message) = check_origin(origin) {
            errors.push(FieldError::new(field(), FieldCode::Invalid, message));
        } else if origin == "*" && credentials {
            errors.push(FieldError::new(
                field(),
                FieldCode::Invalid,
                "`*` cannot be used while cors_credentials is on in the server's configuration",
            ));
        } else if !kept.iter().any(|k| k.eq_ignore_ascii_case(origin)) {
            kept.push(origin.to_owned());
        }
    }
    if errors.is_empty() {
        Ok(kept)
    } else {
        Err(errors)
    }
}

/// An origin exactly as browsers send it in `Origin`: `http` or `https`, `://`, a host
/// name or address (IPv6 in brackets), an optional port, and nothing else (no path, not
/// even `/`); or `*` for any origin. The configuration's `cors_origins` uses this too.
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let bad = || {
        let shown: String = origin.chars().take(80).collect();
        format!(
            "`{shown}` is not an origin such as https://app.example.org (scheme://host[:port], no path)"
        )
    };
    if origin.len() > MAX_ORIGIN_LEN {
        return Err(format!("an origin is at most {MAX_ORIGIN_LEN} characters"));
    }
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let (host_ok, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or_else(bad)?;
            let ok = !addr.is_empty()
                && addr.contains(':')
                && addr
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(bad)?),
            };
            (ok, port)
        }
        None => {
            let (host, port) = match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            let ok = !host.is_empty()
                && !host.starts_with(['.', '-'])
                && !host.ends_with('.')
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            (ok, port)
        }
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_look_like_what_browsers_send() {
        for good in [
            "*",
            "https://app.example.org",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "https://[::1]:8443",
            "https://[2001:db8::1]",
            "https://my_host.internal",
        ] {
            assert!(check_origin(good).is_ok(), "{good} refused");
        }
        for bad in [
            "",
            "app.example.org",
            "https://app.example.org/",
            "https://app.example.org/path",
            "https://",
            "ftp://app.example.org",
            "https://app.example.org:0",
            "https://app.example.org:99999",
            "https://app.example.org:",
            "https://user@app.example.org",
            "https://app example.org",
            "https://app.example.org?x=1",
            "https://[::1",
            "https://[zz]",
            "null",
            "**",
        ] {
            assert!(check_origin(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_origin(&format!("https://{}.org", "a".repeat(300))).is_err());
    }

    #[test]
    fn origin_lists_are_trimmed_deduplicated_and_checked_entry_by_entry() {
        let list = [
            " https://a.example.org ",
            "https://A.example.org",
            "http://b",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            check_origins(&list, false).unwrap(),
            ["https://a.example.org", "http://b"]
        );
        let list = ["https://ok.example", "nope", "*", "also/bad"]
            .map(String::from)
            .to_vec();
        let errors = check_origins(&list, true).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["cors_origins[1]", "cors_origins[2]", "cors_origins[3]"]
        );
        assert!(check_origins(&["*".to_string()], false).is_ok());
        let many = vec!["https://a.example".to_string(); MAX_ORIGINS + 1];
        assert_eq!(
            check_origins(&many, false).unwrap_err()[0].field,
            "cors_origins"
        );
    }

    #[test]
    fn rate_limits_have_ranges() {
        assert_eq!(check_per_second(0).unwrap(), 0);
        assert_eq!(check_per_second(MAX_PER_SECOND).unwrap(), 100_000);
        assert_eq!(check_per_second(-1).unwrap_err().code, "too_small");
        assert_eq!(check_per_second(100_001).unwrap_err().code, "too_large");
        assert_eq!(check_burst(0).unwrap_err().code, "too_small");
        assert_eq!(check_burst(1).unwrap(), 1);
        assert_eq!(check_burst(MAX_BURST + 1).unwrap_err().code, "too_large");
    }

    #[test]
    fn an_update_reports_every_bad_field_and_clears_with_none() {
        let configured = ConfiguredSettings::default();
        let update = SettingsUpdate {
            cors_origins: Some(Some(vec!["bad".into()])),
            rate_limit_per_second: Some(Some(-5)),
            rate_limit_burst: Some(Some(0)),
            ..Default::default()
        };
        let Err(AuthError::InvalidFields(errors)) = check(&update, &configured) else {
            panic!("accepted");
        };
        assert_eq!(errors.len(), 3);
        let update = SettingsUpdate {
            allow_signups: Some(true),
            cors_origins: Some(None),
            rate_limit_per_second: Some(Some(5)),
            rate_limit_burst: Some(None),
            audience_limits: [
                ("rate_limit_admin_per_second", Some(0)),
                ("rate_limit_auth_burst", None),
            ]
            .into(),
        };
        let changes = check(&update, &configured).unwrap();
        assert_eq!(
            changes,
            [
                (ALLOW_SIGNUPS, Some(Value::Bool(true))),
                (CORS_ORIGINS, None),
                (RATE_LIMIT_PER_SECOND, Some(Value::from(5))),
                (RATE_LIMIT_BURST, None),
                ("rate_limit_admin_per_second", Some(Value::from(0))),
                ("rate_limit_auth_burst", None),
            ]
        );
        let update = SettingsUpdate {
            audience_limits: [("rate_limit_user_burst", Some(0))].into(),
            ..Default::default()
        };
        let Err(AuthError::InvalidFields(errors)) = check(&update, &configured) else {
            panic!("accepted");
        };
        assert_eq!(errors[0].field, "rate_limit_user_burst");
        assert!(SettingsUpdate::default().is_empty());
    }
}
