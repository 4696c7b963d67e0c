use super::{invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct EnumOptions {
    pub values: Vec<String>,
}

impl EnumOptions {
    pub fn check(&self, col: &str) -> String {
        let list: Vec<String> = self.values.iter().map(|v| sql_string(v)).collect();
        format!("{col} IN ({})", list.join(", "))
    }

    pub fn to_sql(&self, value: &Value) -> Result<Sql, Invalid> {
        match value.as_str() {
            Some(s) if self.values.iter().any(|v| v == s) => Ok(Sql::Text(s.to_owned())),
            _ => Err(invalid(
                FieldCode::NotInEnum,
                format!("must be one of: {}", self.values.join(", ")),
            )),
        }
    }
}

/// A SQL string literal. Only for values from a validated definition (DDL cannot bind).
pub fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
