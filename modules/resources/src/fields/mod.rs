//! The closed set of field types. Each type's behaviour (column type, CHECK constraint,
//! validation, JSON rendering, OpenAPI schema, filter kind) lives in its own file; this
//! module only dispatches, so adding a type touches one file plus the match arms the
//! compiler points at.

mod boolean;
mod date;
mod datetime;
mod email;
mod enumeration;
pub mod file;
mod integer;
mod json;
mod number;
mod pattern;
mod relation;
mod text;
mod url;

pub use enumeration::EnumOptions;
pub use file::FileOptions;
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
    File(FileOptions),
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
            FieldType::File(_) => "file",
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
            FieldType::File(o) => Some(o.check(col)),
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
            FieldType::File(o) => o.to_sql(value),
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
            (FieldType::File(o), ValueRef::Text(t)) if o.multiple() => {
                match serde_json::from_slice::<Value>(t) {
                    Ok(list @ Value::Array(_)) => list,
                    _ => Value::Null,
                }
            }
            (_, ValueRef::Integer(i)) => json!(i),
            (_, ValueRef::Real(f)) => json!(f),
            (_, ValueRef::Text(t)) => Value::String(String::from_utf8_lossy(t).into_owned()),
            (_, ValueRef::Blob(_)) => Value::Null,
        }
    }

    /// Writes a stored value as JSON text, exactly as `to_json` renders it, without
    /// building a `Value` (list pages write dozens of records per request).
    pub fn write_json(&self, value: ValueRef<'_>, out: &mut Vec<u8>) {
        match (self, value) {
            (_, ValueRef::Null) | (_, ValueRef::Blob(_)) => out.extend_from_slice(b"null"),
            (FieldType::Boolean, ValueRef::Integer(i)) => {
                out.extend_from_slice(if i != 0 { b"true" } else { b"false" })
            }
            (FieldType::File(o), ValueRef::Text(t)) if o.multiple() => {
                // A list of names, stored by our own validator; checked as for json.
                match serde_json::from_slice::<Value>(t) {
                    Ok(Value::Array(_)) => out.extend_from_slice(t),
                    _ => out.extend_from_slice(b"null"),
                }
            }
            (FieldType::Json(_), ValueRef::Text(t)) => {
                // Stored by our own validator, so it is JSON; still checked, so a value
                // edited behind our back cannot break the document (rendered as null,
                // as `to_json` does).
                if serde_json::from_slice::<serde::de::IgnoredAny>(t).is_ok() {
                    out.extend_from_slice(t);
                } else {
                    out.extend_from_slice(b"null");
                }
            }
            // Writing into a Vec cannot fail; non-finite reals become null, as in to_json.
            (_, ValueRef::Integer(i)) => {
                let _ = serde_json::to_writer(&mut *out, &i);
            }
            (_, ValueRef::Real(f)) => {
                let _ = serde_json::to_writer(&mut *out, &f);
            }
            (_, ValueRef::Text(t)) => {
                let _ = serde_json::to_writer(&mut *out, &*String::from_utf8_lossy(t));
            }
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
            FieldType::File(o) if o.multiple() => FieldKind::Json,
            _ => FieldKind::Text,
        }
    }

    /// Whether `sort=` may use this field (JSON has no useful order).
    pub fn sortable(&self) -> bool {
        match self {
            FieldType::Json(_) => false,
            FieldType::File(o) => !o.multiple(),
            _ => true,
        }
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
            FieldType::File(o) => o.schema(),
        }
    }
}

/// A JSON string or a `wrong_type` error naming what was expected.
pub(crate) fn expect_str<'a>(value: &'a Value, what: &str) -> Result<&'a str, Invalid> {
    value
        .as_str()
        .ok_or_else(|| invalid(FieldCode::WrongType, format!("must be {what}")))
}

/// A collection `all` with one field of every type, for tests that must cover them all.
#[cfg(test)]
pub(crate) fn every_type_def() -> crate::schema::CollectionDef {
    let spec: crate::schema::CollectionSpec = serde_json::from_value(json!({
        "name": "all", "fields": [
            {"name": "t", "type": "text"},
            {"name": "i", "type": "integer"},
            {"name": "n", "type": "number"},
            {"name": "b", "type": "boolean"},
            {"name": "dt", "type": "datetime"},
            {"name": "d", "type": "date"},
            {"name": "e", "type": "email"},
            {"name": "u", "type": "url"},
            {"name": "en", "type": "enum", "values": ["a", "b"]},
            {"name": "j", "type": "json"},
            {"name": "r", "type": "relation", "collection": "all"},
            {"name": "f", "type": "file"},
            {"name": "fs", "type": "file", "max_files": 3}]}))
    .unwrap();
    spec.to_def().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `write_json` is the fast twin of `to_json`: for every type and every kind of
    /// stored value (including ones only a hand-edited database could hold) the text it
    /// writes must parse to exactly what `to_json` returns.
    #[test]
    fn write_json_renders_what_to_json_returns() {
        let def = every_type_def();
        let texts: [&[u8]; 7] = [
            b"plain",
            "quote \" backslash \\ newline \n tab \t \u{1} é 😀".as_bytes(),
            b"{\"a\": [1, 2.5, null, true], \"b\": {\"c\": \"d\"}}",
            b"[1, 2",
            b"\xff\xfe not utf-8",
            b"",
            b"12",
        ];
        let mut values: Vec<ValueRef<'_>> = vec![
            ValueRef::Null,
            ValueRef::Integer(0),
            ValueRef::Integer(1),
            ValueRef::Integer(-42),
            ValueRef::Integer(i64::MAX),
            ValueRef::Integer(i64::MIN),
            ValueRef::Real(0.0),
            ValueRef::Real(-1.5),
            ValueRef::Real(1e300),
            ValueRef::Real(f64::NAN),
            ValueRef::Real(f64::INFINITY),
            ValueRef::Blob(b"blob"),
        ];
        values.extend(texts.iter().map(|t| ValueRef::Text(t)));
        for field in &def.fields {
            for value in &values {
                let mut out = Vec::new();
                field.ty.write_json(*value, &mut out);
                let written: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
                    panic!(
                        "{} {value:?}: {e}: {}",
                        field.name,
                        String::from_utf8_lossy(&out)
                    )
                });
                assert_eq!(
                    written,
                    field.ty.to_json(*value),
                    "{} {value:?}",
                    field.name
                );
            }
        }
    }
}
