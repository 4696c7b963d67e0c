//! Issue 14 item 8: the audit log does not grow without bound. Repeats of an event
//! (same action, actor, target and address) become one row with a `count` and `last_at`,
//! and rows older than `audit_retention` (90 days by default) are pruned in the
//! background.

mod common;

use common::{spawn_app_with, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

async fn wrong_login(app: &TestApp, email: &str) -> u16 {
    app.req(Method::POST, "/api/v1/auth/login", None)
        .json(&json!({"email": email, "password": "not the password"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn rows<'a>(audit: &'a Value, action: &str) -> Vec<&'a Value> {
    audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == action)
        .collect()
}

#[tokio::test]
async fn repeated_failed_and_throttled_logins_are_one_row_each_with_a_count() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin_token().await;
    let statuses: Vec<u16> = {
        let mut s = Vec::new();
        for _ in 0..12 {
            s.push(wrong_login(&app, "victim@example.org").await);
        }
        s
    };
    let failed = statuses.iter().filter(|s| **s == 401).count() as i64;
    let throttled = statuses.iter().filter(|s| **s == 429).count() as i64;
    assert_eq!((failed, throttled), (5, 7), "{statuses:?}");
    assert_eq!(
        wrong_login(&app, "other@example.org").await,
        401,
        "another account"
    );

    let audit = app
        .get_json_until("/api/v1/admin/audit?limit=200", Some(&admin), |audit| {
            let sum = |action| {
                rows(audit, action)
                    .iter()
                    .map(|r| r["count"].as_i64().unwrap())
                    .sum::<i64>()
            };
            sum("login.failed") == failed + 1 && sum("login.throttled") == throttled
        })
        .await;
    let throttled_rows = rows(&audit, "login.throttled");
    assert_eq!(throttled_rows.len(), 1, "{throttled_rows:?}");
    assert_eq!(throttled_rows[0]["count"], throttled);
    // Newest first: the other account's failure is a row of its own.
    let failed_rows = rows(&audit, "login.failed");
    assert_eq!(failed_rows.len(), 2, "{failed_rows:?}");
    assert_eq!(failed_rows[0]["target"], "other@example.org");
    assert_eq!(failed_rows[0]["count"], 1);
    assert_eq!(failed_rows[1]["target"], "victim@example.org");
    assert_eq!(failed_rows[1]["count"], failed);
    let (at, last) = (&failed_rows[1]["at"], &failed_rows[1]["last_at"]);
    assert!(last.as_str().unwrap() > at.as_str().unwrap(), "{at} {last}");
    // Events with detail are never merged.
    for allow in [true, false] {
        let resp = app
            .req(Method::PATCH, "/api/v1/admin/settings", Some(&admin))
            .json(&json!({"allow_signups": allow}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    app.get_json_until(
        "/api/v1/admin/audit?action=settings.changed",
        Some(&admin),
        |a| a["items"].as_array().is_some_and(|i| i.len() == 2),
    )
    .await;
}

#[tokio::test]
async fn events_older_than_the_retention_are_pruned_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_path_buf();
    // A first run leaves some events, which are then made old.
    let first = spawn_app_with({
        let d = data_dir.clone();
        move |c| c.data_dir = d
    })
    .await;
    first
        .auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    for _ in 0..3 {
        wrong_login(&first, "old@example.org").await;
    }
    first.stop().await;
    let conn = rusqlite::Connection::open(data_dir.join("hearth.db")).unwrap();
    let old = conn
        .execute(
            "UPDATE audit_log SET at = '2020-01-01T00:00:00.000Z', last_at = '2020-01-01T00:00:01.000Z'",
            [],
        )
        .unwrap();
    assert!(old > 0);
    drop(conn);

    // The next start prunes them (default retention: 90 days); new events stay.
    let app = spawn_app_with(move |c| c.data_dir = data_dir).await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let audit = app
        .get_json_until("/api/v1/admin/audit?limit=200", Some(&token), |audit| {
            let items = audit["items"].as_array().unwrap();
            !items.is_empty() && items.iter().all(|i| i["at"].as_str().unwrap() > "2021")
        })
        .await;
    assert!(rows(&audit, "login.succeeded").len() == 1, "{audit}");
}
