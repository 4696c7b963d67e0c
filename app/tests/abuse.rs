//! API.md section 5: rate limits per user, else per client address (with `X-Forwarded-For`
//! believed only from trusted proxies), the `RateLimit`/`RateLimit-Policy` fields, CORS
//! from the configuration, and the security headers on HTML. Changing the rate limit and
//! the CORS origins at run time is tested in `settings.rs`.

mod common;

use common::{assert_problem, spawn_app_with, TestApp};
use hearth::config::{Cidr, CorsConfig, RateLimitConfig};
use reqwest::{Method, Response};

const ME: &str = "/api/v1/auth/me";
const APP_ORIGIN: &str = "https://app.example.org";

/// Ten at once, then one a second: quick to exhaust, and a fresh bucket (r = 9 after one
/// request) cannot be mistaken for an exhausted one that refilled while the machine was
/// busy (that would take 9 s).
const BURST: u32 = 10;

fn tiny() -> RateLimitConfig {
    RateLimitConfig {
        per_second: 1,
        burst: BURST,
    }
}

/// The answer came from a bucket nobody had used.
fn fresh(resp: &Response) -> bool {
    resp.status() != 429 && remaining(resp) == BURST - 1
}

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// `r` of the `RateLimit` field, checking the whole field's shape on the way.
fn remaining(resp: &Response) -> u32 {
    let field = header(resp, "ratelimit").expect("RateLimit header");
    let (policy, params) = field
        .split_once(";r=")
        .unwrap_or_else(|| panic!("RateLimit: {field}"));
    assert!(
        ["\"anonymous\"", "\"user\"", "\"admin\"", "\"auth\""].contains(&policy),
        "RateLimit names its policy: {field}"
    );
    let (r, t) = params.split_once(";t=").expect("t parameter");
    t.parse::<u64>().expect("t is whole seconds");
    r.parse().unwrap()
}

fn reset(resp: &Response) -> u64 {
    let field = header(resp, "ratelimit").unwrap();
    field.rsplit_once(";t=").unwrap().1.parse().unwrap()
}

/// A user's access token, issued in-process so no login request spends the test's quota.
async fn token_for(app: &TestApp, email: &str) -> String {
    app.auth
        .create_user(email, "user password 1", &[])
        .await
        .unwrap();
    app.auth
        .login(email, "user password 1", &auth::Ctx::default())
        .await
        .unwrap()
        .access_token
}

async fn me(app: &TestApp, token: Option<&str>, forwarded_for: Option<&str>) -> Response {
    let mut req = app.req(Method::GET, ME, token);
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.unwrap()
}

/// Sends until refused; returns the `r` of every accepted answer and the refusal.
async fn exhaust(
    app: &TestApp,
    token: Option<&str>,
    forwarded_for: Option<&str>,
) -> (Vec<u32>, Response) {
    let mut seen = Vec::new();
    for _ in 0..50 {
        let resp = me(app, token, forwarded_for).await;
        if resp.status() == 429 {
            return (seen, resp);
        }
        seen.push(remaining(&resp));
    }
    panic!("never rate limited; remaining went {seen:?}");
}

