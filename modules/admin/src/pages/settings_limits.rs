//! The rate limit part of `/admin/settings`: the shared limit and one group of fields
//! per audience, each field saying where its value comes from.

use super::settings::{BURST, PER_SECOND};
use auth::{Audience, AuthSettings, Setting, SettingSource};

/// One overridable setting as the form shows it.
pub(super) struct Field {
    /// The form field's name (also the setting's and the API's).
    pub(super) name: &'static str,
    /// The element id (`cors-origins`, …).
    pub(super) id: &'static str,
    pub(super) label: &'static str,
    pub(super) hint: String,
    /// What the input holds: the value in effect, or what was just submitted.
    pub(super) value: String,
    /// The value in effect comes from the database (an admin set it), not the configuration.
    pub(super) stored: bool,
    /// Where the value in effect comes from, as the badge says it.
    pub(super) source: &'static str,
    pub(super) error: Option<String>,
}

/// A rate limit (the shared one, or an audience's) as the form shows it.
pub(super) struct LimitGroup {
    pub(super) id: &'static str,
    pub(super) title: &'static str,
    pub(super) about: &'static str,
    pub(super) fields: Vec<Field>,
}

/// Builds one field: name, element id, label, hint, the value in effect, its setting.
pub(super) type MakeField<'a> =
    dyn Fn(&'static str, &'static str, &'static str, String, String, &Setting<u32>) -> Field + 'a;

/// The shared limit, then every audience's.
pub(super) fn groups(s: &AuthSettings, field: &MakeField<'_>) -> Vec<LimitGroup> {
    let c = &s.configured;
    let configured_rate = if c.rate_limit_per_second == 0 {
        "0 (off)".to_owned()
    } else {
        c.rate_limit_per_second.to_string()
    };
    let per_second = s.rate_limit_per_second.value.to_string();
    let burst = s.rate_limit_burst.value.to_string();
    let mut limits = vec![LimitGroup {
        id: "shared",
        title: "Shared limit",
        about: "What an audience without a limit of its own uses (its fields say \"follows the shared limit\").",
        fields: vec![
            field(
                PER_SECOND,
                "rate-limit-per-second",
                "Requests per second",
                format!(
                    "0 to {}; 0 turns rate limiting off. Configured: {configured_rate}.",
                    auth::MAX_PER_SECOND
                ),
                per_second,
                &s.rate_limit_per_second,
            ),
            field(
                BURST,
                "rate-limit-burst",
                "Burst",
                format!(
                    "Requests a caller may make at once, 1 to {}. Configured: {}.",
                    auth::MAX_BURST,
                    c.rate_limit_burst
                ),
                burst,
                &s.rate_limit_burst,
            ),
        ],
    }];
    for audience in Audience::ALL {
        let limit = s.rate_limits.get(audience);
        let configured = c.audiences.get(audience);
        let said = |v: Option<u32>| match v {
            Some(v) => v.to_string(),
            None => "the shared limit".to_owned(),
        };
        let (title, about) = audience_text(audience);
        limits.push(LimitGroup {
            id: audience.as_str(),
            title,
            about,
            fields: vec![
                field(
                    audience.per_second_key(),
                    audience_field_id(audience, false),
                    "Requests per second",
                    format!(
                        "0 to {}; 0: unthrottled. Configured: {}.",
                        auth::MAX_PER_SECOND,
                        said(configured.per_second)
                    ),
                    limit.per_second.value.to_string(),
                    &limit.per_second,
                ),
                field(
                    audience.burst_key(),
                    audience_field_id(audience, true),
                    "Burst",
                    format!(
                        "1 to {}. Configured: {}.",
                        auth::MAX_BURST,
                        said(configured.burst)
                    ),
                    limit.burst.value.to_string(),
                    &limit.burst,
                ),
            ],
        });
    }
    limits
}

pub(super) fn source_label(source: SettingSource) -> &'static str {
    match source {
        SettingSource::Config => "from the configuration",
        SettingSource::Database => "from the database",
        SettingSource::Shared => "follows the shared limit",
    }
}

/// What each audience's limit is for, in the words of the form.
fn audience_text(audience: Audience) -> (&'static str, &'static str) {
    match audience {
        Audience::Anonymous => (
            "Anonymous callers",
            "Requests without a valid token, one bucket per client address (IPv6: per /64). The dashboard's requests and requests with bad tokens are limited per address with this limit too.",
        ),
        Audience::User => (
            "Signed-in users",
            "Requests with a valid token of a user who is not acting as admin, one bucket per user.",
        ),
        Audience::Admin => (
            "Admins and service tokens",
            "Requests with a token of an admin carrying the admin scope, one bucket per user. 0 (the default) leaves them unthrottled, so bulk imports are not slowed down.",
        ),
        Audience::Auth => (
            "Auth endpoints",
            "Login, refresh, register, setup and password reset (and this dashboard's login form), one bucket per client address, whoever calls. Keep it stricter than the others.",
        ),
    }
}

/// The element id of an audience's field (`rate-limit-admin-per-second`, …).
fn audience_field_id(audience: Audience, burst: bool) -> &'static str {
    match (audience, burst) {
        (Audience::Anonymous, false) => "rate-limit-anonymous-per-second",
        (Audience::Anonymous, true) => "rate-limit-anonymous-burst",
        (Audience::User, false) => "rate-limit-user-per-second",
        (Audience::User, true) => "rate-limit-user-burst",
        (Audience::Admin, false) => "rate-limit-admin-per-second",
        (Audience::Admin, true) => "rate-limit-admin-burst",
        (Audience::Auth, false) => "rate-limit-auth-per-second",
        (Audience::Auth, true) => "rate-limit-auth-burst",
    }
}

/// The per-audience setting named `name`, if it is one.
pub(super) fn audience_key(name: &str) -> Option<&'static str> {
    Audience::ALL
        .into_iter()
        .flat_map(|a| [a.per_second_key(), a.burst_key()])
        .find(|k| *k == name)
}
