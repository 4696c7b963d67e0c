//! `spawn_app()`: the real server, built by `Application::build`, on 127.0.0.1 with a
//! free port and a fresh data directory; it stops when the test drops it.
#![allow(dead_code)]

pub mod binary;
pub mod posts;

use hearth::{Application, Config};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    pub auth: auth::AuthService,
    pub db: storage::Db,
    pub resources: resources::Resources,
    pub feed: feed::Feed,
    /// The server's own file store (the same handle): tests put blobs straight in.
    pub files: files::BlobStore,
    pub downloads: downloads::Downloads,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), hearth::StartError>>>,
}

pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config::for_data_dir(data_dir);
    config.bind = "127.0.0.1:0".parse().unwrap();
    // Tests fire hundreds of requests from one address; the tests of rate limiting
    // turn it back on with their own limits.
    config.security.rate_limit = hearth::config::RateLimitConfig::OFF;
    // The auth endpoints follow that shared limit too (off); admins stay unthrottled, as
    // by default.
    config.security.rate_limit_audiences = auth::ConfiguredLimits::default().with(
        auth::Audience::Admin,
        auth::ConfiguredLimit {
            per_second: Some(0),
            burst: None,
        },
    );
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    // TEST_LOG=debug shows the server's log while a test runs.
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = test_config(data_dir.path());
    adjust(&mut config);
    let app = Application::build(config).await.expect("app builds");
    let addr = app.local_addr();
    let auth = app.auth().clone();
    let db = app.db().clone();
    let resources = app.resources().clone();
    let feed = app.feed().clone();
    let files = app.files().clone();
    let downloads = app.downloads().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        data_dir,
        auth,
        db,
        resources,
        feed,
        files,
        downloads,
        stop: Some(stop),
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.path().join("hearth.db")
    }

    /// Creates the admin and returns a fresh access token for it.
    pub async fn admin_token(&self) -> String {
        self.auth
            .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .expect("admin created");
        let body: Value = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().expect("token").to_string()
    }

    /// Starts the graceful shutdown, waits for it to finish, and hands back the data
    /// directory so the test can inspect what was left on disk.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.trigger_stop();
        self.wait_stopped().await;
        let placeholder = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.data_dir, placeholder)
    }

    pub fn trigger_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn wait_stopped(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().expect("clean stop");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.trigger_stop();
    }
}

/// Asserts a problem+json response with the given status and code; returns the body.
pub async fn assert_problem(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert_eq!(ct, "application/problem+json");
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("/api/docs/problems#{code}"));
    assert!(body["title"].is_string());
    assert_eq!(body["request_id"], request_id.as_str());
    assert!(body["instance"].as_str().unwrap().starts_with('/'));
    body
}

impl TestApp {
    /// Logs in and returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let resp = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "login of {email}");
        let body: Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// Creates a non-admin user with roles and returns (user id, access token).
    pub async fn user_token(&self, email: &str, roles: &[&str]) -> (String, String) {
        let user = self
            .auth
            .create_user(email, "user password 1", roles)
            .await
            .unwrap();
        (user.id, self.login(email, "user password 1").await)
    }

    /// GET `path` and its JSON body, whatever the status (assert on the body).
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        self.req(reqwest::Method::GET, path, token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// GET `path` until `done` holds for its JSON body, and that body. For what is
    /// written after the response, such as audit events (on a task of their own); the
    /// bound only stops a hang, nothing is timed.
    pub async fn get_json_until(
        &self,
        path: &str,
        token: Option<&str>,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..200 {
            let body = self.get_json(path, token).await;
            if done(&body) {
                return body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("GET {path} never answered what the test waits for");
    }

    pub async fn create_collection(&self, token: &str, definition: Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/collections"))
            .bearer_auth(token)
            .json(&definition)
            .send()
            .await
            .unwrap()
    }

    /// A request with an optional bearer token.
    pub fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }
}
