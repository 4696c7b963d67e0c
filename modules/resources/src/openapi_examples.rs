//! An `example` for each field's schema in the document, so that clients (and
//! schemathesis' examples phase) have a value the server accepts. Each candidate is run
//! through the field's own validator, so an example never contradicts the definition;
//! a field none fits (a pattern no candidate matches, a relation, which needs a real id)
//! simply has none.

use crate::fields::FieldType;
use crate::schema::FieldDef;
use serde_json::{json, Value};

/// Strings tried for text fields, in order, before one sized to `min_length`.
const TEXT_CANDIDATES: [&str; 8] = [
    "Example",
    "example",
    "example-1",
    "example_1",
    "AB-123",
    "a",
    "A",
    "1",
];

pub(crate) fn example(field: &FieldDef) -> Option<Value> {
    let candidates: Vec<Value> = match &field.ty {
        FieldType::Text(o) => {
            let mut c: Vec<Value> = TEXT_CANDIDATES.iter().map(|s| json!(s)).collect();
            if let Some(min) = o.min_length {
                c.push(json!("x".repeat(min.min(1024) as usize)));
            }
            c
        }
        FieldType::Integer(o) => {
            let (lo, hi) = (o.min.unwrap_or(i64::MIN), o.max.unwrap_or(i64::MAX));
            vec![json!(1i64.clamp(lo, hi.max(lo)))]
        }
        FieldType::Number(o) => {
            let (lo, hi) = (o.min.unwrap_or(f64::MIN), o.max.unwrap_or(f64::MAX));
            vec![json!(1.5f64.clamp(lo, hi.max(lo)))]
        }
        FieldType::Boolean => vec![json!(true)],
        FieldType::Datetime => vec![json!("2026-01-02T03:04:05.000Z")],
        FieldType::Date => vec![json!("2026-01-02")],
        FieldType::Email => vec![json!("someone@example.org")],
        FieldType::Url => vec![json!("https://example.org/")],
        FieldType::Enum(o) => o.values.first().map(|v| json!(v)).into_iter().collect(),
        FieldType::Json(_) => vec![json!({"key": "value"}), json!(1)],
        FieldType::Relation(_) => vec![],
        // Stored names are the server's: no example a client could send as-is.
        FieldType::File(_) => vec![],
    };
    candidates.into_iter().find(|c| field.ty.to_sql(c).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_passes_its_fields_validator() {
        let def = crate::fields::every_type_def();
        for field in &def.fields {
            match (&field.ty, example(field)) {
                (FieldType::Relation(_) | FieldType::File(_), got) => assert_eq!(got, None),
                (_, Some(v)) => assert!(field.ty.to_sql(&v).is_ok(), "{}: {v}", field.name),
                (_, None) => panic!("{} has no example", field.name),
            }
        }
    }
}
