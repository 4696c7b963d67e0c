//! Tests of the filter language, against a small fixed schema.

mod differential;
mod errors;
mod eval;
mod gen;
mod hostile;
mod parse;
mod prop;
mod sql;
mod sqlite;

use super::{compile, CompiledFilter, FieldKind, FilterError};
use rusqlite::types::Value;

/// The test collection: every kind of field, plus the system fields.
pub(super) const SCHEMA: &[(&str, FieldKind)] = &[
    ("id", FieldKind::Text),
    ("owner", FieldKind::Text),
    ("title", FieldKind::Text),
    ("status", FieldKind::Text),
    ("views", FieldKind::Integer),
    ("version", FieldKind::Integer),
    ("rating", FieldKind::Number),
    ("published", FieldKind::Boolean),
    ("created_at", FieldKind::Datetime),
    ("updated_at", FieldKind::Datetime),
    ("due", FieldKind::Date),
    ("meta", FieldKind::Json),
];

pub(super) fn lookup(name: &str) -> Option<FieldKind> {
    SCHEMA.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// Compiles against [`SCHEMA`], panicking with the error if it fails.
pub(super) fn ok(input: &str) -> CompiledFilter {
    compile(input, &lookup).unwrap_or_else(|e| panic!("{input:?} failed: {e}"))
}

/// Compiles against [`SCHEMA`], expecting an error; returns (position, message).
pub(super) fn err(input: &str) -> (usize, String) {
    match compile(input, &lookup) {
        Ok(c) => panic!("{input:?} compiled to {c:?}"),
        Err(FilterError { position, message }) => (position, message),
    }
}

pub(super) fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}
