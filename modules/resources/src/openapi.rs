//! The OpenAPI fragment of one collection: its six operations, record / create / patch
//! schemas with every constraint, list parameters and problem responses. Regenerated
//! whenever the collection changes, so the document stays true.

use crate::records::list::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::registry::Collection;
use crate::rules::{Action, Grant};
use kernel::openapi_doc::with_problems;
use kernel::DocFragment;
use serde_json::{json, Map, Value};
use std::sync::Arc;

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Anonymous callers may use an action only if a grant is `public`.
fn security(col: &Collection, action: Action) -> Value {
    if col.def.rules.grants(action).contains(&Grant::Public) {
        json!([{}, {"bearer": []}])
    } else {
        json!([{"bearer": []}])
    }
}

fn nullable(mut schema: Value) -> Value {
    if let Some(obj) = schema.as_object_mut() {
        if !obj.contains_key("type") {
            // No type (a `json` field: any JSON) already admits null.
            return schema;
        }
        obj.insert("nullable".into(), json!(true));
    }
    schema
}

fn system_properties() -> Map<String, Value> {
    let mut p = Map::new();
    p.insert(
        "id".into(),
        json!({"type": "string", "format": "uuid", "readOnly": true}),
    );
    p.insert(
        "created_at".into(),
        json!({"type": "string", "format": "date-time", "readOnly": true}),
    );
    p.insert(
        "updated_at".into(),
        json!({"type": "string", "format": "date-time", "readOnly": true}),
    );
    p.insert(
        "version".into(),
        json!({"type": "integer", "format": "int64", "minimum": 1, "readOnly": true}),
    );
    p.insert(
        "owner".into(),
        json!({"type": "string", "format": "uuid", "nullable": true, "readOnly": true}),
    );
    p
}

fn field_schema(field: &crate::schema::FieldDef) -> Value {
    let mut schema = field.ty.openapi_schema();
    if let Some(obj) = schema.as_object_mut() {
        if let Some(d) = &field.description {
            obj.insert("description".into(), json!(d));
        }
        if let Some(example) = crate::openapi_examples::example(field) {
            obj.insert("example".into(), example);
        }
    }
    schema
}

/// Record (as returned), RecordPartial (list items: `fields` may omit any property),
/// Create, Replace and Patch bodies, and the list page.
fn schemas(col: &Collection, base: &str, all: &[Arc<Collection>]) -> Map<String, Value> {
    let mut record = system_properties();
    let mut create = Map::new();
    let mut patch = Map::new();
    let mut create_required = Vec::new();
    let mut record_required: Vec<Value> = ["id", "created_at", "updated_at", "version", "owner"]
        .iter()
        .map(|s| json!(s))
        .collect();
    for f in &col.def.fields {
        let s = field_schema(f);
        record.insert(
            f.name.clone(),
            if f.required {
                s.clone()
            } else {
                nullable(s.clone())
            },
        );
        record_required.push(json!(f.name));
        let input = if f.required {
            s.clone()
        } else {
            nullable(s.clone())
        };
        // The default applies only on create: a replace's absent field is null, a
        // patch's is unchanged. A `default` on those would have generated clients send
        // it (openapi-python-client fills it in), resetting fields the caller never named.
        let mut with_default = input.clone();
        if let (Some(obj), Some(d)) = (with_default.as_object_mut(), &f.default) {
            obj.insert("default".into(), d.clone());
        }
        create.insert(f.name.clone(), with_default);
        patch.insert(f.name.clone(), input);
        if f.required && f.default.is_none() {
            create_required.push(json!(f.name));
        }
    }
    let expandable: Map<String, Value> = col
        .def
        .fields
        .iter()
        .filter_map(|f| match &f.ty {
            crate::fields::FieldType::Relation(r) => {
                let target = all.iter().find(|c| c.name() == r.collection)?;
                Some((
                    f.name.clone(),
                    schema_ref(&format!("{}.Record", target.name())),
                ))
            }
            _ => None,
        })
        .collect();
    let mut partial_props = record.clone();
    partial_props.insert(
        "expand".into(),
        json!({"type": "object", "description": "Related records requested with `expand`.", "properties": expandable}),
    );
    let replace_required: Vec<Value> = col
        .def
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| json!(f.name))
        .collect();
    let mut out = Map::new();
    out.insert(
        format!("{base}Record"),
        json!({"type": "object", "properties": record, "required": record_required}),
    );
    out.insert(
        format!("{base}RecordPartial"),
        json!({"type": "object", "properties": partial_props}),
    );
    out.insert(format!("{base}Create"), object(create, create_required));
    out.insert(
        format!("{base}Replace"),
        object(patch.clone(), replace_required),
    );
    out.insert(format!("{base}Patch"), object(patch, vec![]));
    if col.def.has_file_fields() {
        out.insert(format!("{base}Upload"), upload_schema(col));
    }
    out.insert(
        format!("{base}List"),
        json!({"type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": schema_ref(&format!("{base}RecordPartial"))},
            "next_cursor": {"type": "string", "nullable": true, "description": "Pass as `cursor` for the next page; null on the last page."},
            "total": {"type": "integer", "format": "int64", "minimum": 0, "description": "Only with `count=true`."}}}),
    );
    out
}

