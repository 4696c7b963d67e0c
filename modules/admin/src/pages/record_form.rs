//! Record forms generated from a collection's definition: one input per field, read
//! back into the JSON body the API takes. Only text → JSON conversion happens here;
//! the resources service validates (and its messages land next to the inputs).

use super::record_files::{file_input, FileInput};
use crate::context::AdminCtx;
use crate::form::Form;
use crate::page::Failure;
use crate::Admin;
use kernel::{FieldCode, FieldError};
use resources::schema::{CollectionView, FieldTypeName};
use resources::ListParams;
use serde_json::{Map, Value};

pub struct Input {
    pub name: String,
    /// `text`, `email`, `url`, `number`, `date`, `datetime-local`, `select`, `textarea`,
    /// `file`.
    pub kind: &'static str,
    pub step: &'static str,
    pub value: String,
    pub required: bool,
    pub options: Vec<(String, String)>,
    pub hint: String,
    pub error: Option<String>,
    /// File fields only: the record's files and the file input's settings.
    pub file: FileInput,
}

fn text_of(v: Option<&Value>, ty: FieldTypeName) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if ty == FieldTypeName::Datetime => {
            s.get(..16).unwrap_or(s).to_owned()
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) if ty == FieldTypeName::Json => {
            serde_json::to_string_pretty(other).unwrap_or_default()
        }
        Some(other) => other.to_string(),
    }
}

/// The first 100 records of `target` as (id, label) for a relation's select.
async fn choices(admin: &Admin, ctx: &AdminCtx, target: &str) -> Vec<(String, String)> {
    let res = &admin.inner.resources;
    let label_field = res.get_collection(&ctx.admin, target).ok().and_then(|c| {
        c.fields
            .iter()
            .find(|f| f.type_ == FieldTypeName::Text)
            .map(|f| f.name.clone())
    });
    let params = ListParams {
        limit: Some("100".into()),
        ..Default::default()
    };
    let Ok(list) = res
        .list_records(Some(ctx.admin.principal()), target, &params)
        .await
    else {
        return Vec::new();
    };
    list.items
        .iter()
        .filter_map(|item| {
            let id = item.get("id")?.as_str()?.to_owned();
            let label = label_field
                .as_ref()
                .and_then(|f| item.get(f))
                .and_then(Value::as_str)
                .map(|l| format!("{l} ({})", &id[id.len().saturating_sub(8)..]))
                .unwrap_or_else(|| id.clone());
            Some((id, label))
        })
        .collect()
}

pub async fn inputs(
    admin: &Admin,
    ctx: &AdminCtx,
    view: &CollectionView,
    record: Option<&Map<String, Value>>,
) -> Vec<Input> {
    let mut out = Vec::new();
    for f in &view.fields {
        let current = record.map(|r| text_of(r.get(&f.name), f.type_));
        let value = current.unwrap_or_else(|| match (&f.default, record) {
            (Some(d), None) => text_of(Some(d), f.type_),
            _ => String::new(),
        });
        let mut input = Input {
            name: f.name.clone(),
            kind: "text",
            step: "",
            value,
            required: f.required.unwrap_or(false),
            options: Vec::new(),
            hint: f.description.clone().unwrap_or_default(),
            error: None,
            file: FileInput::default(),
        };
        match f.type_ {
            FieldTypeName::Integer => {
                input.kind = "number";
                input.step = "1";
            }
            FieldTypeName::Number => {
                input.kind = "number";
                input.step = "any";
            }
            FieldTypeName::Email => input.kind = "email",
            FieldTypeName::Url => input.kind = "url",
            FieldTypeName::Date => input.kind = "date",
            FieldTypeName::Datetime => {
                input.kind = "datetime-local";
                if input.hint.is_empty() {
                    input.hint = "UTC".into();
                }
            }
            FieldTypeName::Json => input.kind = "textarea",
            FieldTypeName::Boolean => {
                input.kind = "select";
                input.options = vec![("true".into(), "Yes".into()), ("false".into(), "No".into())];
            }
            FieldTypeName::Enum => {
                input.kind = "select";
                input.options = f
                    .values
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| (v.clone(), v))
                    .collect();
            }
            FieldTypeName::Relation => {
                input.kind = "select";
                if let Some(target) = &f.collection {
                    input.options = choices(admin, ctx, target).await;
                    if input.hint.is_empty() {
                        input.hint = format!("A record of {target}.");
                    }
                }
            }
            FieldTypeName::Text => {
                if f.max_length.is_none_or(|m| m > 300) {
                    input.kind = "textarea";
                }
            }
            FieldTypeName::File => {
                // Files are sent as file parts, not as a value (record_files.rs).
                input.kind = "file";
                input.value = String::new();
                let id = record.and_then(|r| r.get("id")).and_then(Value::as_str);
                input.file = file_input(&view.name, id, f, record.and_then(|r| r.get(&f.name)));
            }
        }
        out.push(input);
    }
    out
}

/// Puts the submitted values and the service's messages back into the inputs.
pub fn refill(inputs: &mut [Input], form: &Form, failure: &Failure) {
    for input in inputs {
        if input.kind != "file" {
            input.value = form.get(&format!("f.{}", input.name)).to_owned();
        }
        input.error = failure.field(&input.name).map(str::to_owned);
    }
}

/// The JSON body for the form. `replace`: blank fields are sent as null (the whole
/// record is replaced); on create they are left out so defaults apply. File fields are
/// never in it: their files come as parts (`FormUpload`), kept unless removed.
pub fn body(
    view: &CollectionView,
    form: &Form,
    replace: bool,
) -> (Map<String, Value>, Vec<FieldError>) {
    let mut body = Map::new();
    let mut errors = Vec::new();
    for f in view
        .fields
        .iter()
        .filter(|f| f.type_ != FieldTypeName::File)
    {
        let raw = form.get(&format!("f.{}", f.name));
        if raw.trim().is_empty() {
            if replace {
                body.insert(f.name.clone(), Value::Null);
            }
            continue;
        }
        let t = raw.trim();
        let value = match f.type_ {
            FieldTypeName::Integer | FieldTypeName::Number => {
                serde_json::from_str::<serde_json::Number>(t)
                    .map(Value::Number)
                    .unwrap_or_else(|_| Value::String(raw.to_owned()))
            }
            FieldTypeName::Boolean => match t {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(raw.to_owned()),
            },
            FieldTypeName::Json => match serde_json::from_str(t) {
                Ok(v) => v,
                Err(_) => {
                    errors.push(FieldError::new(
                        f.name.clone(),
                        FieldCode::Invalid,
                        "must be valid JSON",
                    ));
                    continue;
                }
            },
            FieldTypeName::Datetime => Value::String(match t.len() {
                16 => format!("{t}:00Z"),
                19 => format!("{t}Z"),
                _ => t.to_owned(),
            }),
            _ => Value::String(raw.to_owned()),
        };
        body.insert(f.name.clone(), value);
    }
    (body, errors)
}
