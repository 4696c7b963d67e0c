//! Issue 14 item 11: sign-up reveals no account, is throttled per client address, and
//! emails are unique by their normalised form (NFKC + lower case), for sign-up and login
//! alike, also for accounts stored before the key existed.

mod common;

use common::{assert_problem, spawn_app_with, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use hearth::config::Cidr;
use reqwest::Method;
use serde_json::{json, Value};

async fn open_signups(app: &TestApp) {
    let admin = app.admin_token().await;
    let resp = app
        .req(Method::PATCH, "/api/v1/admin/settings", Some(&admin))
        .json(&json!({"allow_signups": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

async fn register(app: &TestApp, from: &str, email: &str, password: &str) -> reqwest::Response {
    app.req(Method::POST, "/api/v1/auth/register", None)
        .header("x-forwarded-for", from)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn login_status(app: &TestApp, email: &str, password: &str) -> u16 {
    app.req(Method::POST, "/api/v1/auth/login", None)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The test client is the trusted proxy, so `X-Forwarded-For` picks the client address.
async fn behind_proxy() -> TestApp {
    spawn_app_with(|c| c.security.trusted_proxies = vec![Cidr::parse("127.0.0.1").unwrap()]).await
}

#[tokio::test]
async fn registering_a_taken_or_look_alike_email_answers_the_same_and_changes_nothing() {
    let app = behind_proxy().await;
    open_signups(&app).await;
    let resp = register(
        &app,
        "198.51.100.1",
        "new@example.org",
        "the owner's password",
    )
    .await;
    assert_eq!(resp.status(), 202);
    let first: Value = resp.json().await.unwrap();
    assert_eq!(first, json!({"status": "accepted"}));

    // An attacker probing (or squatting) the address and its look-alikes, from elsewhere.
    for alike in [
        "new@example.org",
        "NEW@Example.org",
        "ｎｅｗ@example.org",
        ADMIN_EMAIL,
    ] {
        let resp = register(&app, "198.51.100.2", alike, "the attacker's password").await;
        assert_eq!(resp.status(), 202, "{alike}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body, first, "{alike}: the answer reveals the account");
    }
    assert_eq!(
        login_status(&app, "new@example.org", "the attacker's password").await,
        401
    );
    assert_eq!(
        login_status(&app, ADMIN_EMAIL, "the attacker's password").await,
        401
    );
    // Login goes by the same key: any spelling of the address finds the one account.
    assert_eq!(
        login_status(&app, "ＮＥＷ@example.org", "the owner's password").await,
        200
    );
    assert_eq!(login_status(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await, 200);
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let users = app.get_json("/api/v1/users", Some(&admin)).await;
    assert_eq!(users["total"], 2, "{users}");
    // The attempts are audited for the operator (the answer says nothing).
    app.get_json_until(
        "/api/v1/admin/audit?action=user.register_existing",
        Some(&admin),
        // Repeats for one address are one row with a count (the audit log aggregates).
        |audit| {
            audit["items"].as_array().is_some_and(|items| {
                items
                    .iter()
                    .map(|i| i["count"].as_i64().unwrap())
                    .sum::<i64>()
                    == 4
            })
        },
    )
    .await;
}

#[tokio::test]
async fn sign_ups_are_throttled_per_client_address() {
    let app = behind_proxy().await;
    open_signups(&app).await;
    for i in 0..5 {
        let resp = register(
            &app,
            "203.0.113.7",
            &format!("u{i}@example.org"),
            "a good password",
        )
        .await;
        assert_eq!(resp.status(), 202);
    }
    let resp = register(&app, "203.0.113.7", "u5@example.org", "a good password").await;
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 3600, "{wait}");
    assert_problem(resp, 429, "rate_limited").await;
    // Another address is not affected.
    let resp = register(&app, "203.0.113.8", "u5@example.org", "a good password").await;
    assert_eq!(resp.status(), 202);
}

/// A real argon2id hash of `password`, made by a scratch server.
async fn password_hash(password: &str) -> String {
    let scratch = common::spawn_app().await;
    let user = scratch
        .auth
        .create_user("scratch@example.org", password, &[])
        .await
        .unwrap();
    scratch
        .db
        .read(move |conn| {
            conn.query_row(
                "SELECT password_hash FROM users WHERE id = ?1",
                [user.id],
                |r| r.get::<_, String>(0),
            )
            .map_err(storage::StorageError::from)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn accounts_stored_before_email_keys_are_keyed_without_losing_any() {
    // A database as the previous release left it: migrations 1 to 5, three accounts, two
    // of them look-alikes that release let in.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.db");
    let config = storage::StorageConfig::new(path.clone());
    storage::migrate_file(&config, &hearth::migrations::MIGRATIONS[..5]).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let hash = password_hash("an old password").await;
    for (id, email) in [
        ("00000000-0000-7000-8000-000000000001", "Old@Example.org"),
        (
            "00000000-0000-7000-8000-000000000002",
            "ｆｕｌｌ@example.org",
        ),
        ("00000000-0000-7000-8000-000000000003", "FULL@example.org"),
    ] {
        conn.execute(
            "INSERT INTO users (id, email, password_hash, created_at, updated_at)
             VALUES (?1, ?2, ?3, '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')",
            rusqlite::params![id, email, hash],
        )
        .unwrap();
    }
    drop(conn);

    let data_dir = dir.path().to_path_buf();
    let app = spawn_app_with(move |c| c.data_dir = data_dir).await;
    assert_eq!(
        login_status(&app, "old@example.org", "an old password").await,
        200
    );
    // `FULL@example.org` (ASCII) was keyed by the migration and keeps its key; its
    // fullwidth look-alike is kept, unkeyed, for an admin to rename.
    assert_eq!(
        login_status(&app, "full@example.org", "an old password").await,
        200
    );
    let keys: Vec<(String, Option<String>)> = app
        .db
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT email, email_key FROM users ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(storage::StorageError::from)
        })
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            (
                "Old@Example.org".to_string(),
                Some("old@example.org".to_string())
            ),
            ("ｆｕｌｌ@example.org".to_string(), None),
            (
                "FULL@example.org".to_string(),
                Some("full@example.org".to_string())
            ),
        ]
    );
}
