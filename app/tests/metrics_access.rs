//! Issue 14 item 13: `/metrics` reveals collections (admin-only ones too), so it is not
//! public on the main listener: it needs the metrics token or an admin's token, or is
//! scraped on a separate `metrics_bind` listener.

mod common;

use common::{assert_problem, spawn_app_with, test_config};
use hearth::config::Secret;
use hearth::Application;

const TOKEN: &str = "scrape-me-0123456789";

async fn get(client: &reqwest::Client, url: String, token: Option<&str>) -> reqwest::Response {
    let mut req = client.get(url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn by_default_metrics_need_an_admin() {
    let app = spawn_app_with(|_| {}).await;
    let url = || app.url("/metrics");
    let resp = get(&app.client, url(), None).await;
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = get(&app.client, url(), Some("hth_not_a_token")).await;
    assert_problem(resp, 401, "unauthenticated").await;
    let (_, user) = app.user_token("reader@example.org", &[]).await;
    let resp = get(&app.client, url(), Some(&user)).await;
    assert_problem(resp, 403, "forbidden").await;
    let admin = app.admin_token().await;
    let resp = get(&app.client, url(), Some(&admin)).await;
    assert_eq!(resp.status(), 200);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("hearth_http_requests_total"));
}

#[tokio::test]
async fn the_metrics_token_opens_metrics_on_the_main_listener() {
    let app = spawn_app_with(|c| c.metrics_token = Some(Secret(TOKEN.into()))).await;
    let resp = get(&app.client, app.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(resp.status(), 200);
    let resp = get(
        &app.client,
        app.url("/metrics"),
        Some("scrape-me-012345678"),
    )
    .await;
    assert_problem(resp, 401, "unauthenticated").await;
    // Admins still may.
    let admin = app.admin_token().await;
    let resp = get(&app.client, app.url("/metrics"), Some(&admin)).await;
    assert_eq!(resp.status(), 200);
}

/// The application with a `metrics_bind` listener on a free port; (main, metrics) URLs.
async fn with_metrics_listener(
    token: Option<&str>,
) -> (
    String,
    String,
    tempfile::TempDir,
    tokio::sync::oneshot::Sender<()>,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    config.metrics_token = token.map(|t| Secret(t.into()));
    let app = Application::build(config).await.unwrap();
    let main = format!("http://{}", app.local_addr());
    let metrics = format!("http://{}", app.metrics_addr().expect("metrics listener"));
    assert_ne!(main, metrics);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    (main, metrics, dir, stop)
}

#[tokio::test]
async fn a_separate_metrics_listener_serves_only_metrics() {
    let client = reqwest::Client::new();
    let (main, metrics, _dir, _stop) = with_metrics_listener(None).await;
    let resp = get(&client, format!("{metrics}/metrics"), None).await;
    assert_eq!(resp.status(), 200, "open where the operator bound it");
    assert!(resp.text().await.unwrap().contains("hearth_db_writer_jobs"));
    for path in ["/api/v1/auth/me", "/admin", "/healthz", "/"] {
        let resp = get(&client, format!("{metrics}{path}"), None).await;
        assert_eq!(resp.status(), 404, "{path} on the metrics listener");
    }
    // The main listener still keeps it closed.
    let resp = get(&client, format!("{main}/metrics"), None).await;
    assert_problem(resp, 401, "unauthenticated").await;
}

#[tokio::test]
async fn with_a_token_the_metrics_listener_needs_it_too() {
    let client = reqwest::Client::new();
    let (_main, metrics, _dir, _stop) = with_metrics_listener(Some(TOKEN)).await;
    let resp = get(&client, format!("{metrics}/metrics"), None).await;
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = get(&client, format!("{metrics}/metrics"), Some(TOKEN)).await;
    assert_eq!(resp.status(), 200);
}
