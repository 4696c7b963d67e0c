use super::{expect_str, invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::Value;

pub const MAX_LEN: usize = 2048;

/// An absolute `http` or `https` URL with a host.
pub fn to_sql(value: &Value) -> Result<Sql, Invalid> {
    let s = expect_str(value, "a URL string")?;
    if is_url(s) {
        Ok(Sql::Text(s.to_owned()))
    } else {
        Err(invalid(
            FieldCode::InvalidUrl,
            "must be an absolute http(s) URL",
        ))
    }
}

pub fn is_url(s: &str) -> bool {
    if s.len() > MAX_LEN || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let rest = match s.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            rest
        }
        _ => return false,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    !host.is_empty()
}
