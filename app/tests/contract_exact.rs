//! Issue 15 section 3: answers that schemathesis (all checks, ops/contract/run.sh) found
//! to disagree with the document or with HTTP itself, each reproduced over real HTTP.

mod common;

use common::posts::{create, setup};
use common::{assert_problem, spawn_app};
use reqwest::Method;
use serde_json::{json, Value};

async fn allow_of(app: &common::TestApp, method: &str, path: &str) -> String {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let resp = app.req(method, path, None).send().await.unwrap();
    let Some(allow) = resp.headers().get("allow").cloned() else {
        let status = resp.status();
        panic!(
            "{status} for {path} without Allow: {}",
            resp.text().await.unwrap()
        );
    };
    let allow = allow.to_str().unwrap().to_owned();
    assert_problem(resp, 405, "method_not_allowed").await;
    allow
}

/// RFC 9110 15.5.6: a 405 lists the methods the path has, on every kind of route.
#[tokio::test]
async fn every_405_carries_allow() {
    let app = spawn_app().await;
    // The static API (poem-openapi's router), by fixed and templated paths.
    assert_eq!(allow_of(&app, "TRACE", "/api/v1/auth/login").await, "POST");
    assert_eq!(allow_of(&app, "PUT", "/api/v1/auth/me").await, "GET, HEAD");
    assert_eq!(
        allow_of(&app, "PUT", "/api/v1/users/some-id").await,
        "GET, HEAD, PATCH, DELETE"
    );
    assert_eq!(
        allow_of(&app, "DELETE", "/api/v1/collections").await,
        "GET, HEAD, POST"
    );
    // The plain routes and the dashboard.
    assert_eq!(allow_of(&app, "POST", "/healthz").await, "GET, HEAD");
    assert_eq!(
        allow_of(&app, "DELETE", "/api/v1/openapi.json").await,
        "GET, HEAD"
    );
    assert_eq!(allow_of(&app, "PUT", "/static/app.css").await, "GET, HEAD");
    assert_eq!(
        allow_of(&app, "PUT", "/admin/login").await,
        "GET, HEAD, POST"
    );
}

