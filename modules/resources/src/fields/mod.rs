//! The closed set of field types. Each type's behaviour (column type, CHECK constraint,
//! validation, JSON rendering, OpenAPI schema, filter kind) lives in its own file; this
//! module only dispatches, so adding a type touches one file plus the match arms the
//! compiler points at.

mod boolean;
mod date;
mod datetime;
mod email;
mod enumeration;
mod integer;
mod json;
mod number;
mod pattern;
mod relation;
mod text;
mod url;

pub use enumeration::EnumOptions;
pub use integer::IntegerOptions;
pub use json::JsonOptions;
pub use number::NumberOptions;
pub use pattern::Pattern;
pub use relation::{OnDelete, RelationOptions};
pub use text::TextOptions;

use crate::filter::FieldKind;
use kernel::FieldCode;
use rusqlite::types::{Value as Sql, ValueRef};
use serde_json::{json, Value};

/// A field type with its type-specific options.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    Text(TextOptions),
    Integer(IntegerOptions),
    Number(NumberOptions),
    Boolean,
    Datetime,
    Date,
    Email,
    Url,
    Enum(EnumOptions),
    Json(JsonOptions),
    Relation(RelationOptions),
}

/// Why a value does not fit a field: the per-field code and a message for people.
pub type Invalid = (FieldCode, String);

pub fn invalid(code: FieldCode, message: impl Into<String>) -> Invalid {
    (code, message.into())
}

impl FieldType {
    /// The name used in definitions (`"type": "text"`).
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::Text(_) => "text",
            FieldType::Integer(_) => "integer",
            FieldType::Number(_) => "number",
            FieldType::Boolean => "boolean",
            FieldType::Datetime => "datetime",
            FieldType::Date => "date",
            FieldType::Email => "email",
            FieldType::Url => "url",
            FieldType::Enum(_) => "enum",
            FieldType::Json(_) => "json",
            FieldType::Relation(_) => "relation",
        }
    }

    /// The STRICT-table column type.
    pub fn column_type(&self) -> &'static str {
        match self {
            FieldType::Integer(_) | FieldType::Boolean => "INTEGER",
            FieldType::Number(_) => "REAL",
            _ => "TEXT",
        }
    }

    /// A CHECK constraint on the column (already quoted as `col`), where SQL can say it.
    pub fn check(&self, col: &str) -> Option<String> {
        match self {
            FieldType::Text(o) => o.check(col),
            FieldType::Integer(o) => o.check(col),
            FieldType::Number(o) => o.check(col),
            FieldType::Boolean => Some(format!("{col} IN (0, 1)")),
            FieldType::Enum(o) => Some(o.check(col)),
            FieldType::Json(o) => Some(o.check(col)),
            FieldType::Datetime => Some(format!("length({col}) = 24")),
            FieldType::Date => Some(format!("length({col}) = 10")),
            FieldType::Email | FieldType::Url | FieldType::Relation(_) => None,
        }
    }

    /// Checks a non-null JSON value and converts it to what the column stores.
    pub fn to_sql(&self, value: &Value) -> Result<Sql, Invalid> {
        match self {
            FieldType::Text(o) => o.to_sql(value),
            FieldType::Integer(o) => o.to_sql(value),
            FieldType::Number(o) => o.to_sql(value),
            FieldType::Boolean => boolean::to_sql(value),
            FieldType::Datetime => datetime::to_sql(value),
            FieldType::Date => date::to_sql(value),
            FieldType::Email => email::to_sql(value),
            FieldType::Url => url::to_sql(value),
            FieldType::Enum(o) => o.to_sql(value),
            FieldType::Json(o) => o.to_sql(value),
            FieldType::Relation(_) => relation::to_sql(value),
        }
    }

    /// Renders a stored value as JSON.
    pub fn to_json(&self, value: ValueRef<'_>) -> Value {
        match (self, value) {
            (_, ValueRef::Null) => Value::Null,
            (FieldType::Boolean, ValueRef::Integer(i)) => Value::Bool(i != 0),
            (FieldType::Json(_), ValueRef::Text(t)) => {
                serde_json::from_slice(t).unwrap_or(Value::Null)
            }
            (_, ValueRef::Integer(i)) => json!(i),
            (_, ValueRef::Real(f)) => json!(f),
            (_, ValueRef::Text(t)) => Value::String(String::from_utf8_lossy(t).into_owned()),
            (_, ValueRef::Blob(_)) => Value::Null,
        }
    }

    /// How the filter compiler treats the column.
    pub fn filter_kind(&self) -> FieldKind {
        match self {
            FieldType::Integer(_) => FieldKind::Integer,
            FieldType::Number(_) => FieldKind::Number,
            FieldType::Boolean => FieldKind::Boolean,
            FieldType::Datetime => FieldKind::Datetime,
            FieldType::Date => FieldKind::Date,
            FieldType::Json(_) => FieldKind::Json,
            _ => FieldKind::Text,
        }
    }

    /// Whether `sort=` may use this field (JSON has no useful order).
    pub fn sortable(&self) -> bool {
        !matches!(self, FieldType::Json(_))
    }

    /// The JSON Schema (OpenAPI 3.0 dialect) of a value, without nullability.
    pub fn openapi_schema(&self) -> Value {
        match self {
            FieldType::Text(o) => o.schema(),
            FieldType::Integer(o) => o.schema(),
            FieldType::Number(o) => o.schema(),
            FieldType::Boolean => json!({"type": "boolean"}),
            FieldType::Datetime => json!({"type": "string", "format": "date-time"}),
            FieldType::Date => json!({"type": "string", "format": "date"}),
            FieldType::Email => {
                json!({"type": "string", "format": "email", "maxLength": email::MAX_LEN})
            }
            FieldType::Url => json!({"type": "string", "format": "uri", "maxLength": url::MAX_LEN}),
            FieldType::Enum(o) => json!({"type": "string", "enum": o.values}),
            FieldType::Json(_) => json!({}),
            FieldType::Relation(o) => {
                json!({"type": "string", "format": "uuid", "description": format!("id of a record in `{}`", o.collection)})
            }
        }
    }
}

/// A JSON string or a `wrong_type` error naming what was expected.
pub(crate) fn expect_str<'a>(value: &'a Value, what: &str) -> Result<&'a str, Invalid> {
    value
        .as_str()
        .ok_or_else(|| invalid(FieldCode::WrongType, format!("must be {what}")))
}