fn object(properties: Map<String, Value>, required: Vec<Value>) -> Value {
    let mut o = json!({"type": "object", "properties": properties, "additionalProperties": false});
    if !required.is_empty() {
        o["required"] = Value::Array(required);
    }
    o
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn header(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "header", "required": false, "description": description, "schema": {"type": "string"}})
}

/// `Idempotency-Key` with the shape the server checks (1 to 255 visible ASCII characters).
fn idempotency_key() -> Value {
    json!({"name": "Idempotency-Key", "in": "header", "required": false,
           "description": "Replays the first response for 24 h instead of creating twice.",
           "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}})
}

fn list_parameters(col: &Collection) -> Value {
    let names: Vec<&str> = col.def.fields.iter().map(|f| f.name.as_str()).collect();
    json!([
        query("filter", "Filter expression (API.md 2.3), e.g. `views >= 10 && title ~ 'rust'`.", json!({"type": "string", "maxLength": 4096})),
        query("sort", &format!("Comma-separated fields, `-` for descending; `id` breaks ties. Fields: id, created_at, updated_at, version, owner, {}.", names.join(", ")), json!({"type": "string"})),
        query("limit", "Page size.", json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT})),
        query("cursor", "The `next_cursor` of the previous page (same sort).", json!({"type": "string"})),
        query("offset", "Rows to skip (page jumps); not with `cursor`.", json!({"type": "integer", "minimum": 0, "maximum": 1_000_000})),
        query("fields", "Comma-separated fields to return.", json!({"type": "string"})),
        query("expand", "Comma-separated relation fields to inline under `expand`.", json!({"type": "string"})),
        query("count", "Add `total` (costs a COUNT query).", json!({"type": "boolean", "default": false})),
    ])
}

/// The request body of a write; `upload` names the multipart schema of a collection
/// with file fields.
fn json_body(schema: &str, merge_patch: bool, upload: Option<&str>) -> Value {
    let mut content = Map::new();
    if let Some(upload) = upload {
        content.insert(
            "multipart/form-data".into(),
            json!({"schema": schema_ref(upload)}),
        );
    }
    if merge_patch {
        content.insert(
            "application/merge-patch+json".into(),
            json!({"schema": schema_ref(schema)}),
        );
    }
    content.insert(
        "application/json".into(),
        json!({"schema": schema_ref(schema)}),
    );
    json!({"required": true, "content": content})
}

/// The parts of a multipart write (docs/API.md 10): files for file fields (`F`, `F+`),
/// names to take out (`F-`), `@json`, and other fields as text.
fn upload_schema(col: &Collection) -> Value {
    let binary = json!({"type": "array", "items": {"type": "string", "format": "binary"}});
    let mut props = Map::new();
    props.insert(
        "@json".into(),
        json!({"type": "string", "description": "A JSON object of field values, as a JSON body carries them."}),
    );
    for f in &col.def.fields {
        if matches!(f.ty, crate::fields::FieldType::File(_)) {
            props.insert(f.name.clone(), json!({"description": "Files that replace the field's (file parts), or stored names to keep (values).", "type": "array", "items": {"type": "string", "format": "binary"}}));
            props.insert(format!("{}+", f.name), json!({"description": "Files appended to the field's.", "type": "array", "items": binary["items"].clone()}));
            props.insert(format!("{}-", f.name), json!({"description": "Stored names to take out.", "type": "array", "items": {"type": "string"}}));
        } else {
            props.insert(f.name.clone(), json!({"type": "string", "description": "The value as text (numbers, true/false, JSON for json fields; empty is null)."}));
        }
    }
    json!({"type": "object", "properties": props})
}

fn record_response(description: &str, schema: &str) -> Value {
    json!({"description": description,
           "headers": {"ETag": {"description": "Strong validator from the record's version.", "schema": {"type": "string"}}},
           "content": {"application/json": {"schema": schema_ref(schema)}}})
}

/// An update by a caller who may not view the record: done, and nothing shown.
fn hidden_write() -> Value {
    json!({"description": "Updated, but the caller may not view the record (its `view` rule, or a token without the `read` scope), so it is not returned."})
}

