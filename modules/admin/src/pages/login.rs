//! `/admin/login`, `/admin/setup` (first admin, from the URL the server prints) and
//! `/admin/logout`. Before a session exists, forms carry a CSRF token that must match
//! the pre-login cookie; the session itself is created (rotated) only after the
//! password was checked by the auth service.

use crate::context::AdminCtx;
use crate::cookies;
use crate::form::Form;
use crate::page::{self, Failure};
use crate::session::{random_secret, same};
use crate::Admin;
use askama::Template;
use auth::{AuthError, Ctx, Session};
use poem::http::{header, StatusCode};
use poem::web::Data;
use poem::{handler, Body, Request, Response};

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    css: String,
    csrf: String,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/setup.html")]
struct SetupPage {
    css: String,
    csrf: String,
    token: String,
    email: String,
    failure: Option<Failure>,
}

/// The pre-login token: the one in the cookie if it looks like ours, else a new one.
fn pre_token(req: &Request, https: bool) -> String {
    cookies::get(req, &cookies::name(cookies::PRE, https))
        .filter(|v| v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric()))
        .unwrap_or_else(random_secret)
}

fn with_cookie(mut resp: Response, name: &str, value: Option<&str>, https: bool) -> Response {
    if let Ok(v) = cookies::set(name, value, https).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn pre_ok(req: &Request, form: &Form, https: bool) -> bool {
    let cookie = cookies::get(req, &cookies::name(cookies::PRE, https)).unwrap_or_default();
    !cookie.is_empty() && same(cookie.as_bytes(), form.get("csrf").as_bytes())
}

async fn read_form(body: Body) -> Form {
    Form::parse(&body.into_vec().await.unwrap_or_default())
}

fn login_page(
    admin: &Admin,
    req: &Request,
    status: StatusCode,
    email: &str,
    error: Option<String>,
) -> Response {
    let https = cookies::secure(req, admin.inner.config.https);
    let csrf = pre_token(req, https);
    let page = LoginPage {
        css: (admin.inner.config.asset_url)("admin/admin.css"),
        csrf: csrf.clone(),
        email: email.to_owned(),
        error,
    };
    with_cookie(
        page::html(status, &page),
        &cookies::name(cookies::PRE, https),
        Some(&csrf),
        https,
    )
}

#[handler]
pub fn show(req: &Request, admin: Data<&Admin>) -> Response {
    login_page(&admin, req, StatusCode::OK, "", None)
}

/// Revokes the API tokens a login issued (the dashboard keeps its own session), then
/// starts a dashboard session in place of the one the browser had.
async fn start_session(admin: &Admin, req: &Request, session: Session, ctx: &Ctx) -> Response {
    let inner = &admin.inner;
    if let Ok(p) = inner.auth.authenticate(&session.access_token).await {
        let _ = inner.auth.logout(&p, &session.access_token, ctx).await;
    }
    let https = cookies::secure(req, inner.config.https);
    let name = cookies::name(cookies::SESSION, https);
    let old = cookies::get(req, &name).map(|s| crate::session::digest(&s));
    match inner.sessions.create(&session.user.id, old).await {
        Ok(secret) => {
            let resp = with_cookie(page::see_other("/admin"), &name, Some(&secret), https);
            with_cookie(resp, &cookies::name(cookies::PRE, https), None, https)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not create an admin session");
            login_page(
                admin,
                req,
                StatusCode::SERVICE_UNAVAILABLE,
                &session.user.email,
                Some("The database is busy; try again in a moment.".into()),
            )
        }
    }
}

#[handler]
pub async fn submit(req: &Request, body: Body, admin: Data<&Admin>) -> Response {
    let form = read_form(body).await;
    let https = cookies::secure(req, admin.inner.config.https);
    let email = form.get("email").trim().to_owned();
    if !pre_ok(req, &form, https) {
        return login_page(
            &admin,
            req,
            StatusCode::FORBIDDEN,
            &email,
            Some("This form expired. Please sign in again.".into()),
        );
    }
    let ctx = Ctx::from_request(req);
    let session = match admin
        .inner
        .auth
        .login(&email, form.get("password"), &ctx)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            let (status, msg) = match &e {
                AuthError::InvalidCredentials => (
                    StatusCode::UNAUTHORIZED,
                    "Invalid email or password.".to_owned(),
                ),
                AuthError::Throttled(secs) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many failed sign-ins. Try again in {secs} seconds."),
                ),
                _ => {
                    let f = Failure::new(e);
                    (f.status, f.message)
                }
            };
            return login_page(&admin, req, status, &email, Some(msg));
        }
    };
    if !session.user.is_admin {
        if let Ok(p) = admin.inner.auth.authenticate(&session.access_token).await {
            let _ = admin
                .inner
                .auth
                .logout(&p, &session.access_token, &ctx)
                .await;
        }
        return login_page(&admin, req, StatusCode::FORBIDDEN, &email, Some(
            "This account is not an administrator. The dashboard is only for admins; use the API with your account instead.".into()));
    }
    start_session(&admin, req, session, &ctx).await
}

