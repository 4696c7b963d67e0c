use super::pattern::Pattern;
use super::{expect_str, invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub struct TextOptions {
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    /// Compiled once when the definition is loaded.
    pub pattern: Option<Pattern>,
}

impl PartialEq for TextOptions {
    fn eq(&self, other: &Self) -> bool {
        self.min_length == other.min_length
            && self.max_length == other.max_length
            && self.pattern.as_ref().map(Pattern::as_str)
                == other.pattern.as_ref().map(Pattern::as_str)
    }
}

/// An ECMA-262 pattern matching any string that contains U+0000, which text never does.
const NUL_PATTERN: &str = "\\u0000";

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
        if s.contains('\0') {
            // SQLite's length() (and so the CHECK) stops at the first NUL; refusing it here
            // keeps validation and the column constraint counting the same characters.
            return Err(invalid(
                FieldCode::Invalid,
                "must not contain the NUL character (U+0000)",
            ));
        }
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
        let mut schema = json!({"type": "string", "not": {"pattern": NUL_PATTERN}});
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused_because_sqlite_length_stops_there() {
        let opts = TextOptions {
            min_length: Some(1),
            max_length: None,
            pattern: None,
        };
        let err = opts.to_sql(&json!("\u{0}abc")).unwrap_err();
        assert_eq!(err.0, FieldCode::Invalid);
        assert!(opts.to_sql(&json!("abc")).is_ok());
        assert_eq!(opts.schema()["not"], json!({"pattern": "\\u0000"}));
    }
}
