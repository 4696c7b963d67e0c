//! `/admin/audit` and `/admin/settings` (admins only).

use super::Tag;
use crate::repo::audit::AuditRow;
use crate::service::{AuthService, Ctx};
use kernel::{AdminPrincipal, BearerAuth, Problem};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::Any;
use poem_openapi::{Object, OpenApi};

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

#[derive(Object)]
#[oai(rename = "Settings")]
struct SettingsBody {
    /// Whether `POST /auth/register` creates accounts.
    allow_signups: bool,
}

#[derive(Object)]
#[oai(deny_unknown_fields)]
struct SettingsPatch {
    allow_signups: Option<bool>,
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
        let s = service.settings().await?;
        Ok(Json(SettingsBody {
            allow_signups: s.allow_signups,
        }))
    }

    /// Change server settings; they apply at once, without a restart.
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
        let admin = AdminPrincipal::check(auth.0)?;
        let s = service
            .update_settings(&admin, body.allow_signups, &Ctx::from_request(req))
            .await?;
        Ok(Json(SettingsBody {
            allow_signups: s.allow_signups,
        }))
    }
}
