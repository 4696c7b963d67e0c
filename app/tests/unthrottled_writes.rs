//! Issue 14 item 7: anonymous traffic must not cause unthrottled database writes. Random
//! dashboard session cookies are looked up with a read (no write job), an active
//! session writes "last seen" at most once a minute, and `/admin/*` and requests with
//! bad bearer tokens are rate-limited per client address.

mod common;

use common::{spawn_app_with, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use hearth::config::RateLimitConfig;
use std::hash::{BuildHasher, RandomState};

/// A value nobody issued: 64 random-looking hex digits.
fn random() -> String {
    let state = RandomState::new();
    (0..4)
        .map(|i| format!("{:016x}", state.hash_one(i)))
        .collect()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Write jobs the writer has started or has queued.
fn write_jobs(app: &TestApp) -> u64 {
    let stats = app.db.stats();
    stats.jobs + stats.queue_depth
}

async fn with_random_cookie(app: &TestApp, c: &reqwest::Client, path: &str) -> u16 {
    c.get(app.url(path))
        .header("cookie", format!("hearth_admin={}", random()))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn random_session_cookies_cause_no_write_jobs() {
    // No rate limit (the tests' default): every request reaches the session lookup.
    let app = spawn_app_with(|_| {}).await;
    let c = client();
    let before = write_jobs(&app);
    for i in 0..300 {
        let path = ["/admin", "/admin/collections", "/admin/settings"][i % 3];
        assert_eq!(
            with_random_cookie(&app, &c, path).await,
            303,
            "to the login"
        );
    }
    assert_eq!(
        write_jobs(&app),
        before,
        "no write job for unknown sessions"
    );
}

#[tokio::test]
async fn an_active_session_writes_last_seen_at_most_once_a_minute() {
    let app = spawn_app_with(|_| {}).await;
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c.get(app.url("/admin/login")).send().await.unwrap();
    let html = page.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = &html[at..at + html[at..].find('"').unwrap()];
    let resp = c
        .post(app.url("/admin/login"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("csrf", csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    // The login's audit event is written off the request path; let it land.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let before = write_jobs(&app);
    for _ in 0..30 {
        let resp = c.get(app.url("/admin/collections")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(write_jobs(&app), before, "reading pages writes nothing");
}

#[tokio::test]
async fn the_dashboard_is_rate_limited_per_address_before_the_session_lookup() {
    let app = spawn_app_with(|c| {
        c.security.rate_limit = RateLimitConfig {
            per_second: 1,
            burst: 10,
        }
    })
    .await;
    let c = client();
    let before = write_jobs(&app);
    let mut statuses = Vec::new();
    for _ in 0..300 {
        statuses.push(with_random_cookie(&app, &c, "/admin").await);
    }
    let served = statuses.iter().take_while(|s| **s == 303).count();
    assert!(
        (10..=12).contains(&served),
        "{served} served of {statuses:?}"
    );
    assert!(statuses[served..].iter().all(|s| *s == 429 || *s == 303));
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 280);
    let resp = c
        .get(app.url("/admin"))
        .header("cookie", format!("hearth_admin={}", random()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    assert!(resp.headers()["ratelimit-policy"]
        .to_str()
        .unwrap()
        .starts_with("\"anonymous\";"));
    assert_eq!(write_jobs(&app), before);
}

#[tokio::test]
async fn invalid_bearer_tokens_get_429_after_the_burst() {
    let app = spawn_app_with(|c| {
        c.security.rate_limit = RateLimitConfig {
            per_second: 1,
            burst: 10,
        }
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..300 {
        let resp = app
            .client
            .get(app.url("/api/v1/collections"))
            .bearer_auth(format!("hth_{}", random()))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let unauthenticated = statuses.iter().filter(|s| **s == 401).count();
    assert!((10..=12).contains(&unauthenticated), "{statuses:?}");
    assert_eq!(refused + unauthenticated, 300);
    let resp = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth("hth_not_a_token")
        .send()
        .await
        .unwrap();
    common::assert_problem(resp, 429, "rate_limited").await;
    // Anonymous requests from that address (no token) have their own bucket.
    let resp = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}
