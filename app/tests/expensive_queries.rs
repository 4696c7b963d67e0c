//! Issue 14, item 1: one caller's costly lists cannot stall every reader. The attack of
//! the security review, through the real HTTP interface: a public collection with many
//! rows, and list requests whose filters ask for many substring scans.

mod common;

use common::{assert_problem, spawn_app_with, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

const ROWS: u32 = 300_000;

/// A public collection `logs` with one text field and `ROWS` rows, inserted by SQL in
/// one statement (through the API this would take minutes).
async fn logs(query_timeout: Duration) -> TestApp {
    let app = spawn_app_with(|c| c.query_timeout = query_timeout).await;
    fill_logs(&app).await;
    app
}

async fn fill_logs(app: &TestApp) {
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "logs", "fields": [{"name": "t", "type": "text"}],
                   "rules": {"list": ["public"], "view": ["public"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    app.db
        .write(|conn| {
            conn.execute(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1)
                 INSERT INTO rec_logs (id, created_at, updated_at, version, owner, t)
                 SELECT printf('%08x-0000-7000-8000-%012x', x, x), '2026-01-01T00:00:00.000Z',
                        '2026-01-01T00:00:00.000Z', 1, NULL,
                        'entry ' || x || ' lorem ipsum dolor sit amet consectetur'
                 FROM c",
                [ROWS],
            )
            .map(|_| ())
            .map_err(storage::StorageError::from)
        })
        .await
        .unwrap();
}

/// Eight substring searches that match nothing, so every row is scanned by each, counted.
fn costly_filter() -> String {
    let terms: Vec<String> = (0..8).map(|i| format!("t ~ 'zq{i}x'")).collect();
    terms.join(" || ")
}

async fn list(app: &TestApp, filter: &str, token: Option<&str>) -> reqwest::Response {
    app.req(Method::GET, "/api/v1/logs", token)
        .query(&[("filter", filter), ("count", "true")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn filters_past_the_complexity_limits_are_refused_naming_the_limit() {
    // A generous budget: this test is about the caps, not the time (a busy machine).
    let app = logs(Duration::from_secs(60)).await;
    // The review's 4 KB filter of ~300 `~` terms.
    let attack = vec!["t ~ 'abc'"; 300].join("||");
    assert!(attack.len() <= 4096);
    let body = assert_problem(list(&app, &attack, None).await, 400, "invalid_filter").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("more than 8"), "{detail}");
    let many = vec!["t = 'a'"; 65].join(" || ");
    let body = assert_problem(list(&app, &many, None).await, 400, "invalid_filter").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("more than 64 conditions"), "{detail}");
    // At the limits the filter runs.
    let resp = list(&app, &costly_filter(), None).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_query_past_its_time_budget_is_stopped_with_503_and_retry_after() {
    // A budget far below what scanning 300k rows eight times takes, far above what
    // reading one record takes.
    let app = logs(Duration::from_millis(20)).await;
    let resp = list(&app, &costly_filter(), None).await;
    assert_eq!(resp.headers()["retry-after"], "2");
    let body = assert_problem(resp, 503, "query_timeout").await;
    assert!(body["detail"].is_null() || body["detail"].is_string());
    // The reader that ran it serves the next request as usual.
    let one = app
        .req(
            Method::GET,
            "/api/v1/logs/00000001-0000-7000-8000-000000000001",
            None,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    let page = app
        .req(Method::GET, "/api/v1/logs?limit=5", None)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn one_caller_gets_four_concurrent_lists_and_the_rest_429() {
    let app = logs(Duration::from_secs(30)).await;
    let filter = costly_filter();
    let requests = (0..8).map(|_| list(&app, &filter, None));
    let answers = futures_util::future::join_all(requests).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(ok + refused, 8, "{statuses:?}");
    assert!(ok <= 4, "at most four run at once: {statuses:?}");
    assert!(refused >= 4, "{statuses:?}");
    let refusal = answers.into_iter().find(|r| r.status() == 429).unwrap();
    assert_eq!(refusal.headers()["retry-after"], "1");
    let body = assert_problem(refusal, 429, "rate_limited").await;
    assert!(body["detail"].as_str().unwrap().contains("still running"));
    // Once they are done, the caller may list again.
    assert_eq!(list(&app, "t = 'x'", None).await.status(), 200);
}

#[tokio::test]
async fn a_slow_list_costs_its_caller_more_than_one_request() {
    let app = spawn_app_with(|c| {
        c.security.rate_limit = hearth::config::RateLimitConfig {
            per_second: 1,
            burst: 20,
        };
    })
    .await;
    fill_logs(&app).await;
    let remaining = |resp: &reqwest::Response| -> u32 {
        let field = resp.headers()["ratelimit"].to_str().unwrap().to_string();
        let r = field.split(';').find_map(|p| p.strip_prefix("r=")).unwrap();
        r.parse().unwrap()
    };
    let cheap = || app.req(Method::GET, "/api/v1/logs?limit=1", None).send();
    let first = cheap().await.unwrap();
    assert_eq!(first.status(), 200);
    let before = remaining(&first);
    // Eight full scans of 300k rows: hundreds of milliseconds, so several tokens.
    assert_eq!(list(&app, &costly_filter(), None).await.status(), 200);
    let after = cheap().await.unwrap();
    // Two cheap requests and one slow one later, more than three tokens are gone (a
    // refill of one a second cannot make up for it within this test).
    assert!(
        after.status() == 429 || remaining(&after) + 3 < before,
        "before {before}, after {:?}",
        after.headers().get("ratelimit")
    );
}
