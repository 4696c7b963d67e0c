use super::{invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct IntegerOptions {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl IntegerOptions {
    pub fn check(&self, col: &str) -> Option<String> {
        bounds_check(
            col,
            self.min.map(|v| v.to_string()),
            self.max.map(|v| v.to_string()),
        )
    }

    pub fn to_sql(&self, value: &Value) -> Result<Sql, Invalid> {
        // 3.0 is an integer in JSON's number model; 3.5 and "3" are not.
        let n = value
            .as_i64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| invalid(FieldCode::WrongType, "must be an integer"))?;
        check_bounds(n, self.min, self.max)?;
        Ok(Sql::Integer(n))
    }

    pub fn schema(&self) -> Value {
        bounds_schema(
            json!({"type": "integer", "format": "int64"}),
            self.min,
            self.max,
        )
    }
}

/// `too_small` / `too_large` for a number outside its optional bounds.
pub(super) fn check_bounds<T: PartialOrd + std::fmt::Display + Copy>(
    n: T,
    min: Option<T>,
    max: Option<T>,
) -> Result<(), Invalid> {
    if let Some(min) = min.filter(|&m| n < m) {
        return Err(invalid(
            FieldCode::TooSmall,
            format!("must be at least {min}"),
        ));
    }
    if let Some(max) = max.filter(|&m| n > m) {
        return Err(invalid(
            FieldCode::TooLarge,
            format!("must be at most {max}"),
        ));
    }
    Ok(())
}

/// Adds `minimum` / `maximum` to a JSON Schema when the bounds exist.
pub(super) fn bounds_schema<T: serde::Serialize>(
    mut schema: Value,
    min: Option<T>,
    max: Option<T>,
) -> Value {
    if let Some(min) = min {
        schema["minimum"] = json!(min);
    }
    if let Some(max) = max {
        schema["maximum"] = json!(max);
    }
    schema
}

/// `col >= min AND col <= max`, or whichever half exists.
pub(super) fn bounds_check(col: &str, min: Option<String>, max: Option<String>) -> Option<String> {
    match (min, max) {
        (None, None) => None,
        (Some(min), None) => Some(format!("{col} >= {min}")),
        (None, Some(max)) => Some(format!("{col} <= {max}")),
        (Some(min), Some(max)) => Some(format!("{col} BETWEEN {min} AND {max}")),
    }
}
