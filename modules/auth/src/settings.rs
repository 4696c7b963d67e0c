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
use crate::setting_checks::{
    check_burst, check_burst_of, check_origins, check_per_second, check_per_second_of,
};
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

#[cfg(test)]
mod tests {
    use super::*;

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
