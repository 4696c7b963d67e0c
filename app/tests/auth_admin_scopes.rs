//! Issue 14 item 12: the `admin` scope alone does not allow admin *changes*. A
//! `["read", "admin"]` personal token of an admin may read every admin API but gets 403
//! `forbidden` on every admin write (collections, users, settings), and nothing changes;
//! the same admin with `write` as well may change things.

mod common;

use common::{assert_problem, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

async fn personal_token(app: &TestApp, session: &str, scopes: Value) -> String {
    let resp = app
        .req(Method::POST, "/api/v1/auth/tokens", Some(session))
        .json(&json!({"name": "scoped", "scopes": scopes}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

async fn send(app: &TestApp, token: &str, method: Method, path: &str, body: &Value) -> u16 {
    let mut req = app.req(method, path, Some(token));
    if !body.is_null() {
        req = req.json(body);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_read_admin_token_reads_admin_apis_but_cannot_change_anything() {
    let app = spawn_app().await;
    let session = app.admin_token().await;
    let (user_id, _) = app.user_token("u@example.org", &[]).await;
    app.create_collection(&session, json!({"name": "things", "fields": []}))
        .await;
    let reader = personal_token(&app, &session, json!(["read", "admin"])).await;

    for path in [
        "/api/v1/collections",
        "/api/v1/collections/things",
        "/api/v1/users",
        &format!("/api/v1/users/{user_id}"),
        "/api/v1/admin/audit",
        "/api/v1/admin/settings",
    ] {
        let status = send(&app, &reader, Method::GET, path, &Value::Null).await;
        assert_eq!(status, 200, "GET {path}");
    }

    let writes: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/api/v1/collections".into(),
            json!({"name": "x", "fields": []}),
        ),
        (
            Method::PUT,
            "/api/v1/collections/things".into(),
            json!({"name": "things", "fields": [{"name": "t", "type": "text"}]}),
        ),
        (
            Method::PUT,
            "/api/v1/collections/things?dry_run=true".into(),
            json!({"name": "things", "fields": []}),
        ),
        (
            Method::DELETE,
            "/api/v1/collections/things".into(),
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            json!({"email": "x@example.org", "password": "password 12"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{user_id}"),
            json!({"is_admin": true}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{user_id}"),
            Value::Null,
        ),
        (
            Method::PATCH,
            "/api/v1/admin/settings".into(),
            json!({"allow_signups": true}),
        ),
    ];
    for (method, path, body) in &writes {
        let mut req = app.req(method.clone(), path, Some(&reader));
        if !body.is_null() {
            req = req.json(body);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 403, "{method} {path}");
        let problem = assert_problem(resp, 403, "forbidden").await;
        assert!(
            problem["detail"].as_str().unwrap().contains("`write`"),
            "{problem}"
        );
    }

    // Nothing above took effect.
    let things = app
        .get_json("/api/v1/collections/things", Some(&session))
        .await;
    assert_eq!(things["fields"], json!([]));
    let collections = app.get_json("/api/v1/collections", Some(&session)).await;
    assert_eq!(collections["items"].as_array().unwrap().len(), 1);
    let user = app
        .get_json(&format!("/api/v1/users/{user_id}"), Some(&session))
        .await;
    assert_eq!(user["is_admin"], false);
    let settings = app.get_json("/api/v1/admin/settings", Some(&session)).await;
    assert_eq!(settings["allow_signups"], false);

    // With `write` as well, the same admin's token changes things.
    let writer = personal_token(&app, &session, json!(["read", "write", "admin"])).await;
    let body = json!({"allow_signups": true});
    let status = send(
        &app,
        &writer,
        Method::PATCH,
        "/api/v1/admin/settings",
        &body,
    )
    .await;
    assert_eq!(status, 200);
    let body = json!({"name": "x", "fields": []});
    let status = send(&app, &writer, Method::POST, "/api/v1/collections", &body).await;
    assert_eq!(status, 201);
}
