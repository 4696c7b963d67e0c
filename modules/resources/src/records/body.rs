//! Request bodies checked against a collection's schema at the edge, reporting every
//! invalid field at once (API.md 2.1 and section 3).

use crate::registry::Collection;
use crate::schema::SYSTEM_FIELDS;
use kernel::{FieldCode, FieldError};
use rusqlite::types::Value as Sql;
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// POST: absent fields take their default, or stay null.
    Create,
    /// PUT (and PATCH after merging): the body is the whole record; absent means null.
    Replace,
}

/// Column values to write, in definition order.
pub type Values = Vec<(String, Sql)>;

/// Refuses system fields (`read_only_field`) and names the schema lacks (`unknown_field`).
pub fn check_keys(col: &Collection, body: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    for key in body.keys() {
        if SYSTEM_FIELDS.contains(&key.as_str()) {
            errors.push(FieldError::new(
                key,
                FieldCode::ReadOnlyField,
                "is set by the server",
            ));
        } else if col.field(key).is_none() {
            errors.push(FieldError::new(
                key,
                FieldCode::UnknownField,
                "is not a field of this collection",
            ));
        }
    }
}

/// Validates a full body and converts it to column values.
pub fn validate(
    col: &Collection,
    body: &Map<String, Value>,
    mode: Mode,
) -> Result<Values, Vec<FieldError>> {
    let span = tracing::info_span!(
        "records.validate",
        db.collection.name = col.name(),
        validation.fields = body.len() as i64,
        validation.errors = tracing::field::Empty,
    )
    .entered();
    let mut errors = Vec::new();
    check_keys(col, body, &mut errors);
    let mut values = Vec::with_capacity(col.def.fields.len());
    for field in &col.def.fields {
        let given = body.get(&field.name);
        let value = match (given, mode) {
            (None, Mode::Create) => field.default.as_ref(),
            (given, _) => given,
        };
        match value {
            None | Some(Value::Null) if field.required => {
                errors.push(FieldError::new(
                    &field.name,
                    FieldCode::Required,
                    "is required",
                ));
            }
            None | Some(Value::Null) => values.push((field.name.clone(), Sql::Null)),
            Some(v) => match field.ty.to_sql(v) {
                Ok(sql) => values.push((field.name.clone(), sql)),
                Err((code, message)) => errors.push(FieldError::new(&field.name, code, message)),
            },
        }
    }
    span.record("validation.errors", errors.len() as i64);
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// The user fields of a stored record, as the object a PATCH is merged into.
pub fn user_fields(col: &Collection, record: &Map<String, Value>) -> Map<String, Value> {
    col.def
        .fields
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                record.get(&f.name).cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// RFC 7396 JSON merge patch: objects merge key by key, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(patch) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let target = target.as_object_mut().expect("just made an object");
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }
}
