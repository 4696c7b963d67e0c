//! `/admin/tokens`: the signed-in admin's personal API tokens (auth service): create
//! with scopes and expiry (the secret is shown once), revoke after confirmation.

use crate::context::{AdminCtx, Layout};
use crate::page::{self, Failure};
use crate::pages::common::{confirm_page, failure_page, ConfirmPage};
use crate::Admin;
use askama::Template;
use auth::PersonalToken;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Response};

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<PersonalToken>,
    created: Option<(String, String)>,
    failure: Option<Failure>,
    name: String,
}

async fn render(
    ctx: &AdminCtx,
    admin: &Admin,
    created: Option<(String, String)>,
    failure: Option<Failure>,
) -> Response {
    let tokens = admin
        .inner
        .auth
        .list_tokens(ctx.admin.principal(), auth::MAX_TOKEN_PAGE, None)
        .await
        .map(|page| page.items)
        .unwrap_or_default();
    let status = failure.as_ref().map(|f| f.status).unwrap_or(StatusCode::OK);
    let name = if failure.is_some() {
        ctx.form.get("name").to_owned()
    } else {
        String::new()
    };
    page::html(
        status,
        &TokensPage {
            layout: ctx.layout(admin, "tokens", "API tokens"),
            tokens,
            created,
            failure,
            name,
        },
    )
}

#[handler]
pub async fn list(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    render(&ctx, &admin, None, None).await
}

#[handler]
pub async fn create(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    let scopes = ctx.form.all("scopes");
    // A date picks the end of that day, UTC.
    let expires = ctx.form.opt("expires").map(|d| format!("{d}T23:59:59Z"));
    match admin
        .inner
        .auth
        .create_token(
            ctx.admin.principal(),
            ctx.form.get("name"),
            &scopes,
            expires.as_deref(),
            &ctx.ctx,
        )
        .await
    {
        Ok(t) => render(&ctx, &admin, Some((t.token.name, t.secret)), None).await,
        Err(e) => render(&ctx, &admin, None, Some(Failure::new(e))).await,
    }
}

#[handler]
pub async fn confirm_revoke(
    Path(id): Path<String>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    let tokens = admin
        .inner
        .auth
        .list_tokens(ctx.admin.principal(), auth::MAX_TOKEN_PAGE, None)
        .await
        .map(|page| page.items)
        .unwrap_or_default();
    let Some(t) = tokens.into_iter().find(|t| t.id == id) else {
        return failure_page(
            &ctx,
            &admin,
            "tokens",
            Failure::new(auth::AuthError::TokenNotFound),
        );
    };
    confirm_page(
        &ctx,
        &admin,
        ConfirmPage::new(
            "tokens",
            format!("Revoke token {}?", t.name),
            vec![format!(
                "Every program using the token {} ({}) is refused from now on.",
                t.name,
                t.scopes.join(", ")
            )],
            format!("/admin/tokens/{id}/revoke"),
            format!("Revoke {}", t.name),
            "/admin/tokens".into(),
        ),
    )
}

#[handler]
pub async fn revoke(Path(id): Path<String>, ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    match admin
        .inner
        .auth
        .revoke_personal_token(ctx.admin.principal(), &id, &ctx.ctx)
        .await
    {
        Ok(()) => page::see_other("/admin/tokens?notice=revoked"),
        Err(e) => failure_page(&ctx, &admin, "tokens", Failure::new(e)),
    }
}
