//! The gate in front of every signed-in page: a live session of an enabled admin, and on
//! every request that is not a GET, the session's CSRF token (form field `csrf` or header
//! `X-CSRF-Token`), compared in constant time. Without a session: 303 to the login page.

use crate::context::AdminCtx;
use crate::cookies;
use crate::form::Form;
use crate::page;
use crate::session::{same, SessionRow};
use crate::Admin;
use auth::{Ctx, User};
use kernel::{AdminWriter, Principal, Scope};
use poem::http::{header, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

pub struct Guard(pub Admin);

impl<E: Endpoint> Middleware<E> for Guard {
    type Output = GuardEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        GuardEndpoint {
            inner: ep,
            admin: self.0.clone(),
        }
    }
}

pub struct GuardEndpoint<E> {
    inner: E,
    admin: Admin,
}

/// 303 to the login page, dropping the session cookie; htmx requests also get
/// `HX-Redirect` so the whole page goes there rather than a fragment.
pub fn to_login(req: &Request, https: bool) -> Response {
    let mut resp = page::see_other("/admin/login");
    let name = cookies::name(cookies::SESSION, https);
    if cookies::get(req, &name).is_some() {
        if let Ok(v) = cookies::set(&name, None, https).parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    if req.headers().contains_key("hx-request") {
        resp.headers_mut().insert(
            "hx-redirect",
            poem::http::HeaderValue::from_static("/admin/login"),
        );
    }
    resp
}

/// Whether a dashboard session still stands, as every signed-in request and every live
/// stream's periodic re-check ask it.
pub(crate) enum SessionCheck {
    /// A live session of an enabled admin whose credentials have not changed since it
    /// began.
    Valid(Box<ValidSession>),
    /// Not (any more): the session is unknown or expired, or has just been ended here.
    Ended,
    /// The database could not answer; nothing was decided.
    Unavailable,
}

pub(crate) struct ValidSession {
    pub row: SessionRow,
    pub user: User,
    pub principal: Principal,
}

/// Whether the request behind this check counts as the admin's activity (a page they
/// asked for restarts the idle clock; a stream re-checking itself does not).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activity {
    Request,
    Background,
}

/// The session behind cookie `secret`: still live, its user still an enabled admin, and
/// no credential reset since it began. Ends what fails (so a later check is one read).
pub(crate) async fn check_session(admin: &Admin, secret: &str, activity: Activity) -> SessionCheck {
    let inner = &admin.inner;
    let found = match activity {
        Activity::Request => inner.sessions.touch(secret).await,
        Activity::Background => inner.sessions.lookup(secret).await,
    };
    let row = match found {
        Ok(Some(row)) => row,
        Ok(None) => return SessionCheck::Ended,
        Err(e) => {
            tracing::warn!(error = %e, "admin session lookup failed");
            return SessionCheck::Unavailable;
        }
    };
    // Rights are read on every check: a demoted or disabled admin is out at once.
    let user = match inner.auth.user(&row.user_id).await {
        Ok(u) if u.is_admin && !u.disabled => u,
        Ok(_) | Err(auth::AuthError::UserNotFound) => {
            let _ = inner.sessions.revoke(row.digest).await;
            return SessionCheck::Ended;
        }
        Err(e) => {
            tracing::warn!(error = %e, "admin session's user lookup failed");
            return SessionCheck::Unavailable;
        }
    };
    // A password reset or change (API, dashboard or `hearth admin create` in another
    // process) after this session began ends it, and every other session of the user
    // that began before the reset.
    if row.created_ms <= user.credentials_changed_ms {
        let _ = inner
            .sessions
            .revoke_all(&user.id, user.credentials_changed_ms)
            .await;
        return SessionCheck::Ended;
    }
    let principal = Principal {
        user_id: user.id.clone(),
        email: user.email.clone(),
        is_admin: user.is_admin,
        roles: user.roles.iter().cloned().collect(),
        scopes: Scope::ALL.into_iter().collect(),
        credential: kernel::Credential::Dashboard,
    };
    SessionCheck::Valid(Box::new(ValidSession {
        row,
        user,
        principal,
    }))
}

impl<E: Endpoint> Endpoint for GuardEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let inner = &self.admin.inner;
        let https = cookies::secure(&req, inner.config.https);
        let css = (inner.config.asset_url)("admin/admin.css");
        let Some(secret) = cookies::session_secret(&req, inner.config.https) else {
            return Ok(to_login(&req, https));
        };
        let ValidSession {
            row,
            user,
            principal,
        } = match check_session(&self.admin, &secret, Activity::Request).await {
            SessionCheck::Valid(valid) => *valid,
            SessionCheck::Ended => return Ok(to_login(&req, https)),
            SessionCheck::Unavailable => {
                return Ok(page::error(
                    css,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Try again",
                    "The database is busy; reload the page in a moment.",
                ))
            }
        };
        let Ok(admin) = AdminWriter::check(principal) else {
            return Ok(to_login(&req, https));
        };
        let form = if matches!(*req.method(), Method::GET | Method::HEAD) {
            Form::from_query(req.uri().query())
        } else {
            let content_type = req.content_type().unwrap_or_default().to_owned();
            // Record forms with file fields post multipart, which is not buffered (the
            // files may be large): the token is its first part, the rest is the
            // handler's to read (`FormUpload`), values included.
            let multipart = kernel::media::is_multipart(req.headers());
            let (sent_in_body, form) = if multipart {
                let (token, body) =
                    crate::multipart_csrf::read_token(&content_type, req.take_body()).await;
                req.set_body(body);
                (token.unwrap_or_default(), Form::default())
            } else {
                let bytes = req.take_body().into_bytes().await?;
                let form = Form::parse(&bytes);
                req.set_body(bytes);
                (form.get("csrf").to_owned(), form)
            };
            let sent = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .unwrap_or(sent_in_body);
            if !same(sent.as_bytes(), row.csrf.as_bytes()) {
                return Ok(page::error(
                    css,
                    StatusCode::FORBIDDEN,
                    "This form has expired",
                    "The form's security token did not match your session. Go back, reload the page and submit it again.",
                ));
            }
            form
        };
        let ctx = Ctx::from_request(&req);
        req.extensions_mut().insert(AdminCtx {
            user,
            admin,
            csrf: row.csrf,
            form,
            ctx,
        });
        Ok(self.inner.call(req).await?.into_response())
    }
}
