//! API.md section 4 and the OWASP API Security Top 10 (2023) items that apply:
//! broken authentication (expired, revoked, rotated, malformed tokens), broken object
//! property level authorisation (mass assignment), broken function level authorisation
//! (every admin route as a normal user), and secrets at rest.

mod common;

use common::{assert_problem, spawn_app, spawn_app_with, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

async fn login_body(app: &TestApp, email: &str, password: &str) -> Value {
    let resp = app
        .req(Method::POST, "/api/v1/auth/login", None)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.req(Method::GET, "/api/v1/auth/me", Some(token))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_login() {
    let app = spawn_app().await;
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let first = login_body(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        me_status(&app, first["access_token"].as_str().unwrap()).await,
        200
    );
    let refresh = |t: Value| {
        app.req(Method::POST, "/api/v1/auth/refresh", None)
            .json(&json!({"refresh_token": t}))
            .send()
    };
    let resp = refresh(first["refresh_token"].clone()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let second: Value = resp.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        me_status(&app, second["access_token"].as_str().unwrap()).await,
        200
    );
    // The access token the refresh replaced is revoked with it (issue 14 item 13), even
    // though it was cached and has most of its hour left.
    assert_eq!(
        me_status(&app, first["access_token"].as_str().unwrap()).await,
        401
    );
    // The first refresh token was rotated out: presenting it again is theft.
    assert_problem(
        refresh(first["refresh_token"].clone()).await.unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    // …so every token of that login is now revoked, including the new pair.
    assert_eq!(
        me_status(&app, second["access_token"].as_str().unwrap()).await,
        401
    );
    assert_problem(
        refresh(second["refresh_token"].clone()).await.unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    // Other logins are unaffected.
    let other = login_body(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        me_status(&app, other["access_token"].as_str().unwrap()).await,
        200
    );
    assert_problem(
        refresh(json!("hth_garbage")).await.unwrap(),
        401,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn logout_revokes_at_once_and_a_stale_token_does_not_block_login() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let resp = app
        .req(Method::POST, "/api/v1/auth/logout", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(me_status(&app, &token).await, 401);
    let resp = app
        .req(Method::POST, "/api/v1/auth/login", Some(&token))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn expired_and_malformed_tokens_are_401() {
    let app = spawn_app_with(|c| c.access_token_ttl = Duration::from_secs(1)).await;
    let token = app.admin_token().await;
    assert_eq!(me_status(&app, &token).await, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        me_status(&app, &token).await,
        401,
        "expired (even though it was cached)"
    );
    for bad in [
        "hth_",
        "hth_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        &token.to_uppercase(),
        &format!("{token}x"),
    ] {
        assert_eq!(me_status(&app, bad).await, 401, "{bad}");
    }
}

#[tokio::test]
async fn personal_tokens_are_scoped_shown_once_and_revocable() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .req(Method::POST, "/api/v1/auth/tokens", Some(&admin))
        .json(&json!({"name": "ci", "scopes": ["read"], "expires_at": "2099-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let read_only = created["token"].as_str().unwrap().to_string();
    assert!(read_only.starts_with("hth_"));
    let list: Value = app.get_json("/api/v1/auth/tokens", Some(&admin)).await;
    assert_eq!(list["items"][0]["name"], "ci");
    assert!(
        list["items"][0].get("token").is_none(),
        "the secret is never listed"
    );
    // A read-only token reads but cannot write, even for an admin.
    let rules =
        json!({"list": ["authenticated"], "view": ["authenticated"], "create": ["authenticated"]});
    app.create_collection(
        &admin,
        json!({"name": "notes", "fields": [{"name": "t", "type": "text"}], "rules": rules}),
    )
    .await;
    assert_eq!(
        app.req(Method::GET, "/api/v1/notes", Some(&read_only))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let resp = app
        .req(Method::POST, "/api/v1/notes", Some(&read_only))
        .json(&json!({"t": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "forbidden").await;
    // Without the admin scope, admin APIs are closed to it.
    assert_problem(
        app.req(Method::GET, "/api/v1/collections", Some(&read_only))
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    // No escalation: the read-only token cannot mint a write token.
    let resp = app
        .req(Method::POST, "/api/v1/auth/tokens", Some(&read_only))
        .json(&json!({"name": "x", "scopes": ["write"]}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "forbidden").await;
    // Revoked: the next request fails.
    let id = created["id"].as_str().unwrap();
    let resp = app
        .req(
            Method::DELETE,
            &format!("/api/v1/auth/tokens/{id}"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(me_status(&app, &read_only).await, 401);
    let resp = app
        .req(
            Method::DELETE,
            &format!("/api/v1/auth/tokens/{id}"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "not_found").await;
    // Normal users cannot create admin-scoped tokens.
    let (_, user) = app.user_token("u@example.org", &[]).await;
    let resp = app
        .req(Method::POST, "/api/v1/auth/tokens", Some(&user))
        .json(&json!({"name": "x", "scopes": ["admin"]}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "forbidden").await;
    let resp = app
        .req(Method::POST, "/api/v1/auth/tokens", Some(&user))
        .json(&json!({"name": "x", "scopes": ["root"]}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 422, "validation_failed").await;
}

#[tokio::test]
async fn register_follows_the_setting_and_refuses_mass_assignment() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"email": "new@example.org", "password": "a good password"});
    let resp = app
        .req(Method::POST, "/api/v1/auth/register", None)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "forbidden").await;
    let resp = app
        .req(Method::PATCH, "/api/v1/admin/settings", Some(&admin))
        .json(&json!({"allow_signups": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["allow_signups"], true);
    let resp = app
        .req(Method::POST, "/api/v1/auth/register", None)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let me: Value = login_body(&app, "new@example.org", "a good password").await;
    assert_eq!(me["user"]["is_admin"], false);
    let resp = app
        .req(Method::POST, "/api/v1/auth/register", None)
        .json(&json!({"email": "evil@example.org", "password": "a good password", "is_admin": true, "roles": ["editor"]}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_json").await;
}

#[tokio::test]
async fn setup_token_creates_the_first_admin_once() {
    let app = spawn_app().await;
    let token = app
        .auth
        .issue_setup_token()
        .await
        .unwrap()
        .expect("no admin yet");
    let body =
        |t: &str| json!({"token": t, "email": "first@example.org", "password": "first admin pw"});
    let resp = app
        .req(Method::POST, "/api/v1/auth/setup", None)
        .json(&body("hth_wrongwrongwrongwrongwrongwrongwrongwrongwro"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = app
        .req(Method::POST, "/api/v1/auth/setup", None)
        .json(&body(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let session: Value = resp.json().await.unwrap();
    assert_eq!(session["user"]["is_admin"], true);
    let resp = app
        .req(Method::POST, "/api/v1/auth/setup", None)
        .json(&body(&token))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    assert!(
        app.auth.issue_setup_token().await.unwrap().is_none(),
        "an admin exists now"
    );
}

#[tokio::test]
async fn failed_logins_are_delayed_for_the_failing_address_and_audited() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.auth
        .create_user("victim@example.org", "the right password", &[])
        .await
        .unwrap();
    let attempt = |pw: &'static str| {
        app.req(Method::POST, "/api/v1/auth/login", None)
            .json(&json!({"email": "victim@example.org", "password": pw}))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong").await.unwrap().status(), 401);
    }
    // This address has failed five times: it waits, even with the right password.
    let resp = attempt("the right password").await.unwrap();
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry, 1, "the first delay is a second");
    assert_problem(resp, 429, "rate_limited").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(attempt("the right password").await.unwrap().status(), 200);
    // Audit events are written on a task of their own after each response.
    let audit = app
        .get_json_until(
            "/api/v1/admin/audit?action=login.failed&limit=50",
            Some(&admin),
            |audit| audit["items"].as_array().is_some_and(|i| !i.is_empty()),
        )
        .await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items[0]["target"], "victim@example.org");
    assert_eq!(items[0]["ip"], "127.0.0.1");
    assert!(items[0]["request_id"].is_string());
    let all = app
        .get_json_until("/api/v1/admin/audit?limit=200", Some(&admin), |all| {
            all["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|i| i["action"] == "login.throttled"))
        })
        .await;
    let actions: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"login.succeeded") && actions.contains(&"login.throttled"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn the_data_dir_holds_no_raw_token_password_or_refresh_secret() {
    let app = spawn_app().await;
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let session = login_body(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = session["access_token"].as_str().unwrap().to_string();
    let refresh = session["refresh_token"].as_str().unwrap().to_string();
    let personal: Value = app
        .req(Method::POST, "/api/v1/auth/tokens", Some(&access))
        .json(&json!({"name": "x", "scopes": ["read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let personal = personal["token"].as_str().unwrap().to_string();
    let dir = app.stop().await;
    let mut haystack = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        haystack.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
    }
    let haystack = String::from_utf8_lossy(&haystack);
    for secret in [&access[4..], &refresh[4..], &personal[4..], ADMIN_PASSWORD] {
        assert!(
            !haystack.contains(secret),
            "a secret is stored in the clear"
        );
    }
}
