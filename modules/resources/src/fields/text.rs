use super::{expect_str, invalid, Invalid};
use kernel::FieldCode;
use regex::Regex;
use rusqlite::types::Value as Sql;
use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub struct TextOptions {
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    /// Compiled once when the definition is loaded.
    pub pattern: Option<Regex>,
}

impl PartialEq for TextOptions {
    fn eq(&self, other: &Self) -> bool {
        self.min_length == other.min_length
            && self.max_length == other.max_length
            && self.pattern.as_ref().map(Regex::as_str) == other.pattern.as_ref().map(Regex::as_str)
    }
}

/// Length is counted in Unicode scalar values, as SQLite's `length()` counts characters.
fn char_len(s: &str) -> u32 {
    s.chars().count().min(u32::MAX as usize) as u32
}

impl TextOptions {
    pub fn check(&self, col: &str) -> Option<String> {
        match (self.min_length, self.max_length) {
            (None, None) => None,
            (Some(min), None) => Some(format!("length({col}) >= {min}")),
            (None, Some(max)) => Some(format!("length({col}) <= {max}")),
            (Some(min), Some(max)) => Some(format!("length({col}) BETWEEN {min} AND {max}")),
        }
    }

    pub fn to_sql(&self, value: &Value) -> Result<Sql, Invalid> {
        let s = expect_str(value, "a string")?;
        let len = char_len(s);
        if let Some(min) = self.min_length.filter(|&m| len < m) {
            return Err(invalid(
                FieldCode::TooShort,
                format!("must be at least {min} characters"),
            ));
        }
        if let Some(max) = self.max_length.filter(|&m| len > m) {
            return Err(invalid(
                FieldCode::TooLong,
                format!("must be at most {max} characters"),
            ));
        }
        if let Some(re) = &self.pattern {
            if !re.is_match(s) {
                return Err(invalid(
                    FieldCode::PatternMismatch,
                    format!("must match the pattern {}", re.as_str()),
                ));
            }
        }
        Ok(Sql::Text(s.to_owned()))
    }

    pub fn schema(&self) -> Value {
        let mut schema = json!({"type": "string"});
        if let Some(min) = self.min_length {
            schema["minLength"] = json!(min);
        }
        if let Some(max) = self.max_length {
            schema["maxLength"] = json!(max);
        }
        if let Some(re) = &self.pattern {
            schema["pattern"] = json!(re.as_str());
        }
        schema
    }
}
