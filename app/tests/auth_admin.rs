//! API.md section 4, admin side: user management, roles taking effect, every admin route
//! refused to normal users (OWASP API5, broken function level authorisation), and the
//! audit log of collection changes.

mod common;

use common::{assert_problem, spawn_app, TestApp, ADMIN_EMAIL};
use reqwest::Method;
use serde_json::{json, Value};

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.req(Method::GET, "/api/v1/auth/me", Some(token))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn users_api_roles_disable_and_last_admin() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .req(Method::POST, "/api/v1/users", Some(&admin))
        .json(
            &json!({"email": "ed@example.org", "password": "editor password", "roles": ["editor"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let ed: Value = resp.json().await.unwrap();
    assert_eq!(ed["roles"], json!(["editor"]));
    let id = ed["id"].as_str().unwrap().to_string();
    let ed_token = app.login("ed@example.org", "editor password").await;
    assert_eq!(me_status(&app, &ed_token).await, 200);
    let resp = app
        .req(Method::POST, "/api/v1/users", Some(&admin))
        .json(&json!({"email": "ED@example.org", "password": "another one"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 409, "conflict").await;
    let list: Value = app.get_json("/api/v1/users?limit=10", Some(&admin)).await;
    assert_eq!(list["total"], 2);
    // Disabling revokes at once.
    let resp = app
        .req(Method::PATCH, &format!("/api/v1/users/{id}"), Some(&admin))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(me_status(&app, &ed_token).await, 401);
    let resp = app
        .req(Method::POST, "/api/v1/auth/login", None)
        .json(&json!({"email": "ed@example.org", "password": "editor password"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    // The last admin cannot be demoted, disabled or deleted.
    let me: Value = app.get_json("/api/v1/auth/me", Some(&admin)).await;
    let admin_id = me["id"].as_str().unwrap();
    for body in [json!({"is_admin": false}), json!({"disabled": true})] {
        let resp = app
            .req(
                Method::PATCH,
                &format!("/api/v1/users/{admin_id}"),
                Some(&admin),
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(resp, 409, "conflict").await;
    }
    let resp = app
        .req(
            Method::DELETE,
            &format!("/api/v1/users/{admin_id}"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_problem(resp, 409, "conflict").await;
    let resp = app
        .req(Method::DELETE, &format!("/api/v1/users/{id}"), Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_problem(
        app.req(Method::GET, &format!("/api/v1/users/{id}"), Some(&admin))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn role_changes_apply_on_the_next_request() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "articles", "fields": [], "rules": {"create": ["role:writer"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let (id, user) = app.user_token("w@example.org", &[]).await;
    let resp = app
        .req(Method::POST, "/api/v1/articles", Some(&user))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "forbidden").await;
    app.req(Method::PATCH, &format!("/api/v1/users/{id}"), Some(&admin))
        .json(&json!({"roles": ["writer"]}))
        .send()
        .await
        .unwrap();
    let resp = app
        .req(Method::POST, "/api/v1/articles", Some(&user))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn every_admin_route_refuses_normal_users_with_403() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (user_id, user) = app.user_token("u@example.org", &[]).await;
    app.create_collection(&admin, json!({"name": "things", "fields": []}))
        .await;
    let routes: Vec<(Method, String, Value)> = vec![
        (Method::GET, "/api/v1/collections".into(), Value::Null),
        (
            Method::POST,
            "/api/v1/collections".into(),
            json!({"name": "x", "fields": []}),
        ),
        (
            Method::GET,
            "/api/v1/collections/things".into(),
            Value::Null,
        ),
        (
            Method::PUT,
            "/api/v1/collections/things".into(),
            json!({"name": "things", "fields": []}),
        ),
        (
            Method::DELETE,
            "/api/v1/collections/things".into(),
            Value::Null,
        ),
        (Method::GET, "/api/v1/users".into(), Value::Null),
        (
            Method::POST,
            "/api/v1/users".into(),
            json!({"email": "x@example.org", "password": "password 12"}),
        ),
        (Method::GET, format!("/api/v1/users/{user_id}"), Value::Null),
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
        (Method::GET, "/api/v1/admin/audit".into(), Value::Null),
        (Method::GET, "/api/v1/admin/settings".into(), Value::Null),
        (
            Method::PATCH,
            "/api/v1/admin/settings".into(),
            json!({"allow_signups": true}),
        ),
    ];
    for (method, path, body) in routes {
        let mut req = app.req(method.clone(), &path, Some(&user));
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 403, "{method} {path}");
        assert_problem(resp, 403, "forbidden").await;
    }
    let me: Value = app.get_json("/api/v1/auth/me", Some(&user)).await;
    assert_eq!(me["is_admin"], false, "nothing above took effect");
}

#[tokio::test]
async fn collection_changes_are_audited() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    assert_eq!(
        app.create_collection(&admin, json!({"name": "a", "fields": []}))
            .await
            .status(),
        201
    );
    let resp = app
        .req(Method::DELETE, "/api/v1/collections/a", Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let deleted = |audit: &Value| {
        audit["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|i| i["action"] == "collection.deleted" && i["target"] == "a")
        })
    };
    let audit = app
        .get_json_until("/api/v1/admin/audit", Some(&admin), deleted)
        .await;
    let actions: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["action"].as_str().unwrap(),
                i["target"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        actions.contains(&("collection.created", "a"))
            && actions.contains(&("collection.deleted", "a")),
        "{actions:?}"
    );
    assert_eq!(audit["items"][0]["actor_email"], ADMIN_EMAIL);
}