/// API.md 2.2: view, update and delete hide records from callers who may not see them
/// (404), but an anonymous caller on an `owner` (or `authenticated`, `role:…`) rule is
/// simply not signed in: no record can be theirs, so 401 says what to do and leaks nothing.
#[tokio::test]
async fn anonymous_writes_on_owner_rules_are_401() {
    let (app, _admin) = setup().await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let post: Value = create(&app, &alice, "/api/v1/posts", json!({"title": "mine"}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    for (method, body) in [
        (Method::PATCH, Some(json!({"title": "anon"}))),
        (Method::PUT, Some(json!({"title": "anon"}))),
        (Method::DELETE, None),
    ] {
        let mut req = app.req(method.clone(), &path, None);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.headers()["www-authenticate"], "Bearer", "{method}");
        assert_problem(resp, 401, "unauthenticated").await;
    }
    // A record that does not exist answers the same, so 401 tells nothing about ids.
    let resp = app
        .req(Method::DELETE, "/api/v1/posts/no-such-id", None)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    // And the record is untouched.
    let got = app.get_json(&path, None).await;
    assert_eq!(got["title"], "mine");
}

/// poem-openapi turned `false` into `"false"` and took `null` for any optional property;
/// the static routes now refuse what their documented types do not admit.
#[tokio::test]
async fn static_bodies_are_as_strict_as_their_schemas() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rules = json!({"list": [], "view": [], "create": [], "update": [], "delete": []});
    for body in [
        json!({"name": false, "fields": [], "rules": rules}),
        json!({"name": 42, "fields": []}),
        json!({"name": "notes", "fields": [], "rules": {"delete": null}}),
        json!({"name": "notes", "fields": [{"name": "n", "type": "text", "required": "yes"}]}),
    ] {
        let resp = app.create_collection(&admin, body.clone()).await;
        let problem = assert_problem(resp, 400, "invalid_json").await;
        assert!(
            problem["detail"].as_str().unwrap().contains("must be"),
            "{body}: {problem}"
        );
    }
    // Nothing was created, and a well-typed body still works.
    let list = app.get_json("/api/v1/collections", Some(&admin)).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
    let resp = app
        .create_collection(&admin, json!({"name": "notes", "fields": []}))
        .await;
    assert_eq!(resp.status(), 201);
    // The same on the auth routes: a number is not an email address.
    let resp = app
        .req(Method::POST, "/api/v1/auth/login", None)
        .json(&json!({"email": 12345, "password": "whatever"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_json").await;
}

/// The document states the bounds the settings checks enforce and the email format.
#[tokio::test]
async fn the_document_states_settings_bounds_and_email_format() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let doc = app.get_json("/api/v1/openapi.json", Some(&admin)).await;
    let schemas = &doc["components"]["schemas"];
    for name in ["User", "NewUser", "UserPatch", "Credentials"] {
        assert_eq!(
            schemas[name]["properties"]["email"]["format"], "email",
            "{name}"
        );
    }
    let patch = &schemas["SettingsPatch"]["properties"];
    assert_eq!(patch["rate_limit_burst"]["minimum"], 1);
    assert_eq!(patch["rate_limit_burst"]["maximum"], 1_000_000);
    assert_eq!(patch["rate_limit_auth_per_second"]["minimum"], 0);
    assert_eq!(patch["rate_limit_auth_per_second"]["maximum"], 100_000);
    assert_eq!(patch["cors_origins"]["maxItems"], 100);
    // And the server refuses what the document says is out of range.
    for (name, value) in [("rate_limit_burst", 1_000_001), ("rate_limit_burst", 0)] {
        let resp = app
            .req(Method::PATCH, "/api/v1/admin/settings", Some(&admin))
            .json(&json!({ name: value }))
            .send()
            .await
            .unwrap();
        assert_problem(resp, 422, "validation_failed").await;
    }
}

/// A field's `default` applies on create only: absent from a replace means null, from a
/// patch unchanged. The document said `default` on all three, so generated clients
/// (openapi-python-client) sent the defaults in every patch, resetting fields.
#[tokio::test]
async fn defaults_are_documented_on_create_only() {
    let (app, admin) = setup().await;
    let doc = app.get_json("/api/v1/openapi.json", Some(&admin)).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["posts.Create"]["properties"]["views"]["default"], 0);
    assert_eq!(
        schemas["posts.Create"]["properties"]["status"]["default"],
        "draft"
    );
    for name in ["posts.Replace", "posts.Patch"] {
        for (field, schema) in schemas[name]["properties"].as_object().unwrap() {
            assert!(schema.get("default").is_none(), "{name}.{field}: {schema}");
        }
    }
    // What the server does, which the document now says: a patch leaves the rest alone.
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let post: Value = create(
        &app,
        &alice,
        "/api/v1/posts",
        json!({"title": "t", "views": 7, "status": "published"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let patched: Value = app
        .req(Method::PATCH, &path, Some(&alice))
        .json(&json!({"title": "u"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (patched["views"].as_i64(), patched["status"].as_str()),
        (Some(7), Some("published"))
    );
}

/// Every field's schema has an `example` the server accepts (schemathesis' examples
/// phase, and clients, send them), except relations, which need a real id.
#[tokio::test]
async fn field_examples_make_a_record_the_server_accepts() {
    let (app, admin) = setup().await;
    let doc = app.get_json("/api/v1/openapi.json", Some(&admin)).await;
    let properties = doc["components"]["schemas"]["posts.Create"]["properties"]
        .as_object()
        .unwrap()
        .clone();
    let mut body = serde_json::Map::new();
    for (name, schema) in properties {
        match schema.get("example") {
            Some(example) => {
                body.insert(name, example.clone());
            }
            None => assert_eq!(name, "author", "{name} has no example: {schema}"),
        }
    }
    let resp = create(&app, &admin, "/api/v1/posts", Value::Object(body)).await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
}

/// poem-openapi's `allOf: [{$ref: enum}, {description}]` stopped openapi-python-client
/// ("Cannot take allOf a non-object": the collections API vanished from the client); a
/// described enum reference is now the enum itself, with its description.
#[tokio::test]
async fn described_enum_references_are_inlined() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let doc = app.get_json("/api/v1/openapi.json", Some(&admin)).await;
    let on_delete = &doc["components"]["schemas"]["FieldDefinition"]["properties"]["on_delete"];
    assert!(on_delete.get("allOf").is_none(), "{on_delete}");
    assert_eq!(on_delete["type"], "string");
    let values: Vec<&str> = on_delete["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(values.len(), 3, "{on_delete}");
    assert!(on_delete["description"]
        .as_str()
        .unwrap()
        .contains("relation"));
}
