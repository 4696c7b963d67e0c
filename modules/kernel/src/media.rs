//! Request media types every module reads the same way.

use poem::http::{header, HeaderMap};

/// Whether the request's `Content-Type` is `multipart/form-data` (parameters such as
/// the boundary aside, case-insensitively). Record writes, the dashboard's record forms
/// and the body limit all decide on it, so they must agree.
pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("multipart/form-data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_media_type_decides_not_its_parameters() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, v.parse().unwrap());
            is_multipart(&h)
        };
        assert!(with("multipart/form-data; boundary=x"));
        assert!(with("Multipart/Form-Data"));
        assert!(!with("multipart/form-datax; boundary=x"));
        assert!(!with("application/json"));
        assert!(!is_multipart(&HeaderMap::new()));
    }
}
