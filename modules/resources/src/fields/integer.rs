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
        if let Some(min) = self.min.filter(|&m| n < m) {
            return Err(invalid(
                FieldCode::TooSmall,
                format!("must be at least {min}"),
            ));
        }
        if let Some(max) = self.max.filter(|&m| n > m) {
            return Err(invalid(
                FieldCode::TooLarge,
                format!("must be at most {max}"),
            ));
        }
        Ok(Sql::Integer(n))
    }

    pub fn schema(&self) -> Value {
        let mut schema = json!({"type": "integer", "format": "int64"});
        if let Some(min) = self.min {
            schema["minimum"] = json!(min);
        }
        if let Some(max) = self.max {
            schema["maximum"] = json!(max);
        }
        schema
    }
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
