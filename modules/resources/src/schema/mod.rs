//! Collection definitions: the validated, typed form (`CollectionDef`) and the JSON form
//! clients send and the database stores (`spec`).

mod spec;
mod validate;

pub use spec::{CollectionSpec, CollectionView, FieldSpec, FieldTypeName, OnDeleteName, RulesSpec};

use crate::fields::FieldType;
use crate::rules::Rules;
use serde_json::Value;

/// Columns every record has; clients may read but never write them.
pub const SYSTEM_FIELDS: [&str; 5] = ["id", "created_at", "updated_at", "version", "owner"];

/// Names refused for collections (API.md 2): they are, or will be, system paths.
pub const RESERVED_NAMES: [&str; 14] = [
    "auth",
    "users",
    "collections",
    "tokens",
    "admin",
    "system",
    "openapi.json",
    "docs",
    "batch",
    "files",
    "realtime",
    "uploads",
    "health",
    "metrics",
];

pub const MAX_FIELDS: usize = 200;

/// `^[a-z][a-z0-9_]{0,62}$`: safe to quote into SQL and to use in URLs.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    pub name: String,
    pub ty: FieldType,
    pub required: bool,
    pub unique: bool,
    pub indexed: bool,
    /// Already checked against the type.
    pub default: Option<Value>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CollectionDef {
    pub name: String,
    pub description: Option<String>,
    pub fields: Vec<FieldDef>,
    pub rules: Rules,
}

impl CollectionDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The SQLite table. The prefix keeps collection tables apart from system tables
    /// (and from SQLite's reserved `sqlite_` names).
    pub fn has_file_fields(&self) -> bool {
        self.fields
            .iter()
            .any(|f| matches!(f.ty, crate::fields::FieldType::File(_)))
    }

    pub fn table(&self) -> String {
        table_name(&self.name)
    }

    /// Collections this one points at through relation fields.
    pub fn relation_targets(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter_map(|f| match &f.ty {
            FieldType::Relation(r) => Some(r.collection.as_str()),
            _ => None,
        })
    }
}

pub fn table_name(collection: &str) -> String {
    format!("rec_{collection}")
}

/// What separates a collection's table name from the names derived from it
/// (`rec_posts__i_views`, `rec_posts__new`). Refused in new collection names, so that
/// `rec_<name>` up to its first `__` always names the collection: no collection's
/// table can take a name derived for another. Field names may contain it: they only
/// appear after the separator, behind a prefix of their own (`i_`, `u_`).
pub const DERIVED_NAME_SEPARATOR: &str = "__";

/// The rule for the name of a collection being created (not for existing ones: a
/// collection created before the rule keeps working under its name).
pub fn new_collection_name_error(name: &str) -> Option<kernel::FieldError> {
    name.contains(DERIVED_NAME_SEPARATOR).then(|| {
        kernel::FieldError::new(
            "name",
            kernel::FieldCode::PatternMismatch,
            "must not contain `__`: Hearth names a collection's indexes and migration tables `rec_<name>__…`",
        )
    })
}

/// A quoted SQL identifier. Only ever called with names that passed `is_valid_name`.
pub fn quote(name: &str) -> String {
    debug_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    format!("\"{name}\"")
}