pub fn fragment(col: &Collection, all: &[Arc<Collection>]) -> DocFragment {
    let name = col.name();
    // Names are unique and `.` is allowed in component names, so no two collections collide.
    let base = format!("{name}.");
    let tag = json!([name]);
    let id_param = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}});
    let if_match = header(
        "If-Match",
        "Only if the record's ETag matches (412 otherwise).",
    );
    let record = format!("{base}Record");
    let upload = col.def.has_file_fields().then(|| format!("{base}Upload"));
    let mut paths = Map::new();
    paths.insert(
        format!("/{name}"),
        json!({
            "get": {"tags": tag, "operationId": format!("list_{name}"), "summary": format!("List {name}"),
                    "parameters": list_parameters(col), "security": security(col, Action::List),
                    "responses": with_problems(json!({"200": {"description": "A page of records",
                        "headers": {"Link": {"description": "`<…>; rel=\"next\"` when there is a next page", "schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": schema_ref(&format!("{base}List"))}}}}))},
            "post": {"tags": tag, "operationId": format!("create_{name}"), "summary": format!("Create a record in {name}"),
                     "parameters": [idempotency_key()],
                     "security": security(col, Action::Create), "requestBody": json_body(&format!("{base}Create"), false, upload.as_deref()),
                     "responses": with_problems(json!({"201": {"description": "Created. A caller who may not view the new record (its `view` rule, or a token without the `read` scope) gets the `Location` only: no body, no `ETag`.",
                        "headers": {"Location": {"schema": {"type": "string"}}, "ETag": {"schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": schema_ref(&record)}}}}))}
        }),
    );
    paths.insert(
        format!("/{name}/{{id}}"),
        json!({
            "parameters": [id_param],
            "get": {"tags": tag, "operationId": format!("get_{name}"), "summary": format!("Get a record of {name}"),
                    "parameters": [header("If-None-Match", "304 if the record still has this ETag.")],
                    "security": security(col, Action::View),
                    "responses": with_problems(json!({"200": record_response("The record", &record), "304": {"description": "Not modified"}}))},
            "put": {"tags": tag, "operationId": format!("replace_{name}"), "summary": "Replace a record",
                    "parameters": [if_match.clone()], "security": security(col, Action::Update),
                    "requestBody": json_body(&format!("{base}Replace"), false, upload.as_deref()),
                    "responses": with_problems(json!({"200": record_response("The updated record", &record), "204": hidden_write()}))},
            "patch": {"tags": tag, "operationId": format!("patch_{name}"), "summary": "Update fields (JSON merge patch)",
                      "parameters": [if_match.clone()], "security": security(col, Action::Update),
                      "requestBody": json_body(&format!("{base}Patch"), true, upload.as_deref()),
                      "responses": with_problems(json!({"200": record_response("The updated record", &record), "204": hidden_write()}))},
            "delete": {"tags": tag, "operationId": format!("delete_{name}"), "summary": "Delete a record",
                       "parameters": [if_match], "security": security(col, Action::Delete),
                       "responses": with_problems(json!({"204": {"description": "Deleted"}}))}
        }),
    );
    paths.insert(format!("/{name}/events"), events_path(col, &base));
    let mut schemas = schemas(col, &base, all);
    schemas.insert(format!("{base}Event"), event_schema(&record));
    DocFragment { paths, schemas }
}

/// `GET /{name}/events`: the collection's change stream (realtime module; its events
/// are described once, at `GET /realtime`).
fn events_path(col: &Collection, base: &str) -> Value {
    let name = col.name();
    json!({"get": {
        "tags": [name], "operationId": format!("stream_{name}"),
        "summary": format!("Follow changes of {name} (Server-Sent Events)"),
        "description": "A `text/event-stream` of this collection's changes, as described at `GET /realtime`: `id:` is the change's sequence, `event:` one of `created`, `updated`, `deleted`, `schema`, `reset`, and `data:` this schema. Only records the caller may view at delivery are sent; `filter` (the listing's language) is evaluated against the record after the change (a delete: before). `Last-Event-ID` (or `since`) replays what was missed.",
        "parameters": [
            query("filter", "Only changes whose record matches (listing filter language)", json!({"type": "string", "maxLength": crate::filter::MAX_FILTER_BYTES})),
            query("since", "Resume after this sequence (the `Last-Event-ID` header wins)", json!({"type": "integer", "format": "int64", "minimum": 0})),
            query("ticket", "A ticket from `POST /realtime/tickets`, for `EventSource`", json!({"type": "string"})),
            {"name": "Last-Event-ID", "in": "header", "required": false,
             "description": "The last `id:` received", "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}}
        ],
        "security": security(col, Action::List),
        "responses": with_problems(json!({"200": {"description": "The event stream",
            "content": {"text/event-stream": {"schema": schema_ref(&format!("{base}Event"))}}}}))
    }})
}

/// The `data:` of one event of this collection.
fn event_schema(record: &str) -> Value {
    json!({"type": "object", "required": ["collection", "seq", "record"],
        "properties": {
            "collection": {"type": "string", "nullable": true},
            "seq": {"type": "integer", "format": "int64"},
            "record": {"nullable": true, "description": "created/updated: the record as `GET` shows it; deleted: `{id}`; schema/reset: null",
                "anyOf": [schema_ref(record), {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}}}]},
            "schema": {"type": "object", "additionalProperties": true, "description": "schema events: what changed"}}})
}
