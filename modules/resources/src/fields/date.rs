use super::{expect_str, invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::Value;

/// A calendar date `YYYY-MM-DD`.
pub fn to_sql(value: &Value) -> Result<Sql, Invalid> {
    let s = expect_str(value, "a date string YYYY-MM-DD")?;
    parse(s).map(Sql::Text).ok_or_else(|| {
        invalid(
            FieldCode::InvalidDatetime,
            "must be a date such as 2026-11-24",
        )
    })
}

pub fn parse(s: &str) -> Option<String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let ok = s.len() == 10 && time::Date::parse(s, &format).is_ok();
    ok.then(|| s.to_owned())
}
