//! `/admin/users`: accounts (auth service): list, create, edit roles/admin/disabled,
//! reset the password, delete after confirmation.

use crate::context::{AdminCtx, Layout};
use crate::form::list as split;
use crate::page::{self, Failure};
use crate::pages::common::{confirm_page, failure_page, ConfirmPage};
use crate::Admin;
use askama::Template;
use auth::{User, UserUpdate};
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Response};

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<User>,
    total: i64,
    failure: Option<Failure>,
    edit: Option<User>,
    /// 1-based, and how many pages there are (at least 1).
    page: u64,
    pages: u64,
}

/// Accounts per page, oldest first.
const PAGE: u32 = 100;

async fn render(
    ctx: &AdminCtx,
    admin: &Admin,
    edit: Option<User>,
    failure: Option<Failure>,
) -> Response {
    // `?page=N` on the list; a form post (create, edit) shows the first page. A page
    // past the end shows the last one.
    let mut page = ctx
        .form
        .get("page")
        .parse::<u64>()
        .unwrap_or(1)
        .clamp(1, u64::MAX / u64::from(PAGE));
    let fetch = |page: u64| {
        admin
            .inner
            .auth
            .list_users(&ctx.admin, PAGE, (page - 1) * u64::from(PAGE))
    };
    let page_count = |total: i64| {
        (u64::try_from(total).unwrap_or(0))
            .div_ceil(u64::from(PAGE))
            .max(1)
    };
    let mut listed = fetch(page).await;
    if let Ok(p) = &listed {
        if page > page_count(p.total) {
            page = page_count(p.total);
            listed = fetch(page).await;
        }
    }
    let (users, total, failure) = match listed {
        Ok(p) => (p.items, p.total, failure),
        Err(e) => (Vec::new(), 0, failure.or_else(|| Some(Failure::new(e)))),
    };
    let pages = page_count(total);
    let status = failure.as_ref().map(|f| f.status).unwrap_or(StatusCode::OK);
    page::html(
        status,
        &UsersPage {
            layout: ctx.layout(admin, "users", "Users"),
            users,
            total,
            failure,
            edit,
            page,
            pages,
        },
    )
}

#[handler]
pub async fn list(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    render(&ctx, &admin, None, None).await
}

#[handler]
pub async fn create(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    let f = &ctx.form;
    match admin
        .inner
        .auth
        .admin_create_user(
            &ctx.admin,
            f.get("email"),
            f.get("password"),
            split(f.get("roles")),
            f.checked("is_admin"),
            &ctx.ctx,
        )
        .await
    {
        Ok(_) => page::see_other("/admin/users?notice=created"),
        Err(e) => render(&ctx, &admin, None, Some(Failure::new(e))).await,
    }
}

#[handler]
pub async fn edit_form(
    Path(id): Path<String>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    match admin.inner.auth.get_user(&ctx.admin, &id).await {
        Ok(u) => render(&ctx, &admin, Some(u), None).await,
        Err(e) => failure_page(&ctx, &admin, "users", Failure::new(e)),
    }
}

#[handler]
pub async fn update(Path(id): Path<String>, ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    let f = &ctx.form;
    let update = UserUpdate {
        roles: Some(split(f.get("roles"))),
        is_admin: Some(f.checked("is_admin")),
        disabled: Some(f.checked("disabled")),
        password: f.opt("password"),
        ..Default::default()
    };
    match admin
        .inner
        .auth
        .update_user(&ctx.admin, &id, update, &ctx.ctx)
        .await
    {
        Ok(_) => page::see_other("/admin/users?notice=saved"),
        Err(e) => {
            let user = admin.inner.auth.get_user(&ctx.admin, &id).await.ok();
            render(&ctx, &admin, user, Some(Failure::new(e))).await
        }
    }
}

#[handler]
pub async fn confirm_delete(
    Path(id): Path<String>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    match admin.inner.auth.get_user(&ctx.admin, &id).await {
        Ok(u) => confirm_page(
            &ctx,
            &admin,
            ConfirmPage::new(
                "users",
                format!("Delete the account {}?", u.email),
                vec![
                    format!(
                        "The account {} and all its tokens are deleted; it can no longer sign in.",
                        u.email
                    ),
                    "Records it owns keep existing, without an owner.".into(),
                ],
                format!("/admin/users/{id}/delete"),
                format!("Delete {}", u.email),
                "/admin/users".into(),
            ),
        ),
        Err(e) => failure_page(&ctx, &admin, "users", Failure::new(e)),
    }
}

#[handler]
pub async fn delete(Path(id): Path<String>, ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    match admin
        .inner
        .auth
        .delete_user(&ctx.admin, &id, &ctx.ctx)
        .await
    {
        Ok(()) => page::see_other("/admin/users?notice=deleted"),
        Err(e) => failure_page(&ctx, &admin, "users", Failure::new(e)),
    }
}
