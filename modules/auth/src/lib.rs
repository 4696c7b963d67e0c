//! Authentication: users, argon2id passwords, opaque bearer tokens.
//!
//! Other modules see only [`AuthService`] (to turn a token into a [`kernel::Principal`])
//! and [`Authenticate`], the middleware that verifies bearer tokens and hands handlers a
//! principal (see `kernel::caller`).
//! It also stores the audit log (as the [`kernel::AuditSink`] other modules report to)
//! and its run-time settings. This module owns the `users`, `tokens`, `audit_log` and
//! `settings` tables.

mod addresses;
mod api;
mod audit_log;
mod cache;
mod emails;
mod error;
mod middleware;
mod password;
mod personal;
mod rate_limits;
mod repo;
mod revocations;
mod service;
mod sessions;
mod setting_checks;
mod settings;
mod setup;
mod signup;
mod stand_ins;
mod throttle;
mod token;
mod users;

pub use api::{document_auth_schemas, AdminApi, AuthApi, TokensApi, UsersApi};
pub use emails::email_key;
pub use error::AuthError;
pub use middleware::Authenticate;
pub use personal::{CreatedToken, TokenPage, MAX_LIVE_TOKENS, MAX_PAGE as MAX_TOKEN_PAGE};
pub use rate_limits::{Audience, AudienceLimit, AudienceLimits, ConfiguredLimit, ConfiguredLimits};
pub use repo::audit::AuditRow;
pub use repo::PersonalToken;
pub use service::{check_new_account, AuthConfig, AuthService, Ctx, Session, User};
pub use setting_checks::check_origin;
pub use settings::{
    AuthSettings, ConfiguredSettings, Setting, SettingSource, SettingsListener, SettingsUpdate,
    MAX_BURST, MAX_ORIGINS, MAX_PER_SECOND,
};
pub use stand_ins::{StandIns, TooMany};
pub use users::{UserPage, UserUpdate};
