use super::{expect_str, invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::Value;

pub const MAX_LEN: usize = 254;

/// A pragmatic address check: one `@`, a non-empty local part, a dotted domain, no
/// spaces. Deliverability is not something a format can prove.
pub fn to_sql(value: &Value) -> Result<Sql, Invalid> {
    let s = expect_str(value, "an email address string")?;
    if is_email(s) {
        Ok(Sql::Text(s.to_owned()))
    } else {
        Err(invalid(FieldCode::InvalidEmail, "must be an email address"))
    }
}

pub fn is_email(s: &str) -> bool {
    if s.len() > MAX_LEN || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        }
        None => false,
    }
}
