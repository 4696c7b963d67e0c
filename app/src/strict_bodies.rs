//! JSON request bodies of the static API are checked against their documented schema's
//! types before poem-openapi parses them. poem-openapi is lenient where the document is
//! not: it turns `42` or `false` into the string `"42"` / `"false"` for a string field,
//! and takes `null` for any `Option` field, nullable or not. Both would make the document
//! untrue (a client trusting it gets surprises; a fuzzer finds them), so a value whose
//! JSON type the schema does not admit is refused with 400 `invalid_json` naming where.
//! Only types and `null` are checked here; lengths, ranges and the rest stay with the
//! handlers, whose own errors are more precise.

use kernel::{Problem, ProblemCode};
use poem::http::Method;
use poem::{Endpoint, IntoResponse, Request, Response, Result};
use serde_json::Value;

/// The request body schema of each operation: (method, path segments, schema).
struct Operation {
    method: Method,
    segments: Vec<Option<String>>,
    schema: Value,
}

pub struct StrictBodies<E> {
    inner: E,
    operations: Vec<Operation>,
    /// `components/schemas`, for `$ref`s.
    components: Value,
}

impl<E> StrictBodies<E> {
    /// `doc`: the static API's document, its paths relative to where `inner` is nested.
    pub fn new(inner: E, doc: &Value) -> Self {
        let mut operations = Vec::new();
        for (path, item) in doc
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            for (method, op) in item.as_object().into_iter().flatten() {
                // poem-openapi keys the body as `application/json; charset=utf-8`.
                let schema = op
                    .pointer("/requestBody/content")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .find(|(media, _)| media.starts_with("application/json"))
                    .and_then(|(_, content)| content.get("schema"));
                let (Ok(method), Some(schema)) = (
                    Method::from_bytes(method.to_ascii_uppercase().as_bytes()),
                    schema,
                ) else {
                    continue;
                };
                let segments = path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                    .collect();
                operations.push(Operation {
                    method,
                    segments,
                    schema: schema.clone(),
                });
            }
        }
        let components = doc
            .pointer("/components/schemas")
            .cloned()
            .unwrap_or(Value::Null);
        StrictBodies {
            inner,
            operations,
            components,
        }
    }

    fn schema_for(&self, method: &Method, path: &str) -> Option<&Value> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.operations
            .iter()
            .filter(|op| op.method == method && op.segments.len() == parts.len())
            .filter(|op| {
                op.segments
                    .iter()
                    .zip(&parts)
                    .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p))
            })
            // A fixed segment beats a parameter (`/auth/tokens` over `/auth/{x}`).
            .max_by_key(|op| op.segments.iter().filter(|s| s.is_some()).count())
            .map(|op| &op.schema)
    }
}

impl<E: Endpoint> Endpoint for StrictBodies<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let is_json = req
            .content_type()
            .and_then(|c| c.split(';').next())
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/json"));
        if let (true, Some(schema)) = (is_json, self.schema_for(req.method(), req.uri().path())) {
            let bytes = req.take_body().into_bytes().await?;
            // Malformed JSON is left to poem-openapi, which says what is wrong.
            if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
                if let Err(problem) = check(&value, schema, &self.components, "body", 0) {
                    return Err(problem.into());
                }
            }
            req.set_body(bytes);
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

/// Deep enough for every schema the API has; deeper refs are not followed (and not
/// refused: the parser still checks what it parses).
const MAX_DEPTH: usize = 32;

fn check(
    value: &Value,
    schema: &Value,
    components: &Value,
    at: &str,
    depth: usize,
) -> Result<(), Problem> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let Some(schema) = schema.as_object() else {
        return Ok(());
    };
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        return match components.get(name) {
            Some(target) => check(value, target, components, at, depth + 1),
            None => Ok(()),
        };
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
            return Ok(());
        }
        for part in all {
            check(value, part, components, at, depth + 1)?;
        }
    }
    let Some(ty) = schema.get("type").and_then(Value::as_str) else {
        return Ok(());
    };
    let nullable = schema.get("nullable") == Some(&Value::Bool(true));
    let fits = match (ty, value) {
        (_, Value::Null) => nullable,
        ("string", v) => v.is_string(),
        ("boolean", v) => v.is_boolean(),
        ("integer" | "number", v) => v.is_number(),
        ("array", v) => v.is_array(),
        ("object", v) => v.is_object(),
        _ => true,
    };
    if !fits {
        let got = match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        return Err(Problem::new(ProblemCode::InvalidJson)
            .with_detail(format!("`{at}` must be {}, not {got}", describe(ty))));
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties");
            for (key, v) in map {
                if let Some(s) = properties.and_then(|p| p.get(key)) {
                    check(v, s, components, &format!("{at}.{key}"), depth + 1)?;
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check(v, s, components, &format!("{at}[{i}]"), depth + 1)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn describe(ty: &str) -> &str {
    match ty {
        "string" => "a string",
        "boolean" => "a boolean",
        "integer" => "an integer",
        "number" => "a number",
        "array" => "an array",
        "object" => "an object",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_and_null_follow_the_schema() {
        let components = json!({"Rules": {"type": "object", "properties": {
            "view": {"type": "array", "items": {"type": "string"}}}}});
        let schema = json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "note": {"type": "string", "nullable": true},
            "rules": {"$ref": "#/components/schemas/Rules"}}});
        let ok = |v: Value| check(&v, &schema, &components, "body", 0).is_ok();
        assert!(ok(
            json!({"name": "a", "note": null, "rules": {"view": ["public"]}})
        ));
        assert!(!ok(json!({"name": false})));
        assert!(!ok(json!({"name": 42})));
        assert!(!ok(json!({"name": null})));
        assert!(!ok(json!({"rules": null})));
        assert!(!ok(json!({"rules": {"view": null}})));
        assert!(!ok(json!({"rules": {"view": [1]}})));
        assert!(
            ok(json!({"unknown": 1})),
            "unknown names are the parser's to refuse"
        );
    }
}
