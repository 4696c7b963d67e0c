//! What the auth routes' schemas must say but poem-openapi cannot derive: the ranges the
//! settings checks enforce (`setting_checks`) and the email format of account addresses.
//! The server answers an out-of-range value with its own 422 naming the field (a
//! poem-openapi validator would answer a generic 400 instead), so the bounds are written
//! into the document here, from the same constants the checks use.

use crate::settings::{MAX_BURST, MAX_ORIGINS, MAX_PER_SECOND};
use serde_json::{json, Value};

/// Schemas (by component name) whose `email` property is an account address.
const EMAIL_SCHEMAS: [&str; 5] = [
    "User",
    "NewUser",
    "UserPatch",
    "Credentials",
    "SetupRequest",
];

/// The audiences whose limits the settings store (`rate_limit_{audience}_…`).
const AUDIENCES: [&str; 4] = ["anonymous", "user", "admin", "auth"];

/// Adds the facts above to a document generated from the auth APIs.
pub fn document_auth_schemas(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for name in EMAIL_SCHEMAS {
        if let Some(email) = schemas
            .get_mut(name)
            .and_then(|s| s.pointer_mut("/properties/email"))
            .and_then(Value::as_object_mut)
        {
            email.insert("format".into(), json!("email"));
        }
    }
    let Some(patch) = schemas
        .get_mut("SettingsPatch")
        .and_then(|s| s.get_mut("properties"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut bound = |name: String, min: i64, max: i64| {
        if let Some(p) = patch.get_mut(&name).and_then(Value::as_object_mut) {
            p.insert("minimum".into(), json!(min));
            p.insert("maximum".into(), json!(max));
        }
    };
    bound("rate_limit_per_second".into(), 0, MAX_PER_SECOND);
    bound("rate_limit_burst".into(), 1, MAX_BURST);
    for audience in AUDIENCES {
        bound(
            format!("rate_limit_{audience}_per_second"),
            0,
            MAX_PER_SECOND,
        );
        bound(format!("rate_limit_{audience}_burst"), 1, MAX_BURST);
    }
    if let Some(origins) = patch.get_mut("cors_origins").and_then(Value::as_object_mut) {
        // Entries are trimmed before they are checked, so their length is no schema fact.
        origins.insert("maxItems".into(), json!(MAX_ORIGINS));
    }
}
