//! `/admin/audit` and `/admin/settings` (admins only).

use super::Tag;
use crate::rate_limits::Audience;
use crate::repo::audit::AuditRow;
use crate::service::{AuthService, Ctx};
use crate::settings::{AuthSettings, SettingSource, SettingsUpdate};
use kernel::{AdminPrincipal, AdminWriter, BearerAuth, Problem};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::{Any, MaybeUndefined};
use poem_openapi::{Enum, Object, OpenApi};

#[derive(Object)]
#[oai(rename = "AuditEvent")]
struct AuditBody {
    id: i64,
    at: String,
    /// e.g. `login.succeeded`, `login.failed`, `token.created`, `user.updated`, `collection.changed`.
    action: String,
    #[oai(nullable)]
    actor_id: Option<String>,
    #[oai(nullable)]
    actor_email: Option<String>,
    #[oai(nullable)]
    target: Option<String>,
    #[oai(nullable)]
    ip: Option<String>,
    #[oai(nullable)]
    request_id: Option<String>,
    #[oai(nullable)]
    detail: Option<Any<serde_json::Value>>,
    /// How many times it happened: repeats (same action, actor, target and address,
    /// without detail) within 10 minutes of `at` are one entry.
    count: i64,
    /// When the latest of them happened (`at` is the first).
    last_at: String,
}

impl From<AuditRow> for AuditBody {
    fn from(r: AuditRow) -> Self {
        AuditBody {
            id: r.id,
            at: r.at,
            action: r.action,
            actor_id: r.actor_id,
            actor_email: r.actor_email,
            target: r.target,
            ip: r.ip,
            request_id: r.request_id,
            detail: r.detail.map(Any),
            count: r.count,
            last_at: r.last_at,
        }
    }
}

#[derive(Object)]
struct AuditPage {
    items: Vec<AuditBody>,
    /// Pass as `before` for the next (older) page; null on the last page.
    #[oai(nullable)]
    next_before: Option<i64>,
}

/// Where an effective setting comes from.
#[derive(Enum)]
#[oai(rename = "SettingSource", rename_all = "lowercase")]
enum SourceBody {
    /// Nothing is stored: the server's configuration applies.
    Config,
    /// Set by an admin; wins over the configuration until cleared with `null`.
    Database,
    /// A limit by audience that neither the configuration nor an admin set: the shared
    /// `rate_limit_per_second` / `rate_limit_burst` in effect applies.
    Shared,
}

impl From<SettingSource> for SourceBody {
    fn from(s: SettingSource) -> Self {
        match s {
            SettingSource::Config => SourceBody::Config,
            SettingSource::Database => SourceBody::Database,
            SettingSource::Shared => SourceBody::Shared,
        }
    }
}

#[derive(Object)]
#[oai(rename = "SettingSources")]
struct SourcesBody {
    cors_origins: SourceBody,
    rate_limit_per_second: SourceBody,
    rate_limit_burst: SourceBody,
    rate_limit_anonymous_per_second: SourceBody,
    rate_limit_anonymous_burst: SourceBody,
    rate_limit_user_per_second: SourceBody,
    rate_limit_user_burst: SourceBody,
    rate_limit_admin_per_second: SourceBody,
    rate_limit_admin_burst: SourceBody,
    rate_limit_auth_per_second: SourceBody,
    rate_limit_auth_burst: SourceBody,
}

/// The configuration's values (flags, `HEARTH_*`, `hearth.toml`), which apply while no
/// value is stored.
#[derive(Object)]
#[oai(rename = "ConfiguredSettings")]
struct ConfiguredBody {
    cors_origins: Vec<String>,
    rate_limit_per_second: u32,
    rate_limit_burst: u32,
    /// `null` (here and in the other audience limits): follows the shared limit.
    #[oai(nullable)]
    rate_limit_anonymous_per_second: Option<u32>,
    #[oai(nullable)]
    rate_limit_anonymous_burst: Option<u32>,
    #[oai(nullable)]
    rate_limit_user_per_second: Option<u32>,
    #[oai(nullable)]
    rate_limit_user_burst: Option<u32>,
    #[oai(nullable)]
    rate_limit_admin_per_second: Option<u32>,
    #[oai(nullable)]
    rate_limit_admin_burst: Option<u32>,
    #[oai(nullable)]
    rate_limit_auth_per_second: Option<u32>,
    #[oai(nullable)]
    rate_limit_auth_burst: Option<u32>,
}

