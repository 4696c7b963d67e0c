//! Issue 14: rate limits by audience. Anonymous callers (per address), signed-in users
//! (per user), admins (unthrottled by default) and the auth endpoints (per address,
//! stricter) each have their own limit, named in `RateLimit-Policy`, configurable and
//! changeable at run time (API and dashboard).

mod common;

use common::{assert_problem, spawn_app_with, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use hearth::config::RateLimitConfig;
use reqwest::{Method, Response};
use serde_json::{json, Value};

const ME: &str = "/api/v1/auth/me";
const SETTINGS: &str = "/api/v1/admin/settings";

fn limit(per_second: u32, burst: u32) -> RateLimitConfig {
    RateLimitConfig { per_second, burst }
}

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// The policy a `RateLimit-Policy` field names (`"user";q=…` → `user`).
fn policy_name(resp: &Response) -> Option<String> {
    let field = header(resp, "ratelimit-policy")?;
    let name = field
        .split(';')
        .next()
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let state = header(resp, "ratelimit").expect("RateLimit with RateLimit-Policy");
    assert!(state.starts_with(&format!("\"{name}\";r=")), "{state}");
    Some(name)
}

async fn send(app: &TestApp, method: Method, path: &str, token: Option<&str>) -> Response {
    app.req(method, path, token).send().await.unwrap()
}

/// Sends `GET path` up to `n` times; the first refusal, if any, and how many were served.
async fn until_refused(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    n: usize,
) -> (usize, Option<Response>) {
    for served in 0..n {
        let resp = send(app, Method::GET, path, token).await;
        if resp.status() == 429 {
            return (served, Some(resp));
        }
    }
    (n, None)
}

async fn user_token(app: &TestApp) -> String {
    app.auth
        .create_user("user@example.org", "user password 1", &[])
        .await
        .unwrap();
    app.auth
        .login("user@example.org", "user password 1", &auth::Ctx::default())
        .await
        .unwrap()
        .access_token
}

async fn admin_token(app: &TestApp) -> String {
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    app.auth
        .login(ADMIN_EMAIL, ADMIN_PASSWORD, &auth::Ctx::default())
        .await
        .unwrap()
        .access_token
}

#[tokio::test]
async fn with_the_default_limits_an_admin_bulk_import_is_never_throttled() {
    // The shipped defaults for every audience, only the shared limit made small.
    let defaults = hearth::Config::for_data_dir("unused").security;
    assert_eq!(defaults.rate_limit, limit(100, 200));
    let app = spawn_app_with(|c| {
        c.security.rate_limit = limit(1, 10);
        c.security.rate_limit_audiences = defaults.rate_limit_audiences;
    })
    .await;
    let admin = admin_token(&app).await;
    for i in 0..300 {
        let resp = send(&app, Method::GET, ME, Some(&admin)).await;
        assert_eq!(resp.status(), 200, "request {i}");
        assert_eq!(header(&resp, "ratelimit-policy"), None, "unthrottled");
    }
    // The same shared limit holds anonymous callers and users to 10 at once.
    let (served, refused) = until_refused(&app, ME, None, 50).await;
    let refused = refused.expect("anonymous callers are limited");
    assert!(served <= 10, "{served}");
    assert_eq!(policy_name(&refused).as_deref(), Some("anonymous"));
    assert!(header(&refused, "retry-after").is_some());
    assert_problem(refused, 429, "rate_limited").await;
    let user = user_token(&app).await;
    let first = send(&app, Method::GET, ME, Some(&user)).await;
    assert_eq!(policy_name(&first).as_deref(), Some("user"), "own bucket");
    let (_, refused) = until_refused(&app, ME, Some(&user), 50).await;
    let refused = refused.expect("users are limited");
    assert_eq!(policy_name(&refused).as_deref(), Some("user"));
}

#[tokio::test]
async fn each_audience_gets_its_own_configured_limit() {
    let app = spawn_app_with(|c| {
        c.security.rate_limit = limit(1, 50);
        let a = &mut c.security.rate_limit_audiences;
        a.set(auth::Audience::Anonymous, auth::ConfiguredLimit::new(1, 3));
        a.set(auth::Audience::Admin, auth::ConfiguredLimit::new(1, 5));
        // The user audience keeps following the shared limit.
        a.set(auth::Audience::User, auth::ConfiguredLimit::SHARED);
    })
    .await;
    let (served, _) = until_refused(&app, ME, None, 20).await;
    assert_eq!(served, 3, "anonymous: burst 3");
    let admin = admin_token(&app).await;
    let first = send(&app, Method::GET, ME, Some(&admin)).await;
    assert_eq!(
        header(&first, "ratelimit-policy").unwrap(),
        "\"admin\";q=5;w=5"
    );
    let (served, refused) = until_refused(&app, ME, Some(&admin), 20).await;
    assert_eq!(served, 4, "admin: burst 5, one used");
    assert_eq!(policy_name(&refused.unwrap()).as_deref(), Some("admin"));
    let user = user_token(&app).await;
    let first = send(&app, Method::GET, ME, Some(&user)).await;
    assert_eq!(
        header(&first, "ratelimit-policy").unwrap(),
        "\"user\";q=50;w=50"
    );
}

#[tokio::test]
async fn the_auth_endpoints_have_a_stricter_limit_per_address() {
    let app = spawn_app_with(|c| {
        c.security.rate_limit = limit(100, 200);
        c.security
            .rate_limit_audiences
            .set(auth::Audience::Auth, auth::ConfiguredLimit::new(1, 3));
    })
    .await;
    let login = |password: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "nobody@example.org", "password": password}))
            .send()
    };
    for i in 0..3 {
        let resp = login("wrong password").await.unwrap();
        assert_eq!(resp.status(), 401, "attempt {i}");
        assert_eq!(policy_name(&resp).as_deref(), Some("auth"));
    }
    let refused = login("wrong password").await.unwrap();
    assert_eq!(policy_name(&refused).as_deref(), Some("auth"));
    assert_problem(refused, 429, "rate_limited").await;
    // Refresh and register share the address's auth bucket.
    let resp = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": "hth_nope"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 429, "rate_limited").await;
    // Other endpoints are not held back by it.
    let resp = send(&app, Method::GET, ME, None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(policy_name(&resp).as_deref(), Some("anonymous"));
    // Nor is the dashboard's login page, but its form is.
    let resp = app
        .client
        .get(app.url("/admin/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .client
        .post(app.url("/admin/login"))
        .form(&[("email", "x@example.org"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(policy_name(&resp).as_deref(), Some("auth"));
}

async fn patch(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app
        .req(Method::PATCH, SETTINGS, Some(token))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "PATCH {body}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn an_admin_changes_an_audience_limit_at_run_time_and_null_returns_to_the_configuration() {
    let app = spawn_app_with(|c| c.security.rate_limit = limit(100, 200)).await;
    let admin = admin_token(&app).await;
    let s = app.get_json(SETTINGS, Some(&admin)).await;
    assert_eq!(s["rate_limit_admin_per_second"], 0);
    assert_eq!(s["sources"]["rate_limit_admin_per_second"], "config");
    assert_eq!(s["rate_limit_anonymous_burst"], 200);
    assert_eq!(s["sources"]["rate_limit_anonymous_burst"], "shared");
    assert_eq!(s["configured"]["rate_limit_anonymous_burst"], Value::Null);

    let s = patch(
        &app,
        &admin,
        json!({"rate_limit_admin_per_second": 1, "rate_limit_admin_burst": 4}),
    )
    .await;
    assert_eq!(s["sources"]["rate_limit_admin_burst"], "database");
    let (served, refused) = until_refused(&app, ME, Some(&admin), 20).await;
    assert_eq!(served, 4, "burst 4 (the PATCH came in unthrottled)");
    assert_eq!(policy_name(&refused.unwrap()).as_deref(), Some("admin"));

    // Out of range: refused by field, nothing stored.
    let resp = app
        .req(Method::PATCH, SETTINGS, Some(&admin))
        .json(&json!({"rate_limit_user_burst": 0}))
        .send()
        .await
        .unwrap();
    // The admin is throttled now; wait for a token.
    let resp = if resp.status() == 429 {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        app.req(Method::PATCH, SETTINGS, Some(&admin))
            .json(&json!({"rate_limit_user_burst": 0}))
            .send()
            .await
            .unwrap()
    } else {
        resp
    };
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "rate_limit_user_burst");

    // Back to the configuration, in process (the admin's bucket is empty).
    let admin_principal =
        kernel::AdminWriter::check(app.auth.authenticate(&admin).await.unwrap()).unwrap();
    let update = auth::SettingsUpdate {
        audience_limits: [
            ("rate_limit_admin_per_second", None),
            ("rate_limit_admin_burst", None),
        ]
        .into(),
        ..Default::default()
    };
    app.auth
        .update_settings(&admin_principal, update, &auth::Ctx::default())
        .await
        .unwrap();
    let resp = send(&app, Method::GET, ME, Some(&admin)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "ratelimit-policy"), None, "unthrottled again");
}

#[tokio::test]
async fn the_settings_page_shows_and_changes_every_audience() {
    let app = spawn_app_with(|c| c.security.rate_limit = limit(100, 200)).await;
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let csrf = |html: &str| {
        let at = html.find("name=\"csrf\" value=\"").expect("csrf input") + 19;
        html[at..at + html[at..].find('"').unwrap()].to_owned()
    };
    let page = browser.get(app.url("/admin/login")).send().await.unwrap();
    let token = csrf(&page.text().await.unwrap());
    let resp = browser
        .post(app.url("/admin/login"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let html = browser
        .get(app.url("/admin/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for audience in ["anonymous", "user", "admin", "auth"] {
        for kind in ["per_second", "burst"] {
            let name = format!("name=\"rate_limit_{audience}_{kind}\"");
            assert!(html.contains(&name), "{name} on the page");
        }
    }
    assert!(html.contains("follows the shared limit"));
    let token = csrf(&html);
    let resp = browser
        .post(app.url("/admin/settings"))
        .form(&[
            ("csrf", token.as_str()),
            ("rate_limit_auth_per_second", "3"),
            ("rate_limit_auth_burst", "7"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let s = app.auth.settings().await.unwrap();
    let auth_limit = s.rate_limits.get(auth::Audience::Auth);
    assert_eq!(
        (auth_limit.per_second.value, auth_limit.burst.value),
        (3, 7)
    );
    assert!(auth_limit.burst.is_stored());
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "x@example.org", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&resp, "ratelimit-policy").as_deref(),
        Some("\"auth\";q=7;w=3")
    );
}
