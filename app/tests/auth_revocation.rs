//! Issue 14 item 2: a credential reset leaves no intruder in. Every password reset or
//! change, disable or recovery (API, dashboard, or `hearth admin create` run by another
//! process while the server runs) revokes every token of the user (access, refresh,
//! personal) and ends every dashboard session, at once: no cache window.

mod common;

use common::binary::{hearth, listening_address};
use common::{spawn_app, TestApp};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Stdio};

const EMAIL: &str = "ops@example.org";

/// `hearth admin create --email EMAIL --password-stdin`; its first line of output.
fn admin_create(dir: &Path, password: &str) -> String {
    let mut child = hearth(
        dir,
        &["admin", "create", "--email", EMAIL, "--password-stdin"],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `hearth serve` in its own process, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = hearth(dir, &["serve", "--bind", "127.0.0.1:0"])
            .env("NO_COLOR", "1")
            .env("HEARTH_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let addr = listening_address(&mut child);
        Server {
            child,
            base: format!("http://{addr}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs `browser` into the dashboard at `base`.
async fn dashboard_login(base: &str, browser: &Client, email: &str, password: &str) {
    let page = browser
        .get(format!("{base}/admin/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page.find("name=\"csrf\" value=\"").expect("csrf input") + 19;
    let csrf = &page[at..at + page[at..].find('"').unwrap()];
    let resp = browser
        .post(format!("{base}/admin/login"))
        .form(&[("email", email), ("password", password), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "dashboard login of {email}");
    assert_eq!(resp.headers()["location"], "/admin");
}

/// 200 while the dashboard session lives; 303 to the login page once it is over.
async fn dashboard_status(base: &str, browser: &Client) -> u16 {
    let resp = browser
        .get(format!("{base}/admin/users"))
        .send()
        .await
        .unwrap();
    if resp.status() == 303 {
        assert_eq!(resp.headers()["location"], "/admin/login");
    }
    resp.status().as_u16()
}

async fn status(client: &Client, method: Method, url: String, token: &str) -> u16 {
    let resp = client.request(method, url).bearer_auth(token).send();
    resp.await.unwrap().status().as_u16()
}

async fn login(client: &Client, base: &str, email: &str, password: &str) -> reqwest::Response {
    client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Every credential an intruder who knew the old password could hold.
struct Held {
    access: String,
    refresh: String,
    personal: String,
    browser: Client,
}

async fn take_everything(client: &Client, base: &str, email: &str, password: &str) -> Held {
    let session: Value = login(client, base, email, password)
        .await
        .json()
        .await
        .unwrap();
    let access = session["access_token"].as_str().unwrap().to_string();
    let created: Value = client
        .post(format!("{base}/api/v1/auth/tokens"))
        .bearer_auth(&access)
        .json(&json!({"name": "backdoor", "scopes": ["read", "write", "admin", "tokens"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let browser = browser();
    dashboard_login(base, &browser, email, password).await;
    let held = Held {
        access,
        refresh: session["refresh_token"].as_str().unwrap().to_string(),
        personal: created["token"].as_str().unwrap().to_string(),
        browser,
    };
    // Used once each, so the server has them in its token cache.
    assert_eq!(held.works(client, base).await, [200, 200, 200]);
    held
}

impl Held {
    /// Access token, personal token, dashboard session.
    async fn works(&self, client: &Client, base: &str) -> [u16; 3] {
        [
            status(
                client,
                Method::GET,
                format!("{base}/api/v1/auth/me"),
                &self.access,
            )
            .await,
            status(
                client,
                Method::GET,
                format!("{base}/api/v1/users"),
                &self.personal,
            )
            .await,
            dashboard_status(base, &self.browser).await,
        ]
    }

    async fn refresh_status(&self, client: &Client, base: &str) -> u16 {
        let resp = client
            .post(format!("{base}/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": self.refresh}))
            .send()
            .await
            .unwrap();
        resp.status().as_u16()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_by_the_cli_ends_every_credential_on_the_running_server_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(admin_create(d, "the old admin password").starts_with("admin ops@example.org created"));
    let server = Server::start(d);
    let base = server.base.clone();
    let client = Client::new();
    let intruder = take_everything(&client, &base, EMAIL, "the old admin password").await;

    // The operator recovers the account from another process while the server runs.
    let out = tokio::task::spawn_blocking({
        let d = d.to_path_buf();
        move || admin_create(&d, "a brand new admin password")
    })
    .await
    .unwrap();
    assert!(out.starts_with("admin ops@example.org reset"), "{out}");

    // At once, with no cache window: every credential of the account is dead.
    assert_eq!(intruder.works(&client, &base).await, [401, 401, 303]);
    assert_eq!(intruder.refresh_status(&client, &base).await, 401);
    let old = login(&client, &base, EMAIL, "the old admin password").await;
    assert_eq!(old.status(), 401);
    let new = login(&client, &base, EMAIL, "a brand new admin password").await;
    assert_eq!(new.status(), 200);
}

async fn patch_user(app: &TestApp, admin: &str, id: &str, body: Value) {
    let resp = app
        .req(Method::PATCH, &format!("/api/v1/users/{id}"), Some(admin))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_password_change_or_disable_through_the_api_ends_every_session_and_token() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let base = app.url("");
    let client = Client::new();
    let resp = app
        .req(Method::POST, "/api/v1/users", Some(&admin))
        .json(
            &json!({"email": "b@example.org", "password": "b's first password", "is_admin": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let b: Value = resp.json().await.unwrap();
    let b_id = b["id"].as_str().unwrap();

    let held = take_everything(&client, &base, "b@example.org", "b's first password").await;
    let password = json!({"password": "b's second password"});
    patch_user(&app, &admin, b_id, password).await;
    assert_eq!(held.works(&client, &base).await, [401, 401, 303]);
    assert_eq!(held.refresh_status(&client, &base).await, 401);

    // Sessions begun with the new password live on, until the account is disabled.
    let again = take_everything(&client, &base, "b@example.org", "b's second password").await;
    assert_eq!(again.works(&client, &base).await, [200, 200, 200]);
    patch_user(&app, &admin, b_id, json!({"disabled": true})).await;
    assert_eq!(again.works(&client, &base).await, [401, 401, 303]);
}
