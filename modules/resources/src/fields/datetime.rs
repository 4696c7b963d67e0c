use super::{expect_str, invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Any RFC 3339 date-time; stored in UTC as `YYYY-MM-DDTHH:MM:SS.mmmZ` so the text
/// sorts and compares in time order.
pub fn to_sql(value: &Value) -> Result<Sql, Invalid> {
    let s = expect_str(value, "an RFC 3339 date-time string")?;
    parse(s).map(Sql::Text).ok_or_else(|| {
        invalid(
            FieldCode::InvalidDatetime,
            "must be an RFC 3339 date-time such as 2026-11-24T16:20:01Z",
        )
    })
}

pub fn parse(s: &str) -> Option<String> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    (t.year() >= 0 && t.year() <= 9999).then(|| kernel::clock::format(t))
}