#[derive(Object)]
#[oai(rename = "Settings")]
struct SettingsBody {
    /// Whether `POST /auth/register` creates accounts.
    allow_signups: bool,
    /// Origins whose pages may call the API from a browser (`*`: any); empty: no CORS
    /// headers at all. The effective value.
    cors_origins: Vec<String>,
    /// Sustained API requests per second per caller; 0: rate limiting is off. The
    /// effective value.
    rate_limit_per_second: u32,
    /// API requests a caller may make at once. The effective value.
    rate_limit_burst: u32,
    /// Callers without a valid token, per client address (effective values; 0: off).
    rate_limit_anonymous_per_second: u32,
    rate_limit_anonymous_burst: u32,
    /// Signed-in callers, per user.
    rate_limit_user_per_second: u32,
    rate_limit_user_burst: u32,
    /// Callers acting as admin, per user (0, the default: unthrottled).
    rate_limit_admin_per_second: u32,
    rate_limit_admin_burst: u32,
    /// Login, refresh, register, setup and password reset, per client address.
    rate_limit_auth_per_second: u32,
    rate_limit_auth_burst: u32,
    /// Where each effective value comes from.
    sources: SourcesBody,
    /// What the configuration says (what a cleared value returns to).
    configured: ConfiguredBody,
}

impl From<AuthSettings> for SettingsBody {
    fn from(s: AuthSettings) -> Self {
        let limits = s.rate_limits.clone();
        let limit = |a| limits.get(a);
        SettingsBody {
            allow_signups: s.allow_signups,
            sources: SourcesBody {
                cors_origins: s.cors_origins.source.into(),
                rate_limit_per_second: s.rate_limit_per_second.source.into(),
                rate_limit_burst: s.rate_limit_burst.source.into(),
                rate_limit_anonymous_per_second: limit(Audience::Anonymous)
                    .per_second
                    .source
                    .into(),
                rate_limit_anonymous_burst: limit(Audience::Anonymous).burst.source.into(),
                rate_limit_user_per_second: limit(Audience::User).per_second.source.into(),
                rate_limit_user_burst: limit(Audience::User).burst.source.into(),
                rate_limit_admin_per_second: limit(Audience::Admin).per_second.source.into(),
                rate_limit_admin_burst: limit(Audience::Admin).burst.source.into(),
                rate_limit_auth_per_second: limit(Audience::Auth).per_second.source.into(),
                rate_limit_auth_burst: limit(Audience::Auth).burst.source.into(),
            },
            cors_origins: s.cors_origins.value,
            rate_limit_per_second: s.rate_limit_per_second.value,
            rate_limit_burst: s.rate_limit_burst.value,
            rate_limit_anonymous_per_second: limit(Audience::Anonymous).per_second.value,
            rate_limit_anonymous_burst: limit(Audience::Anonymous).burst.value,
            rate_limit_user_per_second: limit(Audience::User).per_second.value,
            rate_limit_user_burst: limit(Audience::User).burst.value,
            rate_limit_admin_per_second: limit(Audience::Admin).per_second.value,
            rate_limit_admin_burst: limit(Audience::Admin).burst.value,
            rate_limit_auth_per_second: limit(Audience::Auth).per_second.value,
            rate_limit_auth_burst: limit(Audience::Auth).burst.value,
            configured: ConfiguredBody {
                cors_origins: s.configured.cors_origins,
                rate_limit_per_second: s.configured.rate_limit_per_second,
                rate_limit_burst: s.configured.rate_limit_burst,
                rate_limit_anonymous_per_second: s
                    .configured
                    .audiences
                    .get(Audience::Anonymous)
                    .per_second,
                rate_limit_anonymous_burst: s.configured.audiences.get(Audience::Anonymous).burst,
                rate_limit_user_per_second: s.configured.audiences.get(Audience::User).per_second,
                rate_limit_user_burst: s.configured.audiences.get(Audience::User).burst,
                rate_limit_admin_per_second: s.configured.audiences.get(Audience::Admin).per_second,
                rate_limit_admin_burst: s.configured.audiences.get(Audience::Admin).burst,
                rate_limit_auth_per_second: s.configured.audiences.get(Audience::Auth).per_second,
                rate_limit_auth_burst: s.configured.audiences.get(Audience::Auth).burst,
            },
        }
    }
}

