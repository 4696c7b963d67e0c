//! Attaching finished tus uploads (docs/API.md 10.3) to a record: in a JSON body (or a
//! multipart `@json`), a file field's value, or an element of its list, written as
//! `{"upload": "<id>"}` names one of the caller's finished uploads. Each is moved into
//! the file store under the record's folder (typed by its bytes, checked against the
//! field like a multipart file) and replaced by its stored name before the write; a
//! write that then fails removes those blobs, as for multipart files.

use super::multipart::Parsed;
use crate::error::ResourceError;
use crate::fields::FieldType;
use crate::registry::Collection;
use crate::service::Resources;
use files::tus::TakeError;
use files::{BlobKey, StoreError};
use kernel::{FieldCode, FieldError, Principal, Problem, ProblemCode};
use serde_json::{Map, Value};

/// The upload id `value` names, if it is `{"upload": "<id>"}`.
fn upload_id(value: &Value) -> Option<&str> {
    match value {
        Value::Object(o) if o.len() == 1 => o.get("upload").and_then(Value::as_str),
        _ => None,
    }
}

/// Whether `body` names any upload in a file field.
pub(crate) fn names_uploads(col: &Collection, body: &Map<String, Value>) -> bool {
    col.def.fields.iter().any(|f| {
        matches!(f.ty, FieldType::File(_))
            && match body.get(&f.name) {
                Some(Value::Array(items)) => items.iter().any(|v| upload_id(v).is_some()),
                Some(v) => upload_id(v).is_some(),
                None => false,
            }
    })
}

fn invalid(field: &str, code: FieldCode, message: impl Into<String>) -> poem::Error {
    Problem::from(ResourceError::Invalid(vec![FieldError::new(
        field, code, message,
    )]))
    .into()
}

/// Moves every upload `parsed.body` names into the store, for record `record_id`.
pub(crate) async fn attach(
    resources: &Resources,
    col: &Collection,
    caller: Option<&Principal>,
    record_id: &str,
    parsed: &mut Parsed,
) -> Result<(), poem::Error> {
    for field in &col.def.fields {
        let FieldType::File(options) = &field.ty else {
            continue;
        };
        let Some(value) = parsed.body.get(&field.name).cloned() else {
            continue;
        };
        let mut items = match value {
            Value::Array(items) => items,
            one => vec![one],
        };
        let mut changed = false;
        for item in items.iter_mut() {
            let Some(id) = upload_id(item).map(str::to_owned) else {
                continue;
            };
            let Some(user) = caller else {
                return Err(Problem::unauthenticated(
                    "attaching an upload needs the token that made it",
                )
                .into());
            };
            let Some(uploads) = resources.uploads() else {
                return Err(Problem::new(ProblemCode::Unavailable)
                    .with_detail("resumable uploads are not configured on this server")
                    .into());
            };
            let not_found = || {
                invalid(
                    &field.name,
                    FieldCode::FileNotFound,
                    format!("there is no finished upload `{id}` of yours"),
                )
            };
            let info = uploads
                .info(&id, &user.user_id)
                .await
                .map_err(|_| not_found())?;
            let meant = (info.metadata.get("collection"), info.metadata.get("field"));
            if meant != (Some(&col.name().to_owned()), Some(&field.name)) {
                return Err(invalid(
                    &field.name,
                    FieldCode::Invalid,
                    format!(
                        "upload `{id}` was made for another field (its Upload-Metadata names it)"
                    ),
                ));
            }
            let original = info
                .metadata
                .get("filename")
                .map_or("upload", String::as_str);
            let stored_name = files::safe_stored_name(original);
            let key = BlobKey::for_file(col.name(), record_id, &stored_name)
                .map_err(|e| Problem::new(ProblemCode::BadRequest).with_detail(e.to_string()))?;
            let stored = match uploads
                .take(&id, &user.user_id, &key, options.max_size)
                .await
            {
                Ok(stored) => stored,
                Err(TakeError::NotFound) => return Err(not_found()),
                Err(TakeError::NotFinished { offset, length }) => {
                    return Err(invalid(
                        &field.name,
                        FieldCode::Invalid,
                        format!("upload `{id}` is not finished ({offset} of {length} bytes)"),
                    ))
                }
                Err(TakeError::Store(StoreError::TooLarge { .. })) => {
                    return Err(Problem::new(ProblemCode::PayloadTooLarge)
                        .with_detail(format!(
                            "`{}` takes files of at most {} bytes",
                            field.name, options.max_size
                        ))
                        .into())
                }
                Err(e) => return Err(Problem::from(e).into()),
            };
            parsed.stored.push(key);
            if !options.allows(stored.mime) {
                return Err(invalid(
                    &field.name,
                    FieldCode::FileTypeNotAllowed,
                    format!(
                        "upload `{id}` is {}, not one of: {}",
                        stored.mime,
                        options.mime_types.join(", ")
                    ),
                ));
            }
            parsed
                .files
                .uploaded
                .insert((field.name.clone(), stored_name.clone()));
            *item = Value::String(stored_name);
            changed = true;
        }
        if changed {
            let value = if options.multiple() {
                Value::Array(items)
            } else {
                items.pop().unwrap_or(Value::Null)
            };
            parsed.body.insert(field.name.clone(), value);
        }
    }
    Ok(())
}
