use super::{invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct NumberOptions {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A float literal SQLite parses back to the same value (Rust's `{:?}` round-trips).
fn literal(f: f64) -> String {
    format!("{f:?}")
}

impl NumberOptions {
    pub fn check(&self, col: &str) -> Option<String> {
        super::integer::bounds_check(col, self.min.map(literal), self.max.map(literal))
    }

    pub fn to_sql(&self, value: &Value) -> Result<Sql, Invalid> {
        let n = value
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| invalid(FieldCode::WrongType, "must be a number"))?;
        super::integer::check_bounds(n, self.min, self.max)?;
        Ok(Sql::Real(n))
    }

    pub fn schema(&self) -> Value {
        super::integer::bounds_schema(
            json!({"type": "number", "format": "double"}),
            self.min,
            self.max,
        )
    }
}
