//! Issue 14 item 4: personal tokens never outgrow their grant. A token without the
//! `tokens` scope can neither create nor revoke tokens; a token that may never grants
//! more scope or a later expiry than it has; listing is paginated; an account holds at
//! most 100 live personal tokens.

mod common;

use common::{assert_problem, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;

fn in_hours(hours: u64) -> String {
    kernel::clock::from_now(std::time::Duration::from_secs(hours * 3600))
}

fn tomorrow() -> String {
    in_hours(24)
}

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.req(Method::POST, "/api/v1/auth/tokens", Some(token))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn created(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = create(app, token, body).await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn revoke(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.req(
        Method::DELETE,
        &format!("/api/v1/auth/tokens/{id}"),
        Some(token),
    )
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_read_only_token_that_expires_tomorrow_cannot_mint_or_revoke_tokens() {
    let app = spawn_app().await;
    let session = app.admin_token().await;
    let ci = created(
        &app,
        &session,
        json!({"name": "ci", "scopes": ["read", "write", "admin"]}),
    )
    .await;
    let short = created(
        &app,
        &session,
        json!({"name": "short", "scopes": ["read"], "expires_at": tomorrow()}),
    )
    .await;
    let short = short["token"].as_str().unwrap();

    // The attack: a never-expiring token from a read-only one, and revoking the others.
    let resp = create(&app, short, json!({"name": "forever", "scopes": ["read"]})).await;
    let problem = assert_problem(resp, 403, "forbidden").await;
    assert!(problem["detail"].as_str().unwrap().contains("`tokens`"));
    let resp = revoke(&app, short, ci["id"].as_str().unwrap()).await;
    assert_problem(resp, 403, "forbidden").await;
    let ci_token = ci["token"].as_str().unwrap();
    let me = app.get_json("/api/v1/auth/me", Some(ci_token)).await;
    assert!(me["id"].is_string(), "the other token still works: {me}");
    // Listing its own account's tokens is still fine.
    let list = app.get_json("/api/v1/auth/tokens", Some(short)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_token_manager_token_never_grants_more_scope_or_a_later_expiry() {
    let app = spawn_app().await;
    let session = app.admin_token().await;
    let limit = in_hours(24);
    let manager = created(
        &app,
        &session,
        json!({"name": "mgr", "scopes": ["read", "tokens"], "expires_at": limit}),
    )
    .await;
    let manager = manager["token"].as_str().unwrap();

    let resp = create(&app, manager, json!({"name": "x", "scopes": ["read"]})).await;
    let problem = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "expires_at");
    let later = json!({"name": "x", "scopes": ["read"], "expires_at": in_hours(48)});
    let resp = create(&app, manager, later).await;
    let problem = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "expires_at");
    let wider = json!({"name": "x", "scopes": ["write"], "expires_at": in_hours(1)});
    assert_problem(create(&app, manager, wider).await, 403, "forbidden").await;
    let admin = json!({"name": "x", "scopes": ["admin"], "expires_at": in_hours(1)});
    assert_problem(create(&app, manager, admin).await, 403, "forbidden").await;

    let ok = created(
        &app,
        manager,
        json!({"name": "child", "scopes": ["read"], "expires_at": in_hours(1)}),
    )
    .await;
    assert_eq!(ok["scopes"], json!(["read"]));
    // A child without `tokens` cannot go on minting.
    let child = ok["token"].as_str().unwrap();
    let grandchild = json!({"name": "y", "scopes": ["read"], "expires_at": in_hours(1)});
    assert_problem(create(&app, child, grandchild).await, 403, "forbidden").await;
    // The manager may revoke.
    let resp = revoke(&app, manager, ok["id"].as_str().unwrap()).await;
    assert_eq!(resp.status(), 204);
    let resp = app
        .req(Method::GET, "/api/v1/auth/me", Some(child))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
}

#[tokio::test]
async fn token_lists_are_paginated_and_an_account_holds_at_most_100() {
    let app = spawn_app().await;
    let session = app.admin_token().await;
    for i in 0..100 {
        created(
            &app,
            &session,
            json!({"name": format!("t{i}"), "scopes": ["read"]}),
        )
        .await;
    }
    let resp = create(
        &app,
        &session,
        json!({"name": "one more", "scopes": ["read"]}),
    )
    .await;
    let problem = assert_problem(resp, 409, "token_limit_reached").await;
    assert!(problem["detail"].as_str().unwrap().contains("100"));

    // Pages of 30, newest first, every token exactly once.
    let mut seen = Vec::new();
    let mut path = "/api/v1/auth/tokens?limit=30".to_string();
    loop {
        let resp = app
            .req(Method::GET, &path, Some(&session))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let link = resp
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_string());
        let page: Value = resp.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        seen.extend(
            items
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                assert_eq!(items.len(), 30);
                let link = link.expect("Link header on a page with more");
                assert!(link.contains(&format!("cursor={cursor}")), "{link}");
                assert!(link.ends_with("rel=\"next\""));
                path = format!("/api/v1/auth/tokens?limit=30&cursor={cursor}");
            }
            None => {
                assert!(link.is_none());
                break;
            }
        }
    }
    assert_eq!(seen.len(), 100);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 100);
    assert_eq!(seen[0], "t99", "newest first");
    let default_page = app.get_json("/api/v1/auth/tokens", Some(&session)).await;
    assert_eq!(default_page["items"].as_array().unwrap().len(), 20);

    for bad in ["cursor=garbage", "limit=0", "limit=201"] {
        let resp = app
            .req(
                Method::GET,
                &format!("/api/v1/auth/tokens?{bad}"),
                Some(&session),
            )
            .send()
            .await
            .unwrap();
        assert_problem(resp, 400, "invalid_query").await;
    }

    // Revoking one frees a place.
    let first = default_page["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(revoke(&app, &session, &first).await.status(), 204);
    created(&app, &session, json!({"name": "again", "scopes": ["read"]})).await;
}
