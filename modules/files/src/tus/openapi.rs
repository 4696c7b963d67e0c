//! The OpenAPI description of the tus endpoints (plain poem endpoints, so written by
//! hand; the protocol is tus 1.0's, these operations describe Hearth's use of it).

use kernel::openapi_doc::with_problems;
use serde_json::{json, Map, Value};

fn header(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "header", "required": true, "description": description, "schema": schema})
}

fn resumable() -> Value {
    header(
        "Tus-Resumable",
        "The tus version: `1.0.0` (412 `tus_version_unsupported` otherwise).",
        json!({"type": "string", "enum": ["1.0.0"]}),
    )
}

fn answer_headers(extra: Value) -> Value {
    let mut headers =
        json!({"Tus-Resumable": {"description": "`1.0.0`", "schema": {"type": "string"}}});
    if let (Some(h), Value::Object(more)) = (headers.as_object_mut(), extra) {
        h.extend(more);
    }
    headers
}

fn int_header(description: &str) -> Value {
    json!({"description": description, "schema": {"type": "integer", "format": "int64", "minimum": 0}})
}

fn id_parameter() -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": "The upload id (the last segment of `Location`).",
           "schema": {"type": "string", "format": "uuid"}})
}

fn expires_header() -> Value {
    json!({"description": "When the unfinished upload expires (HTTP date): 24 h after its last chunk by default.", "schema": {"type": "string"}})
}

fn options_operation(id: &str) -> Value {
    json!({
        "tags": ["uploads"], "operationId": id,
        "summary": "tus capabilities",
        "description": "Advertises tus 1.0.0 with the creation, termination, expiration and checksum (sha256) extensions, and the largest upload accepted.",
        "security": [{}, {"bearer": []}],
        "responses": with_problems(json!({"204": {"description": "The server's tus capabilities", "headers": answer_headers(json!({
            "Tus-Version": {"description": "`1.0.0`", "schema": {"type": "string"}},
            "Tus-Extension": {"description": "`creation,termination,expiration,checksum`", "schema": {"type": "string"}},
            "Tus-Max-Size": int_header("The largest `Upload-Length` accepted, in bytes (a file field's `max_size` may be lower)."),
            "Tus-Checksum-Algorithm": {"description": "`sha256`", "schema": {"type": "string"}}
        }))}}))
    })
}

pub fn paths() -> Map<String, Value> {
    let mut paths = Map::new();
    paths.insert("/uploads".into(), json!({
        "options": options_operation("upload_capabilities"),
        "post": {
            "tags": ["uploads"], "operationId": "create_upload",
            "summary": "Create a resumable upload (tus creation)",
            "description": "Creates an upload of `Upload-Length` bytes for the caller, with an empty body. `Upload-Metadata` (tus: comma-separated `key base64(value)`) must name the `collection` and the file `field` the file is for: the field's `max_size` bounds the length (413). `filename` is kept. Send the bytes with PATCH to `Location`; attach the finished upload to a record by its id.",
            "parameters": [
                resumable(),
                header("Upload-Length", "The file's size in bytes.", json!({"type": "integer", "format": "int64", "minimum": 0})),
                header("Upload-Metadata", "`collection <base64>,field <base64>[,filename <base64>]`", json!({"type": "string"}))
            ],
            "security": [{"bearer": []}],
            "responses": with_problems(json!({"201": {"description": "Created", "headers": answer_headers(json!({
                "Location": {"description": "`/api/v1/uploads/{id}`", "schema": {"type": "string"}},
                "Upload-Expires": expires_header()
            }))}}))
        }
    }));
    paths.insert("/uploads/{id}".into(), json!({
        "parameters": [id_parameter()],
        "options": options_operation("upload_capabilities_of_upload"),
        "head": {
            "tags": ["uploads"], "operationId": "upload_offset",
            "summary": "Where an upload stands (tus core)",
            "description": "The acknowledged offset: resume a PATCH from there. Another caller's upload is 404; an expired one 410 `upload_expired`.",
            "parameters": [resumable()],
            "security": [{"bearer": []}],
            "responses": with_problems(json!({"200": {"description": "The upload's state", "headers": answer_headers(json!({
                "Upload-Offset": int_header("Bytes received and durable."),
                "Upload-Length": int_header("The file's size."),
                "Upload-Metadata": {"description": "As created.", "schema": {"type": "string"}},
                "Upload-Expires": expires_header()
            }))}}))
        },
        "patch": {
            "tags": ["uploads"], "operationId": "append_upload",
            "summary": "Send bytes at the offset (tus core, checksum)",
            "description": "Appends the body at `Upload-Offset`, which must be the upload's offset (409 `upload_offset_mismatch` otherwise, with the current `Upload-Offset`). The bytes are fsynced before the new offset is answered. A body cut off midway keeps what arrived (HEAD tells how much); with `Upload-Checksum: sha256 <base64>`, a mismatch (460 `checksum_mismatch`) or a cut-off body keeps nothing of this request. A body past `Upload-Length` is 413 and nothing of it is kept.",
            "parameters": [
                resumable(),
                header("Upload-Offset", "Where these bytes start.", json!({"type": "integer", "format": "int64", "minimum": 0})),
                {"name": "Upload-Checksum", "in": "header", "required": false,
                 "description": "`sha256 <base64 of the body's SHA-256>`", "schema": {"type": "string"}}
            ],
            "requestBody": {"required": true, "content": {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            "security": [{"bearer": []}],
            "responses": with_problems(json!({"204": {"description": "Stored", "headers": answer_headers(json!({
                "Upload-Offset": int_header("The new offset."),
                "Upload-Expires": expires_header()
            }))}}))
        },
        "delete": {
            "tags": ["uploads"], "operationId": "terminate_upload",
            "summary": "Remove an upload (tus termination)",
            "parameters": [resumable()],
            "security": [{"bearer": []}],
            "responses": with_problems(json!({"204": {"description": "Removed", "headers": answer_headers(json!({}))}}))
        }
    }));
    paths
}
