//! The OpenAPI description of the two downloads operations (hand-written poem
//! endpoints, so described by hand; the app adds them to the document).

use kernel::openapi_doc::with_problems;
use serde_json::{json, Map, Value};

const DOWNLOAD_DESCRIPTION: &str = "A file a record holds, by its stored name. Files of a `protected` field need the record's `view` permission (a bearer token, or a file token as `?token=`), answered with the same problems as `GET` of the record; other files are public to whoever has the name. `Content-Type` is sniffed from the content; `Content-Disposition` is `inline` for PNG, JPEG, GIF and WebP and `attachment` for anything else; every answer carries `X-Content-Type-Options: nosniff` and `Content-Security-Policy: sandbox; default-src 'none'`. One `Range` (`bytes=a-b`, `a-`, `-n`) is answered 206; several ranges get the whole file (200); a range past the end is 416 with `Content-Range: bytes */SIZE`. `ETag` is strong: `If-None-Match` answers 304, `If-Range` is honoured.";

fn file_headers() -> Value {
    json!({
        "ETag": {"schema": {"type": "string"}, "description": "Strong entity tag"},
        "Content-Disposition": {"schema": {"type": "string"}},
        "Accept-Ranges": {"schema": {"type": "string", "enum": ["bytes"]}},
        "Cache-Control": {"schema": {"type": "string"},
            "description": "`private, no-cache` for protected files, `public, max-age=86400` otherwise"}
    })
}

fn download_operation(id: &str, summary: &str, with_body: bool) -> Value {
    let content = if with_body {
        // The real type is sniffed from the file (`Content-Type` says which); generated
        // clients need one concrete media type to read a body as bytes.
        json!({"application/octet-stream": {"schema": {"type": "string", "format": "binary", "description": "The file's bytes; `Content-Type` is the type sniffed from them."}}})
    } else {
        json!({})
    };
    json!({
        "tags": ["files"], "operationId": id, "summary": summary,
        "description": DOWNLOAD_DESCRIPTION,
        "parameters": [
            {"name": "collection", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "record_id", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "filename", "in": "path", "required": true,
             "description": "The stored name, as the record's field shows it",
             "schema": {"type": "string"}},
            {"name": "thumb", "in": "query", "required": false,
             "description": "A thumbnail size the field lists in `thumbs` (`WxH` crop, `WxHf` fit, `Wx0`/`0xH` keep ratio); another size is 400 `invalid_query`. Files that are not JPEG, PNG, WebP or GIF, or above 50 MiB, are served as they are.",
             "schema": {"type": "string", "pattern": "^[0-9]+x[0-9]+f?$"}},
            {"name": "token", "in": "query", "required": false,
             "description": "A file token from `POST /api/v1/files/token` (instead of `Authorization`, for `<img>` and links).",
             "schema": {"type": "string"}},
            {"name": "Range", "in": "header", "required": false, "schema": {"type": "string", "example": "bytes=0-1023"}},
            {"name": "If-None-Match", "in": "header", "required": false, "schema": {"type": "string"}},
            {"name": "If-Range", "in": "header", "required": false, "schema": {"type": "string"}}
        ],
        "security": [{}, {"bearer": []}],
        "responses": with_problems(json!({
            "200": {"description": "The whole file", "headers": file_headers(), "content": content.clone()},
            "206": {"description": "The requested range (`Content-Range: bytes a-b/SIZE`)", "headers": file_headers(), "content": content},
            "304": {"description": "Not modified (the `ETag` matched `If-None-Match`)"}
        }))
    })
}

pub fn static_paths() -> Map<String, Value> {
    let mut paths = Map::new();
    let mut item = Map::new();
    item.insert(
        "get".into(),
        download_operation("download_file", "Download a record's file", true),
    );
    item.insert(
        "head".into(),
        download_operation(
            "head_file",
            "A record's file's headers, without the body",
            false,
        ),
    );
    paths.insert(
        "/files/{collection}/{record_id}/{filename}".into(),
        Value::Object(item),
    );
    paths.insert(
        "/files/token".into(),
        json!({"post": {
            "tags": ["files"], "operationId": "create_file_token",
            "summary": "A short-lived token for protected file downloads",
            "description": "A token valid for 120 s, any number of times, as `?token=` on downloads (for `<img>` tags and links, which cannot send `Authorization`). It stands for the caller's bearer token: revoking that ends it too.",
            "security": [{"bearer": []}],
            "responses": with_problems(json!({"201": {"description": "The token",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FileToken"}}}}}))
        }}),
    );
    paths
}

/// The schemas the paths refer to.
pub fn static_schemas() -> Map<String, Value> {
    let mut schemas = Map::new();
    schemas.insert(
        "FileToken".into(),
        json!({"type": "object", "required": ["token", "expires_in"], "properties": {
            "token": {"type": "string"},
            "expires_in": {"type": "integer", "description": "Seconds until it expires"}}}),
    );
    schemas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_paths_are_described_with_problems() {
        let paths = static_paths();
        let download = &paths["/files/{collection}/{record_id}/{filename}"];
        assert_eq!(download["get"]["operationId"], "download_file");
        assert!(download["head"]["responses"]["206"].is_object());
        assert!(download["get"]["responses"]["4XX"].is_object());
        let token = &paths["/files/token"]["post"];
        assert_eq!(
            token["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/FileToken"
        );
        assert!(static_schemas().contains_key("FileToken"));
    }
}