/// Only the properties sent change. For `cors_origins`, `rate_limit_per_second` and
/// `rate_limit_burst`, a value is stored and wins over the configuration; `null` clears
/// the stored value, so the configuration's applies again. Out-of-range values are
/// refused with 422 `validation_failed`, naming each field.
#[derive(Object)]
#[oai(rename = "SettingsPatch", deny_unknown_fields)]
struct SettingsPatch {
    allow_signups: Option<bool>,
    /// Origins as browsers send them (`https://app.example.org`, `http://localhost:3000`:
    /// scheme, host, optional port, no path) or `*`; at most 100; `[]`: no CORS.
    #[oai(nullable)]
    cors_origins: MaybeUndefined<Vec<String>>,
    /// 0 to 100000; 0 turns rate limiting off.
    #[oai(nullable)]
    rate_limit_per_second: MaybeUndefined<i64>,
    /// 1 to 1000000.
    #[oai(nullable)]
    rate_limit_burst: MaybeUndefined<i64>,
    /// 0 to 100000; 0: this audience is unthrottled; `null`: the configured value.
    #[oai(nullable)]
    rate_limit_anonymous_per_second: MaybeUndefined<i64>,
    /// 1 to 1000000; `null`: the configured value.
    #[oai(nullable)]
    rate_limit_anonymous_burst: MaybeUndefined<i64>,
    /// 0 to 100000; 0: this audience is unthrottled; `null`: the configured value.
    #[oai(nullable)]
    rate_limit_user_per_second: MaybeUndefined<i64>,
    /// 1 to 1000000; `null`: the configured value.
    #[oai(nullable)]
    rate_limit_user_burst: MaybeUndefined<i64>,
    /// 0 to 100000; 0: this audience is unthrottled; `null`: the configured value.
    #[oai(nullable)]
    rate_limit_admin_per_second: MaybeUndefined<i64>,
    /// 1 to 1000000; `null`: the configured value.
    #[oai(nullable)]
    rate_limit_admin_burst: MaybeUndefined<i64>,
    /// 0 to 100000; 0: this audience is unthrottled; `null`: the configured value.
    #[oai(nullable)]
    rate_limit_auth_per_second: MaybeUndefined<i64>,
    /// 1 to 1000000; `null`: the configured value.
    #[oai(nullable)]
    rate_limit_auth_burst: MaybeUndefined<i64>,
}

/// Absent → leave alone, `null` → clear, a value → set.
fn change<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

pub struct AdminApi;

#[OpenApi(tag = "Tag::Admin")]
impl AdminApi {
    /// The audit log, newest first.
    #[oai(path = "/admin/audit", method = "get", operation_id = "audit_log")]
    async fn audit(
        &self,
        service: Data<&AuthService>,
        auth: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))] limit: Query<Option<u32>>,
        /// The `next_before` of the previous page.
        before: Query<Option<i64>>,
        /// Only this action.
        #[oai(validator(max_length = 64))]
        action: Query<Option<String>>,
        /// Only events by this user id.
        #[oai(validator(max_length = 64))]
        actor: Query<Option<String>>,
    ) -> Result<Json<AuditPage>, Problem> {
        let admin = AdminPrincipal::check(auth.0)?;
        let limit = limit.0.unwrap_or(50);
        let rows = service
            .audit_log(&admin, before.0, limit, action.0, actor.0)
            .await?;
        let next_before = (rows.len() == limit as usize)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        Ok(Json(AuditPage {
            items: rows.into_iter().map(AuditBody::from).collect(),
            next_before,
        }))
    }

    /// Server settings.
    #[oai(
        path = "/admin/settings",
        method = "get",
        operation_id = "get_settings"
    )]
    async fn settings(
        &self,
        service: Data<&AuthService>,
        auth: BearerAuth,
    ) -> Result<Json<SettingsBody>, Problem> {
        AdminPrincipal::check(auth.0)?;
        Ok(Json(service.settings().await?.into()))
    }

    /// Change server settings; they apply at once, without a restart (changing the rate
    /// limit starts every caller with a full bucket).
    #[oai(
        path = "/admin/settings",
        method = "patch",
        operation_id = "update_settings"
    )]
    async fn update_settings(
        &self,
        service: Data<&AuthService>,
        req: &Request,
        auth: BearerAuth,
        body: Json<SettingsPatch>,
    ) -> Result<Json<SettingsBody>, Problem> {
        let admin = AdminWriter::check(auth.0)?;
        let body = body.0;
        let update = SettingsUpdate {
            allow_signups: body.allow_signups,
            cors_origins: change(body.cors_origins),
            rate_limit_per_second: change(body.rate_limit_per_second),
            rate_limit_burst: change(body.rate_limit_burst),
            audience_limits: [
                (
                    "rate_limit_anonymous_per_second",
                    change(body.rate_limit_anonymous_per_second),
                ),
                (
                    "rate_limit_anonymous_burst",
                    change(body.rate_limit_anonymous_burst),
                ),
                (
                    "rate_limit_user_per_second",
                    change(body.rate_limit_user_per_second),
                ),
                ("rate_limit_user_burst", change(body.rate_limit_user_burst)),
                (
                    "rate_limit_admin_per_second",
                    change(body.rate_limit_admin_per_second),
                ),
                (
                    "rate_limit_admin_burst",
                    change(body.rate_limit_admin_burst),
                ),
                (
                    "rate_limit_auth_per_second",
                    change(body.rate_limit_auth_per_second),
                ),
                ("rate_limit_auth_burst", change(body.rate_limit_auth_burst)),
            ]
            .into_iter()
            .filter_map(|(key, change)| Some((key, change?)))
            .collect(),
        };
        let s = service
            .update_settings(&admin, update, &Ctx::from_request(req))
            .await?;
        Ok(Json(s.into()))
    }
}
