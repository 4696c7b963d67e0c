//! The OpenAPI description of the two fixed realtime paths (the per-collection
//! `/{collection}/events` is in each collection's fragment, resources/openapi.rs).

use kernel::openapi_doc::with_problems;
use serde_json::{json, Map, Value};

/// What every stream's description says about its events.
const STREAM_DESCRIPTION: &str = "A `text/event-stream` that stays open. Each event has `id:` (the change's sequence number), `event:` (`created`, `updated`, `deleted`, `schema`, or `reset` when the requested position is older than the feed's retention: refetch, then follow), and `data:` a JSON object `{collection, seq, record}` (`record` as `GET` shows it to this caller; a deleted record: `{id}`; `schema` events add `schema`). A comment line every 15 s keeps the stream open. The stream ends with `event: overflow` (the client fell 1,000 events behind) or `event: unauthorized` (the token expired or was revoked); reconnect with `Last-Event-ID` to resume without loss. Only records the caller may view at delivery are sent. The sequence counts changes in the whole database, so gaps between ids tell how many changes the caller did not receive, never what they were.";

fn since_parameters() -> Value {
    json!([
        {"name": "since", "in": "query", "required": false,
         "description": "Resume after this sequence (for clients that cannot send `Last-Event-ID`; the header wins).",
         "schema": {"type": "integer", "format": "int64", "minimum": 0}},
        {"name": "ticket", "in": "query", "required": false,
         "description": "A ticket from `POST /api/v1/realtime/tickets`, for `EventSource` (which cannot send `Authorization`). Single use, 30 s.",
         "schema": {"type": "string"}},
        {"name": "Last-Event-ID", "in": "header", "required": false,
         "description": "The last `id:` received: the stream replays every later change first.",
         "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}}
    ])
}

pub fn static_paths() -> Map<String, Value> {
    let mut parameters = vec![json!({"name": "topics", "in": "query", "required": true,
        "description": "Collections to follow, comma-separated (at most 16).",
        "schema": {"type": "string", "example": "posts,comments"}})];
    if let Value::Array(more) = since_parameters() {
        parameters.extend(more);
    }
    let mut paths = Map::new();
    paths.insert(
        "/realtime".into(),
        json!({"get": {
            "tags": ["realtime"], "operationId": "stream_collections",
            "summary": "Follow changes of several collections",
            "description": STREAM_DESCRIPTION,
            "parameters": parameters,
            "security": [{}, {"bearer": []}],
            "responses": with_problems(json!({"200": {"description": "The event stream",
                "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/RealtimeEvent"}}}}}))
        }}),
    );
    paths.insert(
        "/realtime/tickets".into(),
        json!({"post": {
            "tags": ["realtime"], "operationId": "create_stream_ticket",
            "summary": "A single-use stream ticket for EventSource",
            "description": "Trades the caller's bearer token for a ticket valid for 30 s, accepted once as `?ticket=` by the stream endpoints. The stream it opens ends when the token expires or is revoked.",
            "security": [{"bearer": []}],
            "responses": with_problems(json!({"201": {"description": "The ticket",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StreamTicket"}}}}}))
        }}),
    );
    paths
}

/// The schemas the static paths refer to.
pub fn static_schemas() -> Map<String, Value> {
    let mut schemas = Map::new();
    schemas.insert(
        "StreamTicket".into(),
        json!({"type": "object", "required": ["ticket", "expires_in"], "properties": {
            "ticket": {"type": "string"},
            "expires_in": {"type": "integer", "description": "Seconds until it expires"}}}),
    );
    schemas.insert(
        "RealtimeEvent".into(),
        json!({"type": "object", "required": ["collection", "seq", "record"],
            "description": "The `data:` of one event (any collection).",
            "properties": {
                "collection": {"type": "string", "nullable": true},
                "seq": {"type": "integer", "format": "int64"},
                "record": {"type": "object", "nullable": true, "additionalProperties": true},
                "schema": {"type": "object", "additionalProperties": true}}}),
    );
    schemas
}
