//! `GET /metrics`: the Prometheus text exposition, optionally behind a bearer token.

use crate::metrics::CONTENT_TYPE;
use crate::Observability;
use kernel::Problem;
use poem::http::header;
use poem::web::Data;
use poem::{handler, Request, Response};

/// Equal-length comparison whose time does not depend on where the strings differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorised(req: &Request, token: &str) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, given)| same(given.trim().as_bytes(), token.as_bytes()))
}

#[handler]
pub async fn metrics(
    req: &Request,
    observability: Data<&Observability>,
) -> Result<Response, Problem> {
    if let Some(token) = observability.metrics_token() {
        if !authorised(req, token) {
            return Err(Problem::unauthenticated(
                "/metrics needs Authorization: Bearer <metrics token>",
            ));
        }
    }
    observability.refresh_record_counts().await;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .header(header::CACHE_CONTROL, "no-store")
        .body(observability.metrics().render()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_compared_exactly() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
        let req = |v: &str| Request::builder().header(header::AUTHORIZATION, v).finish();
        assert!(authorised(&req("Bearer s3cret"), "s3cret"));
        assert!(authorised(&req("bearer s3cret"), "s3cret"));
        assert!(!authorised(&req("Bearer s3cre"), "s3cret"));
        assert!(!authorised(&req("Basic s3cret"), "s3cret"));
        assert!(!authorised(&Request::builder().finish(), "s3cret"));
    }
}
