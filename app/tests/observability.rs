//! API.md section 7 (observability): `/metrics` with route templates and its token,
//! `/api/v1/admin/stats`, the access log (one event per request) and the rule that no
//! secret ever reaches the log.
//!
//! The log of this test binary goes, as JSON lines, into one buffer shared by its tests
//! (the subscriber is global); each test finds its own events by request id.

mod common;

use common::{assert_problem, spawn_app, spawn_app_with, TestApp};
use hearth::config::{CorsConfig, LogFormat, RateLimitConfig, Secret};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Installs (once) the production JSON log layer writing into a buffer, with every
/// Hearth crate at `trace`, and returns the buffer.
fn log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let filter = EnvFilter::new(
            "info,hearth=trace,hearth_auth=trace,hearth_kernel=trace,hearth_storage=trace,\
             hearth_resources=trace,hearth_observability=trace,poem=trace",
        );
        let layer =
            hearth::logging::log_layer(LogFormat::Json, filter, false, Capture(buffer.clone()));
        tracing_subscriber::registry()
            .with(layer)
            .try_init()
            .expect("the capturing subscriber is the first one in this test binary");
        buffer
    })
    .clone()
}

fn log_text() -> String {
    String::from_utf8_lossy(&log().lock().unwrap()).into_owned()
}

