//! Turning templates and failures into responses. Pages never answer with a problem
//! document: a failure is an HTML page (or a message in the form it came from).

use askama::Template;
use kernel::{FieldError, Problem};
use poem::http::{header, StatusCode};
use poem::{IntoResponse, Response};

pub fn html(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-store")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "admin template failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub fn ok(t: &impl Template) -> Response {
    html(StatusCode::OK, t)
}

/// 303 to `to` (after a successful form, and to the login page).
pub fn see_other(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, to)
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
}

#[derive(Template)]
#[template(path = "admin/error.html")]
pub struct ErrorPage {
    pub css: String,
    pub status: u16,
    pub title: String,
    pub detail: String,
}

/// A standalone error page (no navigation: it also serves requests without a session).
pub fn error(css: String, status: StatusCode, title: &str, detail: &str) -> Response {
    html(
        status,
        &ErrorPage {
            css,
            status: status.as_u16(),
            title: title.to_owned(),
            detail: detail.to_owned(),
        },
    )
}

/// What a failed service call says to a person: a headline and the per-field messages.
pub struct Failure {
    pub status: StatusCode,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl Failure {
    pub fn from_problem(p: Problem) -> Failure {
        let message = match &p.detail {
            Some(d) if !p.errors.is_empty() && p.errors.len() > 1 => d.clone(),
            Some(d) => d.clone(),
            None => p.code.title().to_owned(),
        };
        let status = p.status();
        Failure {
            status,
            message,
            fields: p.errors,
        }
    }

    pub fn new<E: Into<Problem>>(e: E) -> Failure {
        Failure::from_problem(e.into())
    }

    /// The message for form field `name`, if the service named it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.field == name)
            .map(|f| f.message.as_str())
    }
}
