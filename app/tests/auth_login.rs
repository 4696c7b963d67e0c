//! The thin first version of API.md section 4: an admin made by `admin create` logs in
//! and uses the bearer token; anything else is 401.

mod common;

use common::{assert_problem, spawn_app, ADMIN_EMAIL, ADMIN_PASSWORD};
use serde_json::{json, Value};

#[tokio::test]
async fn admin_logs_in_and_reads_me() {
    let app = spawn_app().await;
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ADMIN@example.org", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    assert!(token.starts_with("hth_") && token.len() == 47);
    assert!(body["refresh_token"].as_str().unwrap().starts_with("hth_"));
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    assert_eq!(body["user"]["is_admin"], true);
    assert!(body["user"].get("password_hash").is_none());

    let me: Value = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["id"], body["user"]["id"]);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = spawn_app().await;
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let mut details = Vec::new();
    for (email, password) in [
        (ADMIN_EMAIL, "wrong password"),
        ("nobody@example.org", ADMIN_PASSWORD),
    ] {
        let resp = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        let body = assert_problem(resp, 401, "unauthenticated").await;
        details.push(body["detail"].clone());
    }
    assert_eq!(details[0], details[1]);
}

#[tokio::test]
async fn resetting_the_admin_revokes_its_tokens() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let ok = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    app.auth
        .create_admin(ADMIN_EMAIL, "another long password")
        .await
        .unwrap();
    let resp = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
}

#[tokio::test]
async fn unknown_fields_in_login_are_refused() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": "x", "is_admin": true}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_json").await;
}

#[tokio::test]
async fn the_database_holds_no_raw_token_or_password() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let data_dir = app.stop().await;
    let path = data_dir.path().join("hearth.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let wal = path.with_extension("db-wal");
    if let Ok(more) = std::fs::read(wal) {
        bytes.extend(more);
    }
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(!haystack.contains(&token[4..]), "raw token stored");
    assert!(!haystack.contains(ADMIN_PASSWORD), "raw password stored");
    assert!(haystack.contains("$argon2id$"));
}
