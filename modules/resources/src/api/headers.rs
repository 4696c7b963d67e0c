//! Conditional-request and idempotency headers (RFC 9110, API.md section 5).

use crate::records::service::IfMatch;
use kernel::{Problem, ProblemCode};
use poem::http::HeaderMap;

pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// Strong entity tags in a list; weak (`W/`) and malformed ones never match.
fn strong_versions(value: &str) -> Vec<i64> {
    value
        .split(',')
        .filter_map(|t| t.trim().strip_prefix('"')?.strip_suffix('"')?.parse().ok())
        .collect()
}

pub fn if_match(headers: &HeaderMap) -> Option<IfMatch> {
    let value = headers.get("if-match")?.to_str().unwrap_or("");
    if value.trim() == "*" {
        Some(IfMatch::Any)
    } else {
        Some(IfMatch::Versions(strong_versions(value)))
    }
}

/// True when `If-None-Match` names the current version (or is `*`): answer 304.
pub fn none_match_hits(headers: &HeaderMap, version: i64) -> bool {
    let Some(value) = headers.get("if-none-match").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // If-None-Match uses the weak comparison: W/"3" matches "3".
    value.trim() == "*"
        || value
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag(version))
}

/// `Idempotency-Key`: 1 to 255 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("");
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Problem::new(ProblemCode::BadRequest)
            .with_detail("Idempotency-Key must be 1 to 255 visible ASCII characters"));
    }
    Ok(Some(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::HeaderValue;

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn conditional_headers() {
        assert_eq!(
            if_match(&headers("if-match", "\"3\", \"4\"")),
            Some(IfMatch::Versions(vec![3, 4]))
        );
        assert_eq!(
            if_match(&headers("if-match", "W/\"3\"")),
            Some(IfMatch::Versions(vec![]))
        );
        assert_eq!(if_match(&headers("if-match", "*")), Some(IfMatch::Any));
        assert_eq!(if_match(&HeaderMap::new()), None);
        assert!(none_match_hits(
            &headers("if-none-match", "\"2\", W/\"3\""),
            3
        ));
        assert!(!none_match_hits(&headers("if-none-match", "\"2\""), 3));
        assert!(idempotency_key(&headers("idempotency-key", "abc-1"))
            .unwrap()
            .is_some());
        assert!(idempotency_key(&headers("idempotency-key", "a b")).is_err());
    }
}
