//! Issue 7 / API.md 4: CORS origins and the rate limit are run-time settings. The
//! configuration gives the defaults; a value an admin stores (`PATCH /admin/settings`)
//! wins, applies from the next request on without a restart, and `null` returns to the
//! configured value.

mod common;

use common::{assert_problem, spawn_app_with, TestApp};
use hearth::config::{CorsConfig, RateLimitConfig};
use reqwest::{Method, Response};
use serde_json::{json, Value};

const SETTINGS: &str = "/api/v1/admin/settings";
const ME: &str = "/api/v1/auth/me";
const APP_ORIGIN: &str = "https://app.example.org";

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

async fn patch(app: &TestApp, token: &str, body: Value) -> Response {
    app.req(Method::PATCH, SETTINGS, Some(token))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn patch_ok(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = patch(app, token, body.clone()).await;
    assert_eq!(resp.status(), 200, "PATCH {body}");
    resp.json().await.unwrap()
}

async fn settings(app: &TestApp, token: &str) -> Value {
    let resp = app
        .req(Method::GET, SETTINGS, Some(token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// The policy anonymous callers get: the shared limit, which they follow unless an
/// audience limit of their own is set. (Admins are unthrottled by default; the token
/// only proves the caller is the test's admin.)
async fn policy(app: &TestApp, token: &str) -> Option<String> {
    let resp = app.req(Method::GET, ME, Some(token)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "ratelimit-policy"),
        None,
        "admins are unthrottled"
    );
    let resp = app.req(Method::GET, ME, None).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    header(&resp, "ratelimit-policy")
}

fn preflight(app: &TestApp, origin: &str) -> reqwest::RequestBuilder {
    app.client
        .request(Method::OPTIONS, app.url("/api/v1/collections"))
        .header("origin", origin)
        .header("access-control-request-method", "PATCH")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
}

fn cors_headers(resp: &Response) -> Vec<String> {
    resp.headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

/// The preflight was allowed (204 with the origin echoed).
async fn preflight_allowed(app: &TestApp, origin: &str) -> bool {
    let resp = preflight(app, origin).send().await.unwrap();
    if resp.status() == 204 {
        assert_eq!(
            header(&resp, "access-control-allow-origin").as_deref(),
            Some(origin)
        );
        true
    } else {
        assert!(cors_headers(&resp).is_empty(), "{:?}", cors_headers(&resp));
        assert!(resp.status().is_client_error());
        false
    }
}

/// The audit log's newest `settings.changed` event (audit writes happen off the request
/// path, so this waits for it).
/// The newest settings.changed event once its detail is `detail`. Audit events are
/// written on a task of their own after the response, so an earlier change's event
/// may still be the newest for a moment.
async fn settings_change_with(app: &TestApp, token: &str, detail: Value) -> Value {
    let page = app
        .get_json_until(
            "/api/v1/admin/audit?action=settings.changed&limit=1",
            Some(token),
            |page| page["items"][0]["detail"] == detail,
        )
        .await;
    page["items"][0].clone()
}

#[tokio::test]
async fn a_new_rate_limit_applies_to_the_next_request_and_null_returns_to_the_configuration() {
    // Configured: off (the tests' default).
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin_token().await;
    let s = settings(&app, &admin).await;
    assert_eq!(s["rate_limit_per_second"], 0);
    assert_eq!(s["sources"]["rate_limit_per_second"], "config");
    assert_eq!(s["sources"]["rate_limit_burst"], "config");
    assert_eq!(s["configured"]["rate_limit_per_second"], 0);
    assert_eq!(policy(&app, &admin).await, None, "off: no RateLimit fields");

    let s = patch_ok(
        &app,
        &admin,
        json!({"rate_limit_per_second": 2, "rate_limit_burst": 50}),
    )
    .await;
    assert_eq!(s["rate_limit_per_second"], 2);
    assert_eq!(s["rate_limit_burst"], 50);
    assert_eq!(s["sources"]["rate_limit_per_second"], "database");
    assert_eq!(s["sources"]["rate_limit_burst"], "database");
    assert_eq!(
        s["configured"]["rate_limit_per_second"], 0,
        "config unchanged"
    );
    assert_eq!(
        policy(&app, &admin).await.as_deref(),
        Some("\"anonymous\";q=50;w=25"),
        "no restart needed"
    );

    let event = settings_change_with(
        &app,
        &admin,
        json!({"rate_limit_per_second": 2, "rate_limit_burst": 50}),
    )
    .await;
    assert_eq!(event["actor_email"], common::ADMIN_EMAIL);

    // One value at a time; the other keeps its stored value.
    let s = patch_ok(&app, &admin, json!({"rate_limit_burst": 30})).await;
    assert_eq!(s["rate_limit_per_second"], 2);
    assert_eq!(
        policy(&app, &admin).await.as_deref(),
        Some("\"anonymous\";q=30;w=15")
    );

    // 0 turns limiting off even though a burst is stored.
    patch_ok(&app, &admin, json!({"rate_limit_per_second": 0})).await;
    assert_eq!(policy(&app, &admin).await, None);

    let s = patch_ok(
        &app,
        &admin,
        json!({"rate_limit_per_second": null, "rate_limit_burst": null}),
    )
    .await;
    assert_eq!(s["sources"]["rate_limit_per_second"], "config");
    assert_eq!(s["sources"]["rate_limit_burst"], "config");
    assert_eq!(
        policy(&app, &admin).await,
        None,
        "back to the configured off"
    );
    settings_change_with(
        &app,
        &admin,
        json!({"rate_limit_per_second": null, "rate_limit_burst": null}),
    )
    .await;
}

#[tokio::test]
async fn a_stored_rate_limit_wins_over_the_configuration_at_the_next_start() {
    let configured = RateLimitConfig {
        per_second: 100,
        burst: 200,
    };
    let app = spawn_app_with(|c| c.security.rate_limit = configured).await;
    let admin = app.admin_token().await;
    assert_eq!(
        policy(&app, &admin).await.as_deref(),
        Some("\"anonymous\";q=200;w=2")
    );
    patch_ok(&app, &admin, json!({"rate_limit_burst": 40})).await;
    assert_eq!(
        policy(&app, &admin).await.as_deref(),
        Some("\"anonymous\";q=40;w=1")
    );
    let data = app.stop().await;

    let dir = data.path().to_owned();
    let app = spawn_app_with(|c| {
        c.data_dir = dir;
        c.security.rate_limit = configured;
    })
    .await;
    let admin = app.login(common::ADMIN_EMAIL, common::ADMIN_PASSWORD).await;
    assert_eq!(
        policy(&app, &admin).await.as_deref(),
        Some("\"anonymous\";q=40;w=1"),
        "the database value, with the configured rate"
    );
    let s = settings(&app, &admin).await;
    assert_eq!(s["sources"]["rate_limit_burst"], "database");
    assert_eq!(s["sources"]["rate_limit_per_second"], "config");
    assert_eq!(s["configured"]["rate_limit_burst"], 200);
}

#[tokio::test]
async fn a_cors_origin_set_at_run_time_is_allowed_at_once_and_refused_once_cleared() {
    // Configured: no origins, so no CORS at all.
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin_token().await;
    assert!(!preflight_allowed(&app, APP_ORIGIN).await);
    let s = settings(&app, &admin).await;
    assert_eq!(s["cors_origins"], json!([]));
    assert_eq!(s["sources"]["cors_origins"], "config");

    let s = patch_ok(&app, &admin, json!({"cors_origins": [APP_ORIGIN]})).await;
    assert_eq!(s["cors_origins"], json!([APP_ORIGIN]));
    assert_eq!(s["sources"]["cors_origins"], "database");
    let resp = preflight(&app, APP_ORIGIN).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        header(&resp, "access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    // Methods and headers are still the configuration's.
    assert_eq!(
        header(&resp, "access-control-allow-methods").as_deref(),
        Some("GET, POST, PUT, PATCH, DELETE")
    );
    assert!(!preflight_allowed(&app, "https://evil.example.com").await);
    // Plain requests from it may read the answer too.
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&resp, "access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    settings_change_with(&app, &admin, json!({"cors_origins": [APP_ORIGIN]})).await;

    let s = patch_ok(&app, &admin, json!({"cors_origins": null})).await;
    assert_eq!(s["cors_origins"], json!([]));
    assert_eq!(s["sources"]["cors_origins"], "config");
    assert!(!preflight_allowed(&app, APP_ORIGIN).await, "cleared");
}

#[tokio::test]
async fn a_stored_empty_list_turns_configured_cors_off_until_cleared() {
    let app = spawn_app_with(|c| {
        c.security.cors = CorsConfig {
            origins: vec![APP_ORIGIN.into()],
            methods: vec!["GET".into(), "PATCH".into()],
            headers: vec!["authorization".into(), "content-type".into()],
            credentials: true,
        }
    })
    .await;
    let admin = app.admin_token().await;
    assert!(preflight_allowed(&app, APP_ORIGIN).await);
    let s = settings(&app, &admin).await;
    assert_eq!(s["cors_origins"], json!([APP_ORIGIN]));
    assert_eq!(s["configured"]["cors_origins"], json!([APP_ORIGIN]));

    patch_ok(&app, &admin, json!({"cors_origins": []})).await;
    assert!(!preflight_allowed(&app, APP_ORIGIN).await);

    // `*` with credentials is what the configuration refuses too.
    let resp = patch(&app, &admin, json!({"cors_origins": ["*"]})).await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "cors_origins[0]");

    // Trimmed and deduplicated as stored.
    let other = "http://localhost:3000";
    let s = patch_ok(
        &app,
        &admin,
        json!({"cors_origins": [format!(" {other} "), other, APP_ORIGIN]}),
    )
    .await;
    assert_eq!(s["cors_origins"], json!([other, APP_ORIGIN]));
    assert!(preflight_allowed(&app, other).await);

    patch_ok(&app, &admin, json!({"cors_origins": null})).await;
    assert!(preflight_allowed(&app, APP_ORIGIN).await);
    assert!(!preflight_allowed(&app, other).await);
}

#[tokio::test]
async fn invalid_values_are_refused_field_by_field_and_change_nothing() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin_token().await;
    let before = settings(&app, &admin).await;
    let resp = patch(
        &app,
        &admin,
        json!({
            "allow_signups": true,
            "cors_origins": ["https://ok.example.org", "app.example.org", "https://x.example.org/path"],
            "rate_limit_per_second": 100001,
            "rate_limit_burst": 0,
        }),
    )
    .await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    let errors: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(!e["message"].as_str().unwrap().is_empty());
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("cors_origins[1]", "invalid"),
        ("cors_origins[2]", "invalid"),
        ("rate_limit_per_second", "too_large"),
        ("rate_limit_burst", "too_small"),
    ]
    .map(|(f, c)| (f.to_owned(), c.to_owned()));
    assert_eq!(errors, expected);
    let resp = patch(
        &app,
        &admin,
        json!({"rate_limit_per_second": -1, "rate_limit_burst": 1000001}),
    )
    .await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "too_small");
    assert_eq!(body["errors"][1]["code"], "too_large");
    let many: Vec<String> = (0..101).map(|i| format!("https://h{i}.example")).collect();
    let resp = patch(&app, &admin, json!({ "cors_origins": many })).await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "cors_origins");
    assert_eq!(settings(&app, &admin).await, before, "nothing was stored");

    // Shapes the document does not allow are 400, as for every body.
    for bad in [
        json!({"rate_limit_per_second": "fast"}),
        json!({"cors_origins": "https://app.example.org"}),
        json!({"rate_limit": 5}),
    ] {
        let resp = patch(&app, &admin, bad.clone()).await;
        assert_problem(resp, 400, "invalid_json").await;
    }
}

#[tokio::test]
async fn only_admins_see_or_change_settings() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin_token().await;
    let (_, user) = app.user_token("user@example.org", &[]).await;
    let change =
        json!({"rate_limit_per_second": 1, "rate_limit_burst": 1, "cors_origins": [APP_ORIGIN]});
    let resp = app
        .req(Method::GET, SETTINGS, Some(&user))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "forbidden").await;
    assert_problem(patch(&app, &user, change.clone()).await, 403, "forbidden").await;
    let resp = app
        .req(Method::PATCH, SETTINGS, None)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    let s = settings(&app, &admin).await;
    assert_eq!(s["sources"]["rate_limit_per_second"], "config");
    assert_eq!(s["sources"]["cors_origins"], "config");
    assert_eq!(policy(&app, &admin).await, None, "still off");
    assert!(!preflight_allowed(&app, APP_ORIGIN).await);
}
