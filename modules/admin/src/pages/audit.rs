//! `/admin/audit`: the audit log, newest first, filtered by action and actor, paged
//! with the auth service's `before` cursor.

use crate::context::{AdminCtx, Layout};
use crate::page::{self, Failure};
use crate::pages::common::failure_page;
use crate::Admin;
use askama::Template;
use auth::AuditRow;
use poem::web::Data;
use poem::{handler, Response};

const PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    rows: Vec<AuditRow>,
    action: String,
    actor: String,
    older: Option<String>,
}

#[handler]
pub async fn list(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    let action = ctx.form.opt("action");
    let actor = ctx.form.opt("actor");
    let before = ctx.form.get("before").parse::<i64>().ok();
    match admin
        .inner
        .auth
        .audit_log(&ctx.admin, before, PAGE, action.clone(), actor.clone())
        .await
    {
        Ok(rows) => {
            let older = (rows.len() as u32 == PAGE).then(|| {
                let last = rows.last().map(|r| r.id).unwrap_or(0);
                let q = serde_urlencoded::to_string([
                    ("action", action.clone().unwrap_or_default()),
                    ("actor", actor.clone().unwrap_or_default()),
                    ("before", last.to_string()),
                ])
                .unwrap_or_default();
                format!("/admin/audit?{q}")
            });
            page::ok(&AuditPage {
                layout: ctx.layout(&admin, "audit", "Audit log"),
                rows,
                action: action.unwrap_or_default(),
                actor: actor.unwrap_or_default(),
                older,
            })
        }
        Err(e) => failure_page(&ctx, &admin, "audit", Failure::new(e)),
    }
}
