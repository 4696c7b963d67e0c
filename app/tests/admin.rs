//! The admin dashboard (issue 7): sessions, CSRF, redirects, and form round trips
//! through the same services as the API.

mod common;

use common::{spawn_app, spawn_app_with, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::time::Duration;

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of `<input … name="csrf" value="…">` in a page.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf input");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn get(app: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let r = c.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn login(
    app: &TestApp,
    c: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let (_, page) = get(app, c, "/admin/login").await;
    c.post(app.url("/admin/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf(&page)),
        ])
        .send()
        .await
        .unwrap()
}

async fn admin_session(app: &TestApp) -> reqwest::Client {
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let c = browser();
    let r = login(app, &c, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin");
    c
}

const PAGES: [&str; 9] = [
    "/admin",
    "/admin/collections",
    "/admin/collections/new",
    "/admin/collections/posts",
    "/admin/collections/posts/schema",
    "/admin/users",
    "/admin/tokens",
    "/admin/audit",
    "/admin/settings",
];

#[tokio::test]
async fn every_page_without_a_session_redirects_to_login() {
    let app = spawn_app().await;
    let c = browser();
    for page in PAGES {
        let r = c.get(app.url(page)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{page}");
        assert_eq!(r.headers()["location"], "/admin/login", "{page}");
    }
    let r = c.post(app.url("/admin/logout")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (status, page) = get(&app, &c, "/admin/login").await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"email\"") && page.contains("name=\"password\""));
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_logout_revokes_it() {
    let app = spawn_app().await;
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let c = browser();
    let r = login(&app, &c, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 303);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("hearth_admin="))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    for page in PAGES.iter().filter(|p| !p.contains("posts")) {
        let (status, html) = get(&app, &c, page).await;
        assert_eq!(status, 200, "{page}");
        assert!(html.contains(ADMIN_EMAIL), "{page}");
    }
    let (_, html) = get(&app, &c, "/admin").await;
    let r = c
        .post(app.url("/admin/logout"))
        .form(&[("csrf", csrf(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/login");
    let r = c.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn wrong_password_and_non_admins_are_refused() {
    let app = spawn_app().await;
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    app.auth
        .create_user("user@example.org", "a user password", &[])
        .await
        .unwrap();
    let c = browser();
    let r = login(&app, &c, ADMIN_EMAIL, "wrong password").await;
    assert_eq!(r.status(), 401);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Invalid email or password"));
    let r = login(&app, &c, "user@example.org", "a user password").await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("not an administrator"));
    assert_eq!(c.get(app.url("/admin")).send().await.unwrap().status(), 303);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let app = spawn_app().await;
    let c = admin_session(&app).await;
    for token in ["", "not-the-token"] {
        let r = c
            .post(app.url("/admin/settings"))
            .form(&[("csrf", token), ("allow_signups", "on")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    assert!(!app.auth.settings().await.unwrap().allow_signups);
    // The login form needs its pre-session token too.
    let r = browser()
        .post(app.url("/admin/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // With the token it works.
    let (_, html) = get(&app, &c, "/admin/settings").await;
    let r = c
        .post(app.url("/admin/settings"))
        .form(&[("csrf", csrf(&html).as_str()), ("allow_signups", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(app.auth.settings().await.unwrap().allow_signups);
}

#[tokio::test]
async fn sessions_expire_when_idle_and_absolutely() {
    let app = spawn_app_with(|c| {
        c.admin_sessions = admin::SessionLimits {
            idle: Duration::from_millis(600),
            absolute: Duration::from_secs(60),
        }
    })
    .await;
    let c = admin_session(&app).await;
    assert_eq!(get(&app, &c, "/admin").await.0, 200);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(c.get(app.url("/admin")).send().await.unwrap().status(), 303);

    let app = spawn_app_with(|c| {
        c.admin_sessions = admin::SessionLimits {
            idle: Duration::from_secs(60),
            absolute: Duration::from_millis(1200),
        }
    })
    .await;
    let c = admin_session(&app).await;
    for _ in 0..3 {
        assert_eq!(get(&app, &c, "/admin/collections").await.0, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(c.get(app.url("/admin")).send().await.unwrap().status(), 303);
}

#[tokio::test]
async fn setup_link_creates_the_first_admin_once() {
    let app = spawn_app().await;
    let token = app.auth.issue_setup_token().await.unwrap().unwrap();
    let c = browser();
    let (status, html) = get(&app, &c, &format!("/admin/setup?token={token}")).await;
    assert_eq!(status, 200);
    let r = c
        .post(app.url("/admin/setup"))
        .form(&[
            ("csrf", csrf(&html).as_str()),
            ("token", &token),
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(get(&app, &c, "/admin").await.0, 200);
    assert_eq!(
        get(&app, &browser(), &format!("/admin/setup?token={token}"))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn create_a_collection_and_a_record_through_the_forms() {
    let app = spawn_app().await;
    let c = admin_session(&app).await;
    let (_, html) = get(&app, &c, "/admin/collections/new").await;
    let token = csrf(&html);
    let r = c
        .post(app.url("/admin/collections/new"))
        .form(&[
            ("csrf", token.as_str()),
            ("action", "create"),
            ("name", "posts"),
            ("n", "2"),
            ("f0.name", "title"),
            ("f0.type", "text"),
            ("f0.required", "on"),
            ("f0.max_length", "20"),
            ("f1.name", "views"),
            ("f1.type", "integer"),
            ("f1.min", "0"),
            ("rules.list", "public"),
            ("rules.view", "public"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/admin/collections/posts?notice=created"
    );
    // A value the API refuses comes back next to its field, with the API's message.
    let r = c
        .post(app.url("/admin/collections/posts/records/new"))
        .form(&[
            ("csrf", token.as_str()),
            ("f.title", "this title is far too long"),
            ("f.views", "3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-title-err\""), "{html}");
    assert!(html.contains("at most 20"), "{html}");
    let r = c
        .post(app.url("/admin/collections/posts/records/new"))
        .form(&[
            ("csrf", token.as_str()),
            ("f.title", "Hello"),
            ("f.views", "3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let body: serde_json::Value = app
        .client
        .get(app.url("/api/v1/posts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["items"][0]["title"], "Hello");
    assert_eq!(body["items"][0]["views"], 3);
    let (status, html) = get(
        &app,
        &c,
        "/admin/collections/posts?filter=views%20%3E%3D%201&sort=-views",
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("Hello"));
    let (status, html) = get(&app, &c, "/admin/collections/posts?filter=views%20%3E%3D").await;
    assert_eq!(status, 400);
    assert!(html.contains("id=\"filter-error\""), "{html}");
    // A public collection has nothing to warn about; a private one with a unique field does.
    let (_, html) = get(&app, &c, "/admin/collections/posts/schema").await;
    assert!(!html.contains("id=\"schema-warnings\""));
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let resp = app
        .create_collection(
            &token,
            serde_json::json!({"name": "people", "fields": [{"name": "phone", "type": "text", "unique": true}],
                               "rules": {"view": ["owner"], "create": ["authenticated"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let (status, html) = get(&app, &c, "/admin/collections/people/schema").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"schema-warnings\""), "{html}");
    assert!(
        html.contains("<code>phone</code>") || html.contains("`phone` is unique"),
        "{html}"
    );
}

#[tokio::test]
async fn settings_form_changes_cors_and_rate_limits_and_returns_them_to_the_configuration() {
    let app = spawn_app().await;
    let c = admin_session(&app).await;
    let (status, html) = get(&app, &c, "/admin/settings").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"cors-origins-source\">from the configuration"));
    assert!(html.contains("id=\"rate-limit-per-second-source\">from the configuration"));
    assert!(
        !html.contains("-reset\""),
        "nothing stored, nothing to reset"
    );
    let token = csrf(&html);

    // The service's messages come back next to their fields, with what was typed.
    let r = c
        .post(app.url("/admin/settings"))
        .form(&[
            ("csrf", token.as_str()),
            ("cors_origins", "https://app.example.org\nnot-an-origin"),
            ("rate_limit_per_second", "200000"),
            ("rate_limit_burst", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for id in [
        "cors-origins-err",
        "rate-limit-per-second-err",
        "rate-limit-burst-err",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}: {html}");
    }
    assert!(html.contains("not-an-origin"), "{html}");
    assert!(html.contains("from 0 to 100000"), "{html}");
    assert!(html.contains("value=\"200000\""), "{html}");
    let s = app.auth.settings().await.unwrap();
    assert!(!s.rate_limit_per_second.is_stored() && !s.cors_origins.is_stored());

    let r = c
        .post(app.url("/admin/settings"))
        .form(&[
            ("csrf", token.as_str()),
            (
                "cors_origins",
                "https://app.example.org, http://localhost:3000",
            ),
            ("rate_limit_per_second", "50"),
            ("rate_limit_burst", "100"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let s = app.auth.settings().await.unwrap();
    assert_eq!(
        s.cors_origins.value,
        ["https://app.example.org", "http://localhost:3000"]
    );
    assert_eq!(
        (s.rate_limit_per_second.value, s.rate_limit_burst.value),
        (50, 100)
    );
    assert!(s.rate_limit_burst.is_stored());
    // In force at once.
    let resp = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["ratelimit-policy"],
        "\"anonymous\";q=100;w=2"
    );
    let (_, html) = get(&app, &c, "/admin/settings").await;
    assert!(html.contains("id=\"rate-limit-burst-source\">from the database"));
    assert!(html.contains("id=\"rate-limit-burst-reset\""));

    // Saving again unchanged stores nothing new; resetting one value returns it to the
    // configuration and leaves the others.
    let r = c
        .post(app.url("/admin/settings"))
        .form(&[("csrf", token.as_str()), ("reset", "rate_limit_burst")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let s = app.auth.settings().await.unwrap();
    assert!(!s.rate_limit_burst.is_stored());
    assert_eq!(s.rate_limit_burst.value, s.configured.rate_limit_burst);
    assert!(s.rate_limit_per_second.is_stored() && s.cors_origins.is_stored());
}

/// More accounts than fit a page: the users page pages through them, 100 at a time,
/// oldest first, with links both ways and the total.
#[tokio::test]
async fn the_users_page_pages_through_every_account() {
    let app = spawn_app().await;
    let c = admin_session(&app).await;
    // Not `admin_token()`: resetting the admin again would end the dashboard session.
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let created: Vec<_> = (0..104)
        .map(|i| {
            let req = app
                .req(reqwest::Method::POST, "/api/v1/users", Some(&token))
                .json(&serde_json::json!({
                    "email": format!("user{i:03}@example.org"),
                    "password": "a long enough password"
                }));
            async move { req.send().await.unwrap().status().as_u16() }
        })
        .collect();
    for status in futures_util::future::join_all(created).await {
        assert_eq!(status, 201);
    }
    // 105 accounts with the admin: two pages.
    let (status, first) = get(&app, &c, "/admin/users").await;
    assert_eq!(status, 200);
    assert!(first.contains("105 account(s)"), "{first}");
    assert!(first.contains("Page 1 of 2"));
    assert!(first.contains("href=\"/admin/users?page=2\""));
    assert!(!first.contains("?page=0"));
    let (status, second) = get(&app, &c, "/admin/users?page=2").await;
    assert_eq!(status, 200);
    assert!(second.contains("Page 2 of 2"));
    assert!(second.contains("href=\"/admin/users?page=1\""));
    let on_first = first.matches("/delete\">Delete</a>").count();
    let on_second = second.matches("/delete\">Delete</a>").count();
    assert_eq!((on_first, on_second), (100, 5));
    // Every account appears exactly once across the two pages.
    for i in 0..104 {
        let email = format!("user{i:03}@example.org");
        assert_eq!(
            first.matches(&email).count() + second.matches(&email).count(),
            1,
            "{email}"
        );
    }
    // Out of range or nonsense: the nearest sensible page, never an error.
    let (status, beyond) = get(&app, &c, "/admin/users?page=99").await;
    assert_eq!(status, 200);
    assert!(beyond.contains("Page 2 of 2"), "{beyond}");
    let (status, nonsense) = get(&app, &c, "/admin/users?page=banana").await;
    assert_eq!(status, 200);
    assert!(nonsense.contains("Page 1 of 2"));
}
