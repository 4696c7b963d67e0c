//! The JSON shape of a definition, shared by the API (documented through poem-openapi)
//! and the `collections` table, and the conversion from a validated `CollectionDef`
//! back to it. The other direction, with validation, is in `validate.rs`.

use super::{CollectionDef, FieldDef};
use crate::fields::*;
use crate::rules::{Action, Grant, Rules};
use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Enum, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum FieldTypeName {
    Text,
    Integer,
    Number,
    Boolean,
    Datetime,
    Date,
    Email,
    Url,
    Enum,
    Json,
    Relation,
    File,
}

#[derive(Enum, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum OnDeleteName {
    Restrict,
    Cascade,
    SetNull,
}

/// One field of a collection. Options apply only to the types named in their description.
#[derive(Object, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[oai(
    rename = "FieldDefinition",
    deny_unknown_fields,
    skip_serializing_if_is_none
)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// `^[a-z][a-z0-9_]{0,62}$`, not a system field name.
    pub name: String,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub type_: FieldTypeName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// A unique index; duplicates get 409 `unique_violation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique: Option<bool>,
    /// An index on (field, id) for fast filters and sorts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indexed: Option<bool>,
    /// Applied on create when the field is absent. Must be valid for the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// text
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// text
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// text: an ECMA-262 regular expression (the JSON Schema dialect) the value must match,
    /// unanchored; constructs that need backtracking (backreferences, lookaround) are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// integer, number
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// integer, number
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// enum: the allowed values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// json: largest accepted value, in bytes of compact JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u32>,
    /// relation: the collection referenced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// relation: what deleting the referenced record does (default `restrict`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDeleteName>,
    /// file: largest accepted file in bytes (default 5 MiB, at most 5 GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    /// file: allowed content types (`type/subtype` or `type/*`), sniffed from the file's
    /// bytes, never taken from the client. Absent or empty: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_types: Option<Vec<String>>,
    /// file: 1 (default) holds one file name; more hold a list of at most this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<u32>,
    /// file: thumbnail sizes downloads may ask for: `WxH` (crop), `WxHf` (fit), `Wx0` or
    /// `0xH` (keep the ratio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbs: Option<Vec<String>>,
    /// file: downloads need the record's `view` permission, or a file token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// Only in a PUT: the field's previous name, to rename it and keep its data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

/// Who may do what: each action lists grants (`public`, `authenticated`, `owner`,
/// `role:NAME`), any one of which admits the caller. Empty or absent: admins only.
#[derive(Object, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[oai(rename = "CollectionRules", deny_unknown_fields)]
#[serde(deny_unknown_fields, default)]
pub struct RulesSpec {
    #[oai(default)]
    pub list: Vec<String>,
    #[oai(default)]
    pub view: Vec<String>,
    #[oai(default)]
    pub create: Vec<String>,
    #[oai(default)]
    pub update: Vec<String>,
    #[oai(default)]
    pub delete: Vec<String>,
}

/// A collection definition as sent to `POST /collections` and `PUT /collections/{name}`.
#[derive(Object, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[oai(rename = "CollectionInput", deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct CollectionSpec {
    /// `^[a-z][a-z0-9_]{0,62}$`, not a reserved name; a new collection's name must not
    /// contain `__` (Hearth derives its index names as `rec_<name>__…`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub fields: Vec<FieldSpec>,
    #[serde(default)]
    pub rules: Option<RulesSpec>,
}

/// A collection as the API returns it.
#[derive(Object, Serialize, Clone, Debug)]
#[oai(rename = "Collection")]
pub struct CollectionView {
    pub name: String,
    /// Null when the definition has none.
    #[oai(nullable)]
    pub description: Option<String>,
    pub fields: Vec<FieldSpec>,
    pub rules: RulesSpec,
    /// Increments on every change of the definition.
    pub schema_version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// What the definition gives away that an admin may not expect (a `unique` field in a
    /// collection not everyone may view, a `list` rule wider than `view`); never blocks.
    pub warnings: Vec<String>,
}

pub(crate) fn rules_spec(rules: &Rules) -> RulesSpec {
    let list = |a| rules.grants(a).iter().map(Grant::as_string).collect();
    RulesSpec {
        list: list(Action::List),
        view: list(Action::View),
        create: list(Action::Create),
        update: list(Action::Update),
        delete: list(Action::Delete),
    }
}

/// The stored/returned JSON form of a validated definition.
pub(crate) fn field_spec(field: &FieldDef) -> FieldSpec {
    let mut spec = FieldSpec {
        name: field.name.clone(),
        type_: FieldTypeName::Text,
        required: Some(field.required),
        unique: Some(field.unique),
        indexed: Some(field.indexed),
        default: field.default.clone(),
        description: field.description.clone(),
        min_length: None,
        max_length: None,
        pattern: None,
        min: None,
        max: None,
        values: None,
        max_bytes: None,
        collection: None,
        on_delete: None,
        max_size: None,
        mime_types: None,
        max_files: None,
        thumbs: None,
        protected: None,
        renamed_from: None,
    };
    spec.type_ = match &field.ty {
        FieldType::Text(o) => {
            spec.min_length = o.min_length;
            spec.max_length = o.max_length;
            spec.pattern = o.pattern.as_ref().map(|r| r.as_str().to_owned());
            FieldTypeName::Text
        }
        FieldType::Integer(o) => {
            spec.min = o.min.map(|v| v as f64);
            spec.max = o.max.map(|v| v as f64);
            FieldTypeName::Integer
        }
        FieldType::Number(o) => {
            spec.min = o.min;
            spec.max = o.max;
            FieldTypeName::Number
        }
        FieldType::Boolean => FieldTypeName::Boolean,
        FieldType::Datetime => FieldTypeName::Datetime,
        FieldType::Date => FieldTypeName::Date,
        FieldType::Email => FieldTypeName::Email,
        FieldType::Url => FieldTypeName::Url,
        FieldType::Enum(o) => {
            spec.values = Some(o.values.clone());
            FieldTypeName::Enum
        }
        FieldType::Json(o) => {
            spec.max_bytes = o.max_bytes;
            FieldTypeName::Json
        }
        FieldType::Relation(o) => {
            spec.collection = Some(o.collection.clone());
            spec.on_delete = Some(match o.on_delete {
                OnDelete::Restrict => OnDeleteName::Restrict,
                OnDelete::Cascade => OnDeleteName::Cascade,
                OnDelete::SetNull => OnDeleteName::SetNull,
            });
            FieldTypeName::Relation
        }
        FieldType::File(o) => {
            spec.max_size = Some(o.max_size);
            spec.mime_types = Some(o.mime_types.clone());
            spec.max_files = Some(o.max_files);
            spec.thumbs = Some(o.thumbs.clone());
            spec.protected = Some(o.protected);
            FieldTypeName::File
        }
    };
    spec
}

impl CollectionDef {
    /// The definition in its JSON form (what is stored and returned).
    pub fn spec(&self) -> CollectionSpec {
        CollectionSpec {
            name: self.name.clone(),
            description: self.description.clone(),
            fields: self.fields.iter().map(field_spec).collect(),
            rules: Some(rules_spec(&self.rules)),
        }
    }
}