#[handler]
pub async fn logout(req: &Request, admin: Data<&Admin>, _ctx: Data<&AdminCtx>) -> Response {
    let https = cookies::secure(req, admin.inner.config.https);
    let name = cookies::name(cookies::SESSION, https);
    if let Some(secret) = cookies::get(req, &name) {
        let _ = admin
            .inner
            .sessions
            .revoke(crate::session::digest(&secret))
            .await;
    }
    with_cookie(page::see_other("/admin/login"), &name, None, https)
}

fn setup_page(
    admin: &Admin,
    req: &Request,
    status: StatusCode,
    token: &str,
    email: &str,
    failure: Option<Failure>,
) -> Response {
    let https = cookies::secure(req, admin.inner.config.https);
    let csrf = pre_token(req, https);
    let page = SetupPage {
        css: (admin.inner.config.asset_url)("admin/admin.css"),
        csrf: csrf.clone(),
        token: token.to_owned(),
        email: email.to_owned(),
        failure,
    };
    with_cookie(
        page::html(status, &page),
        &cookies::name(cookies::PRE, https),
        Some(&csrf),
        https,
    )
}

fn setup_invalid(admin: &Admin) -> Response {
    page::error(
        (admin.inner.config.asset_url)("admin/admin.css"),
        StatusCode::NOT_FOUND,
        "This setup link is not valid",
        "It was already used, has expired (after an hour), or an admin exists. Sign in at /admin/login, or restart the server for a new link while no admin exists.",
    )
}

#[handler]
pub fn setup_form(req: &Request, admin: Data<&Admin>) -> Response {
    let token = Form::from_query(req.uri().query()).get("token").to_owned();
    if !admin.inner.auth.setup_token_valid(&token) {
        return setup_invalid(&admin);
    }
    setup_page(&admin, req, StatusCode::OK, &token, "", None)
}

#[handler]
pub async fn setup_submit(req: &Request, body: Body, admin: Data<&Admin>) -> Response {
    let form = read_form(body).await;
    let https = cookies::secure(req, admin.inner.config.https);
    let token = form.get("token").to_owned();
    let email = form.get("email").trim().to_owned();
    if !pre_ok(req, &form, https) {
        let failure = Failure {
            status: StatusCode::FORBIDDEN,
            message: "This form expired. Please submit it again.".into(),
            fields: vec![],
        };
        return setup_page(
            &admin,
            req,
            StatusCode::FORBIDDEN,
            &token,
            &email,
            Some(failure),
        );
    }
    // Check the shape first: a refused password must not use up the one-time token.
    if let Err(e) = auth::check_new_account(&email, form.get("password")) {
        let f = Failure::new(e);
        return setup_page(
            &admin,
            req,
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            &email,
            Some(f),
        );
    }
    let ctx = Ctx::from_request(req);
    match admin
        .inner
        .auth
        .complete_setup(&token, &email, form.get("password"), &ctx)
        .await
    {
        Ok(session) => start_session(&admin, req, session, &ctx).await,
        Err(AuthError::InvalidToken) => setup_invalid(&admin),
        Err(e) => {
            let f = Failure::new(e);
            setup_page(&admin, req, f.status, &token, &email, Some(f))
        }
    }
}
