use super::{invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::Value;

/// Stored as INTEGER 0/1; only JSON `true`/`false` are accepted (no "yes", no 1).
pub fn to_sql(value: &Value) -> Result<Sql, Invalid> {
    value
        .as_bool()
        .map(|b| Sql::Integer(b as i64))
        .ok_or_else(|| invalid(FieldCode::WrongType, "must be true or false"))
}
