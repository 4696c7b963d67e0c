use super::{invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct JsonOptions {
    pub max_bytes: Option<u32>,
}

impl JsonOptions {
    pub fn check(&self, col: &str) -> String {
        match self.max_bytes {
            Some(max) => format!("json_valid({col}) AND length(CAST({col} AS BLOB)) <= {max}"),
            None => format!("json_valid({col})"),
        }
    }

    /// Any JSON value, stored as its compact text.
    pub fn to_sql(&self, value: &Value) -> Result<Sql, Invalid> {
        let text = serde_json::to_string(value).unwrap_or_default();
        if let Some(max) = self.max_bytes.filter(|&m| text.len() > m as usize) {
            return Err(invalid(
                FieldCode::TooLong,
                format!("must be at most {max} bytes of JSON"),
            ));
        }
        Ok(Sql::Text(text))
    }
}
