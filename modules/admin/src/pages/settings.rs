//! `/admin/settings`: run-time settings the services own (sign-ups, in the auth service).

use crate::context::{AdminCtx, Layout};
use crate::page::{self, Failure};
use crate::pages::common::failure_page;
use crate::Admin;
use askama::Template;
use poem::web::Data;
use poem::{handler, Response};

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    layout: Layout,
    allow_signups: bool,
}

#[handler]
pub async fn show(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    match admin.inner.auth.settings().await {
        Ok(s) => page::ok(&SettingsPage {
            layout: ctx.layout(&admin, "settings", "Settings"),
            allow_signups: s.allow_signups,
        }),
        Err(e) => failure_page(&ctx, &admin, "settings", Failure::new(e)),
    }
}

#[handler]
pub async fn save(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    let allow = ctx.form.checked("allow_signups");
    match admin
        .inner
        .auth
        .update_settings(&ctx.admin, Some(allow), &ctx.ctx)
        .await
    {
        Ok(_) => page::see_other("/admin/settings?notice=saved"),
        Err(e) => failure_page(&ctx, &admin, "settings", Failure::new(e)),
    }
}