#[tokio::test]
async fn exhausted_bucket_gets_429_rate_limited_with_retry_after_and_ratelimit_fields() {
    let app = spawn_app_with(|c| c.security.rate_limit = tiny()).await;
    let first = me(&app, None, None).await;
    // Anonymous /auth/me is a 401; rate limiting still counts it and says so.
    assert_eq!(first.status(), 401);
    let policy = "\"anonymous\";q=10;w=10";
    assert_eq!(header(&first, "ratelimit-policy").as_deref(), Some(policy));
    assert_eq!(
        remaining(&first),
        BURST - 1,
        "a fresh bucket after one request"
    );
    assert!(reset(&first) >= 1);

    let (seen, refused) = exhaust(&app, None, None).await;
    // Time only adds quota, so the answer right before a refusal had none left.
    assert_eq!(seen.last(), Some(&0), "{seen:?}");
    assert!(seen.len() >= BURST as usize - 1, "{seen:?}");
    assert_eq!(
        header(&refused, "ratelimit-policy").as_deref(),
        Some(policy)
    );
    assert_eq!(remaining(&refused), 0);
    let retry_after: u64 = header(&refused, "retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert!(reset(&refused) >= retry_after);
    let body = assert_problem(refused, 429, "rate_limited").await;
    assert_eq!(body["instance"], ME);
}

#[tokio::test]
async fn health_and_docs_are_not_rate_limited() {
    let app = spawn_app_with(|c| c.security.rate_limit = tiny()).await;
    for _ in 0..6 {
        let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(header(&resp, "ratelimit").is_none());
    }
}

#[tokio::test]
async fn buckets_are_per_user_and_per_client_address() {
    let app = spawn_app_with(|c| {
        c.security.rate_limit = tiny();
        // The test client is the proxy, so X-Forwarded-For names other clients.
        c.security.trusted_proxies = vec![Cidr::parse("127.0.0.1").unwrap()];
    })
    .await;
    let alice = token_for(&app, "alice@example.org").await;
    let bob = token_for(&app, "bob@example.org").await;

    let (_, refused) = exhaust(&app, Some(&alice), None).await;
    assert_problem(refused, 429, "rate_limited").await;
    // The user's bucket follows the token, whatever address it comes from.
    let resp = me(&app, Some(&alice), Some("198.51.100.20")).await;
    assert!(
        !fresh(&resp),
        "alice got another bucket from another address"
    );

    let resp = me(&app, Some(&bob), None).await;
    assert_eq!(resp.status(), 200);
    assert!(fresh(&resp), "bob has his own bucket");

    // Anonymous callers: one bucket per client address.
    let resp = me(&app, None, Some("203.0.113.7")).await;
    assert!(fresh(&resp));
    let (_, refused) = exhaust(&app, None, Some("203.0.113.7")).await;
    assert_problem(refused, 429, "rate_limited").await;
    let resp = me(&app, None, Some("203.0.113.8")).await;
    assert_eq!(resp.status(), 401);
    assert!(fresh(&resp), "another client, another bucket");
    // A client cannot choose its address by prepending to the header: the entry the
    // trusted proxy (here: the test) appended is the one used.
    let resp = me(&app, None, Some("203.0.113.99, 203.0.113.7")).await;
    assert!(!fresh(&resp));
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    // No trusted proxies (the default): the header is never believed.
    let app = spawn_app_with(|c| c.security.rate_limit = tiny()).await;
    let (_, refused) = exhaust(&app, None, Some("203.0.113.7")).await;
    assert_problem(refused, 429, "rate_limited").await;
    for spoofed in ["203.0.113.8", "10.9.8.7", "garbage"] {
        let resp = me(&app, None, Some(spoofed)).await;
        assert!(!fresh(&resp), "spoofing {spoofed} gave a fresh bucket");
    }
}

#[tokio::test]
async fn no_rate_limit_when_turned_off() {
    let app = spawn_app_with(|c| c.security.rate_limit = RateLimitConfig::OFF).await;
    for _ in 0..8 {
        let resp = me(&app, None, None).await;
        assert_eq!(resp.status(), 401);
        assert!(header(&resp, "ratelimit").is_none());
        assert!(header(&resp, "ratelimit-policy").is_none());
    }
}

fn cors_config() -> CorsConfig {
    CorsConfig {
        origins: vec![APP_ORIGIN.into()],
        methods: ["GET", "POST", "PATCH", "DELETE"]
            .map(String::from)
            .to_vec(),
        headers: ["authorization", "content-type", "if-match"]
            .map(String::from)
            .to_vec(),
        credentials: true,
    }
}

fn preflight(app: &TestApp, origin: &str, method: &str, headers: &str) -> reqwest::RequestBuilder {
    app.client
        .request(Method::OPTIONS, app.url("/api/v1/collections"))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
}

fn cors_headers(resp: &Response) -> Vec<String> {
    resp.headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

#[tokio::test]
async fn preflight_from_an_allowed_origin_is_answered() {
    let app = spawn_app_with(|c| c.security.cors = cors_config()).await;
    let resp = preflight(&app, APP_ORIGIN, "PATCH", "authorization, content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let get = |name| header(&resp, name).unwrap_or_default();
    assert_eq!(get("access-control-allow-origin"), APP_ORIGIN);
    assert_eq!(
        get("access-control-allow-methods"),
        "GET, POST, PATCH, DELETE"
    );
    assert_eq!(
        get("access-control-allow-headers"),
        "authorization, content-type, if-match"
    );
    assert_eq!(get("access-control-allow-credentials"), "true");
    assert_eq!(get("access-control-max-age"), "600");
    assert!(get("vary").contains("Origin"));
}

#[tokio::test]
async fn preflight_from_another_origin_or_for_more_gets_no_cors_headers() {
    let app = spawn_app_with(|c| c.security.cors = cors_config()).await;
    let cases = [
        ("https://evil.example.com", "PATCH", "authorization"),
        // Near misses of the allowed origin.
        ("http://app.example.org", "GET", "authorization"),
        ("https://app.example.org:8443", "GET", "authorization"),
        // Allowed origin, but a method or header that was not configured.
        (APP_ORIGIN, "PUT", "authorization"),
        (APP_ORIGIN, "PATCH", "authorization, x-secret"),
    ];
    for (origin, method, headers) in cases {
        let resp = preflight(&app, origin, method, headers)
            .send()
            .await
            .unwrap();
        assert!(
            cors_headers(&resp).is_empty(),
            "{origin} {method} {headers}: {:?}",
            cors_headers(&resp)
        );
        assert_problem(resp, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn requests_from_an_allowed_origin_may_read_the_response() {
    let app = spawn_app_with(|c| {
        c.security.cors = cors_config();
        c.security.rate_limit = tiny();
    })
    .await;
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    assert_eq!(
        header(&resp, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    let exposed = header(&resp, "access-control-expose-headers").unwrap();
    for name in [
        "ETag",
        "Location",
        "Link",
        "X-Request-Id",
        "Retry-After",
        "RateLimit",
        "RateLimit-Policy",
    ] {
        assert!(
            exposed.split(", ").any(|e| e == name),
            "{name} in {exposed}"
        );
    }
    assert!(header(&resp, "vary").unwrap().contains("Origin"));

    // Refusals too, so a page can read Retry-After.
    let mut last = None;
    for _ in 0..50 {
        let resp = app
            .client
            .get(app.url(ME))
            .header("origin", APP_ORIGIN)
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            last = Some(resp);
            break;
        }
    }
    let refused = last.expect("rate limited");
    assert_eq!(
        header(&refused, "access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    assert_problem(refused, 429, "rate_limited").await;
}

#[tokio::test]
async fn requests_from_other_origins_are_served_without_cors_headers() {
    let app = spawn_app_with(|c| c.security.cors = cors_config()).await;
    // Browsers send Origin on same-origin POSTs too: those must work, just without CORS.
    let same_origin = format!("http://{}", app.addr);
    for origin in ["https://evil.example.com", same_origin.as_str()] {
        let resp = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("origin", origin)
            .json(&serde_json::json!({"email": "nobody@example.org", "password": "wrong password"}))
            .send()
            .await
            .unwrap();
        assert!(cors_headers(&resp).is_empty(), "{origin}");
        assert_problem(resp, 401, "unauthenticated").await;
    }
}

#[tokio::test]
async fn without_cors_configuration_no_cors_header_is_ever_sent() {
    let app = spawn_app_with(|_| {}).await;
    let resp = preflight(&app, APP_ORIGIN, "PATCH", "authorization")
        .send()
        .await
        .unwrap();
    assert!(cors_headers(&resp).is_empty(), "{:?}", cors_headers(&resp));
    assert_ne!(resp.status(), 204);
    assert!(resp.status().is_client_error());
    for path in ["/healthz", ME, "/api/docs"] {
        let resp = app
            .client
            .get(app.url(path))
            .header("origin", APP_ORIGIN)
            .send()
            .await
            .unwrap();
        assert!(
            cors_headers(&resp).is_empty(),
            "{path}: {:?}",
            cors_headers(&resp)
        );
    }
}

#[tokio::test]
async fn html_pages_carry_isolation_and_permissions_headers() {
    let app = spawn_app_with(|_| {}).await;
    let resp = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(
        header(&resp, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        header(&resp, "cross-origin-opener-policy").as_deref(),
        Some("same-origin")
    );
    let permissions = header(&resp, "permissions-policy").unwrap();
    assert!(permissions.contains("camera=()"), "{permissions}");
    let csp = header(&resp, "content-security-policy").unwrap();
    let scripts = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert_eq!(scripts, "script-src 'self'", "no inline script");
    // JSON answers get the general set, not the page-only one.
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(
        header(&resp, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert!(header(&resp, "cross-origin-opener-policy").is_none());
}