/// Every JSON event logged so far.
fn events() -> Vec<Value> {
    log_text()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn access_events(request_id: &str) -> Vec<Value> {
    events()
        .into_iter()
        .filter(|e| e["target"] == "hearth::access" && e["request_id"] == request_id)
        .collect()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", kernel::ids::new_id())
}

/// An admin's access token, issued in process: `/metrics` is for admins (or the metrics
/// token). The account is created on first use.
async fn scraper_token(app: &TestApp) -> String {
    const EMAIL: &str = "scraper@example.org";
    const PASSWORD: &str = "scraper password 1";
    let _ = app.auth.create_admin(EMAIL, PASSWORD).await;
    app.auth
        .login(EMAIL, PASSWORD, &auth::Ctx::default())
        .await
        .unwrap()
        .access_token
}

async fn metrics(app: &TestApp) -> String {
    let token = scraper_token(app).await;
    let resp = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    resp.text().await.unwrap()
}

/// The value of the sample line that starts with `series` (name and labels, exactly).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

async fn with_posts() -> (TestApp, String, String) {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "posts", "fields": [{"name": "title", "type": "text"}],
                   "rules": {"list": ["public"], "view": ["public"], "create": ["authenticated"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let record: Value = app
        .req(Method::POST, "/api/v1/posts", Some(&admin))
        .json(&json!({"title": "hello"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = record["id"].as_str().unwrap().to_string();
    (app, admin, id)
}

#[tokio::test]
async fn metrics_label_requests_by_route_template_never_by_raw_path() {
    log();
    let (app, _admin, id) = with_posts().await;
    for _ in 0..2 {
        let resp = app
            .req(Method::GET, &format!("/api/v1/posts/{id}"), None)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let resp = app
        .client
        .get(app.url("/no/such/page/123"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = app
        .req(Method::GET, "/api/v1/auth/me", Some("hth_not_a_real_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    let text = metrics(&app).await;
    assert_eq!(
        sample(
            &text,
            r#"hearth_http_requests_total{method="GET",route="/api/v1/{collection}/{id}",status="200"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert!(!text.contains(&id), "a record id became a label");
    assert!(!text.contains("/no/such/page"), "a raw path became a label");
    assert_eq!(
        sample(
            &text,
            r#"hearth_http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"hearth_http_auth_failures_total{route="/api/v1/auth/me"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"hearth_http_requests_total{method="POST",route="/api/v1/auth/login",status="200"}"#
        ),
        Some(1.0),
        "poem-openapi operations are labelled by their path template"
    );
    assert!(text.contains(
        r#"hearth_http_request_duration_seconds_bucket{method="GET",route="/api/v1/{collection}/{id}",status_class="2xx",le="0.001"}"#
    ));
    // The scrape itself is in flight while it renders.
    assert_eq!(sample(&text, "hearth_http_requests_in_flight"), Some(1.0));
    assert_eq!(
        sample(&text, r#"hearth_collection_records{collection="posts"}"#),
        Some(1.0)
    );
    for series in [
        "hearth_db_writer_queue_depth",
        "hearth_db_writer_jobs_total",
        "hearth_db_writer_batches_total",
        "hearth_db_size_bytes",
        "hearth_db_wal_size_bytes",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
        "hearth_uptime_seconds",
    ] {
        assert!(sample(&text, series).is_some(), "{series} missing:\n{text}");
    }
    assert!(sample(&text, "hearth_db_size_bytes").unwrap() > 0.0);
    for histogram in [
        "hearth_db_batch_size",
        "hearth_db_transaction_duration_seconds",
        "hearth_db_read_wait_seconds",
    ] {
        let count = sample(&text, &format!("{histogram}_count")).unwrap();
        assert!(count > 0.0, "{histogram} observed nothing");
    }
    assert!(text.contains(&format!(
        "hearth_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    )));
}

#[tokio::test]
async fn rate_limited_answers_are_counted() {
    log();
    let app = spawn_app_with(|c| {
        c.security.rate_limit = RateLimitConfig {
            per_second: 1,
            burst: 2,
        }
    })
    .await;
    let mut limited = 0;
    for _ in 0..4 {
        let resp = app
            .client
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .unwrap();
        limited += u32::from(resp.status() == 429);
    }
    assert!(limited >= 1);
    let text = metrics(&app).await;
    assert_eq!(
        sample(
            &text,
            r#"hearth_http_rate_limited_total{route="/api/v1/auth/me"}"#
        ),
        Some(f64::from(limited)),
        "{text}"
    );
}

#[tokio::test]
async fn cors_preflights_are_labelled_preflight() {
    log();
    let app = spawn_app_with(|c| {
        c.security.cors = CorsConfig {
            origins: vec!["https://app.example.org".into()],
            methods: vec!["GET".into()],
            headers: vec![],
            credentials: false,
        }
    })
    .await;
    let resp = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/posts/123"))
        .header("origin", "https://app.example.org")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let text = metrics(&app).await;
    assert_eq!(
        sample(
            &text,
            r#"hearth_http_requests_total{method="OPTIONS",route="preflight",status="204"}"#
        ),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn the_metrics_token_guards_metrics() {
    log();
    let app =
        spawn_app_with(|c| c.metrics_token = Some(Secret("scrape-me-0123456789".into()))).await;
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-012345678")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert_eq!(
        sample(
            &text,
            r#"hearth_http_auth_failures_total{route="/metrics"}"#
        ),
        Some(2.0)
    );
}

#[tokio::test]
async fn stats_are_for_admins_and_have_one_bucket_per_minute() {
    log();
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (_, user) = app.user_token("reader@example.org", &[]).await;
    for _ in 0..3 {
        app.client.get(app.url("/healthz")).send().await.unwrap();
    }
    app.client.get(app.url("/nowhere")).send().await.unwrap();

    let resp = app
        .req(Method::GET, "/api/v1/admin/stats", None)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = app
        .req(Method::GET, "/api/v1/admin/stats", Some(&user))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "forbidden").await;
    let resp = app
        .req(Method::GET, "/api/v1/admin/stats?window=7d", Some(&admin))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_query").await;

    let stats: Value = app.get_json("/api/v1/admin/stats", Some(&admin)).await;
    assert_eq!(stats["window"], "1h");
    assert_eq!(stats["step_seconds"], 60);
    let series = &stats["series"];
    for key in [
        "requests",
        "errors_4xx",
        "errors_5xx",
        "p50_ms",
        "p95_ms",
        "p99_ms",
    ] {
        assert_eq!(series[key].as_array().unwrap().len(), 60, "{key}");
    }
    let totals = &stats["totals"];
    // Logins, the user's creation, 3 health checks, the 404 and the refused stats calls
    // (the minute may have turned between them, so at least what this test sent).
    assert!(totals["requests"].as_u64().unwrap() >= 8, "{totals}");
    assert!(totals["errors_4xx"].as_u64().unwrap() >= 4, "{totals}");
    assert!(totals["p50_ms"].as_f64().is_some());
    let routes = stats["routes"].as_array().unwrap();
    let healthz = routes.iter().find(|r| r["route"] == "/healthz").unwrap();
    assert_eq!(healthz["totals"]["requests"], 3);
    assert_eq!(healthz["series"]["requests"].as_array().unwrap().len(), 60);
    assert!(routes.iter().any(|r| r["route"] == "unmatched"));
    assert!(routes
        .iter()
        .all(|r| !r["route"].as_str().unwrap().contains("nowhere")));

    let day: Value = app
        .get_json("/api/v1/admin/stats?window=24h", Some(&admin))
        .await;
    assert_eq!(day["window"], "24h");
    assert_eq!(day["series"]["requests"].as_array().unwrap().len(), 1440);

    // It is in the OpenAPI document, with its response schema.
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["paths"]["/admin/stats"]["get"]["operationId"],
        "request_stats"
    );
    assert!(doc["components"]["schemas"]["Stats"].is_object());
    assert_eq!(
        doc["components"]["schemas"]["StatsSeries"]["properties"]["p95_ms"]["items"]["nullable"],
        true,
        "idle minutes have null percentiles"
    );
}

#[tokio::test]
async fn the_access_log_has_one_event_per_request_with_its_route_template() {
    log();
    let (app, admin, id) = with_posts().await;
    let get_id = unique("get");
    let resp = app
        .req(Method::GET, &format!("/api/v1/posts/{id}"), Some(&admin))
        .header("x-request-id", &get_id)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body_len = resp.bytes().await.unwrap().len();
    let missing_id = unique("missing");
    let resp = app
        .client
        .get(app.url("/api/v1/posts/0000/extra"))
        .header("x-request-id", &missing_id)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    let found = access_events(&get_id);
    assert_eq!(found.len(), 1, "{found:?}");
    let e = &found[0];
    assert_eq!(e["level"], "INFO");
    assert_eq!(e["method"], "GET");
    assert_eq!(e["route"], "/api/v1/{collection}/{id}");
    assert_eq!(e["collection"], "posts");
    assert_eq!(e["status"], 200);
    assert_eq!(e["bytes"], body_len);
    assert_eq!(e["client_ip"], "127.0.0.1");
    assert!(e["latency_ms"].as_f64().unwrap() >= 0.0);
    let me: Value = app.get_json("/api/v1/auth/me", Some(&admin)).await;
    assert_eq!(e["user_id"], me["id"]);
    assert!(
        !e.to_string().contains(&id),
        "the record id is in the access log: {e}"
    );

    let found = access_events(&missing_id);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["route"], "unmatched");
    assert_eq!(found[0]["status"], 404);
    assert!(found[0].get("user_id").is_none());

    // Events logged while serving a request carry its id (in the `request` span).
    let create_id = unique("create");
    let resp = app
        .req(Method::POST, "/api/v1/collections", Some(&admin))
        .header("x-request-id", &create_id)
        .json(&json!({"name": "notes", "fields": [{"name": "text", "type": "text"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let in_request = |e: &Value| {
        e["spans"].as_array().is_some_and(|spans| {
            spans
                .iter()
                .any(|s| s["name"] == "request" && s["request_id"] == create_id.as_str())
        })
    };
    let created: Vec<Value> = events()
        .into_iter()
        .filter(|e| e["message"] == "collection created" && e["collection"] == "notes")
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(in_request(&created[0]), "{}", created[0]);
    assert_eq!(access_events(&create_id).len(), 1);
}

#[tokio::test]
async fn no_secret_reaches_the_log() {
    log();
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let password = "a very secret password 42";
    app.auth
        .create_user("secretive@example.org", password, &[])
        .await
        .unwrap();
    let ids = [
        unique("login"),
        unique("me"),
        unique("failed"),
        unique("refresh"),
    ];
    let login: Value = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-request-id", &ids[0])
        .json(&json!({"email": "secretive@example.org", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = login["access_token"].as_str().unwrap().to_string();
    let refresh = login["refresh_token"].as_str().unwrap().to_string();
    let resp = app
        .req(Method::GET, "/api/v1/auth/me", Some(&access))
        .header("x-request-id", &ids[1])
        .header("cookie", "session=cookie-secret-value")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let wrong = "not the password at all";
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-request-id", &ids[2])
        .json(&json!({"email": "secretive@example.org", "password": wrong}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("x-request-id", &ids[3])
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    for id in &ids {
        assert_eq!(access_events(id).len(), 1, "no access event for {id}");
    }
    let text = log_text();
    for (what, secret) in [
        ("password", password),
        ("wrong password", wrong),
        ("admin password", common::ADMIN_PASSWORD),
        ("access token", access.as_str()),
        ("refresh token", refresh.as_str()),
        ("admin token", admin.as_str()),
        ("Authorization header", &format!("Bearer {access}")),
        ("cookie", "cookie-secret-value"),
    ] {
        assert!(!text.contains(secret), "the {what} is in the log");
    }
}
