//! The write job's check on file fields: a record may only come to hold names it held
//! already or that this request uploaded. Stored names are the server's own choice, so
//! a body naming anything else is either a mistake or an attempt to adopt a blob that
//! belongs to someone else's upload.

use super::body::Values;
use crate::error::ResourceError;
use crate::fields::file::names_in;
use crate::fields::FieldType;
use crate::registry::Collection;
use crate::repo::records::Record;
use kernel::{FieldCode, FieldError};
use rusqlite::types::Value as Sql;
use serde_json::Value;
use std::collections::HashSet;

/// Names uploaded by the request being written, per field.
pub type Uploaded = HashSet<(String, String)>;

pub fn check(
    col: &Collection,
    current: Option<&Record>,
    values: &Values,
    uploaded: &Uploaded,
) -> Result<(), ResourceError> {
    let mut errors = Vec::new();
    for field in &col.def.fields {
        let FieldType::File(options) = &field.ty else {
            continue;
        };
        let Some((_, value)) = values.iter().find(|(name, _)| *name == field.name) else {
            continue;
        };
        let new = match value {
            Sql::Text(text) if options.multiple() => {
                serde_json::from_str::<Value>(text).unwrap_or(Value::Null)
            }
            Sql::Text(text) => Value::String(text.clone()),
            _ => Value::Null,
        };
        let held: Vec<String> = current
            .and_then(|r| r.json.get(&field.name))
            .map(|v| names_in(options, v))
            .unwrap_or_default();
        for name in names_in(options, &new) {
            let known =
                held.contains(&name) || uploaded.contains(&(field.name.clone(), name.clone()));
            if !known {
                errors.push(FieldError::new(
                    &field.name,
                    FieldCode::FileNotFound,
                    format!("`{name}` is not a file of this record: upload files with multipart/form-data"),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ResourceError::Invalid(errors))
    }
}

/// What a multipart request does to one file field, applied to the record's JSON before
/// it is validated (a create or PUT: to the body; a PATCH: to the record merged with the
/// patch, so `F+` appends to what the record holds).
#[derive(Clone, Debug, Default)]
pub struct FileEdit {
    /// `F` parts: these names replace the field's.
    pub set: Option<Vec<String>>,
    /// `F+` parts: appended.
    pub append: Vec<String>,
    /// `F-` values: taken out.
    pub remove: Vec<String>,
}

/// Field name → its edit.
pub type FileEdits = std::collections::BTreeMap<String, FileEdit>;

pub fn apply_edits(
    col: &Collection,
    record: &mut serde_json::Map<String, Value>,
    edits: &FileEdits,
) {
    for (field_name, edit) in edits {
        let Some(FieldType::File(options)) = col.field(field_name).map(|f| &f.ty) else {
            continue;
        };
        let mut names = match &edit.set {
            Some(set) => set.clone(),
            None => record
                .get(field_name)
                .map(|v| names_in(options, v))
                .unwrap_or_default(),
        };
        names.extend(edit.append.iter().cloned());
        names.retain(|n| !edit.remove.contains(n));
        let value = match (options.multiple(), names.as_slice()) {
            (_, []) => Value::Null,
            (false, [one]) => Value::String(one.clone()),
            // More than one for a one-file field: a list, which its validator refuses.
            _ => Value::from(names),
        };
        record.insert(field_name.clone(), value);
    }
}
