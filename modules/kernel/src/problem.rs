//! RFC 9457 problem details: the one error type every module converts into, and the
//! only way the server describes a failure to a client.

use crate::codes::{FieldCode, ProblemCode};
use poem::http::{header, HeaderValue, StatusCode};
use poem::Response;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object};
use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// One invalid field inside a `validation_failed` (or `unique_violation`) problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: FieldCode, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code: code.as_str(),
            message: message.into(),
        }
    }
}

/// A problem on its way to the client. `instance` and `request_id` are filled in by the
/// HTTP layer when it renders the response, since only it knows them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} ({}){}", .code.as_str(), .code.status(), .detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
pub struct Problem {
    pub code: ProblemCode,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
    /// For 405: the methods the path accepts.
    pub allow: Option<String>,
}

impl Problem {
    pub fn new(code: ProblemCode) -> Self {
        Problem {
            code,
            detail: None,
            errors: Vec::new(),
            retry_after: None,
            allow: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// `validation_failed` with every invalid field, and a detail that counts them.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.len() {
            1 => "1 field is invalid".to_string(),
            n => format!("{n} fields are invalid"),
        };
        Problem::new(ProblemCode::ValidationFailed)
            .with_detail(detail)
            .with_errors(errors)
    }

    pub fn not_found() -> Self {
        Problem::new(ProblemCode::NotFound)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Problem::new(ProblemCode::Unauthenticated).with_detail(detail)
    }

    pub fn internal() -> Self {
        Problem::new(ProblemCode::Internal)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The JSON body, exactly as API.md section 3 shows it.
    pub fn body(&self, instance: Option<&str>, request_id: Option<&str>) -> serde_json::Value {
        let mut body = serde_json::json!({
            "type": format!("/api/docs/problems#{}", self.code.as_str()),
            "title": self.code.title(),
            "status": self.code.status(),
            "code": self.code.as_str(),
        });
        let obj = body.as_object_mut().expect("object literal");
        if let Some(detail) = &self.detail {
            obj.insert("detail".into(), detail.clone().into());
        }
        if let Some(instance) = instance {
            obj.insert("instance".into(), instance.into());
        }
        if let Some(id) = request_id {
            obj.insert("request_id".into(), id.into());
        }
        if !self.errors.is_empty() {
            obj.insert(
                "errors".into(),
                serde_json::to_value(&self.errors).unwrap_or_default(),
            );
        }
        body
    }

    /// The full HTTP response, with the headers each status calls for.
    pub fn render(&self, instance: Option<&str>, request_id: Option<&str>) -> Response {
        let body = serde_json::to_vec(&self.body(instance, request_id)).unwrap_or_default();
        let mut resp = Response::builder()
            .status(self.status())
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .header(header::CACHE_CONTROL, "no-store")
            .body(body);
        let headers = resp.headers_mut();
        if self.code == ProblemCode::Unauthenticated {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(allow) = self
            .allow
            .as_deref()
            .and_then(|a| HeaderValue::from_str(a).ok())
        {
            headers.insert(header::ALLOW, allow);
        }
        resp
    }
}

impl From<ProblemCode> for Problem {
    fn from(code: ProblemCode) -> Self {
        Problem::new(code)
    }
}

impl poem::error::ResponseError for Problem {
    fn status(&self) -> StatusCode {
        Problem::status(self)
    }

    /// Used only if a problem escapes the HTTP layer's renderer; it lacks the request id.
    fn as_response(&self) -> Response {
        self.render(None, None)
    }
}

/// The documented shape of a problem body, for the OpenAPI document.
#[derive(Object)]
#[oai(rename = "Problem")]
struct ProblemSchema {
    /// Relative URI of the code's documentation, `/api/docs/problems#CODE`.
    #[oai(rename = "type")]
    type_: String,
    title: String,
    status: u16,
    /// Stable machine-readable key; see `/api/docs/problems`.
    code: String,
    detail: Option<String>,
    instance: Option<String>,
    request_id: Option<String>,
    errors: Option<Vec<FieldErrorSchema>>,
}

#[derive(Object)]
#[oai(rename = "FieldError")]
struct FieldErrorSchema {
    field: String,
    code: String,
    message: String,
}

impl ApiResponse for Problem {
    fn meta() -> MetaResponses {
        let response = |description, range: &str| MetaResponse {
            description,
            status: None,
            status_range: Some(range.to_string()),
            content: vec![MetaMediaType {
                content_type: CONTENT_TYPE,
                schema: ProblemSchema::schema_ref(),
            }],
            headers: vec![],
        };
        MetaResponses {
            responses: vec![
                response("Client error (RFC 9457 problem details)", "4XX"),
                response("Server error (RFC 9457 problem details)", "5XX"),
            ],
        }
    }

    fn register(registry: &mut Registry) {
        ProblemSchema::register(registry);
    }
}

impl poem::IntoResponse for Problem {
    fn into_response(self) -> Response {
        self.render(None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_matches_contract_shape() {
        let p = Problem::validation(vec![FieldError::new(
            "title",
            FieldCode::TooLong,
            "must be at most 200 characters",
        )]);
        let body = p.body(Some("/api/v1/posts"), Some("rid"));
        assert_eq!(body["type"], "/api/docs/problems#validation_failed");
        assert_eq!(body["status"], 422);
        assert_eq!(body["code"], "validation_failed");
        assert_eq!(body["detail"], "1 field is invalid");
        assert_eq!(body["instance"], "/api/v1/posts");
        assert_eq!(body["request_id"], "rid");
        assert_eq!(body["errors"][0]["code"], "too_long");
    }

    #[test]
    fn headers_by_status() {
        let resp = Problem::unauthenticated("bad token").render(None, None);
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(resp.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        let resp = Problem::new(ProblemCode::Unavailable)
            .with_retry_after(2)
            .render(None, None);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "2");
    }
}
