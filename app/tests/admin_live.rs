//! The dashboard's live records (issue 16, point 8): `/admin/collections/{name}/events`
//! streams the collection's changes to a signed-in admin's session only (unfiltered, so
//! that a row leaving a filtered table is seen), still checks a filter it is given,
//! resumes after the page's `data-since`, and ends with `unauthorized`
//! once the session ends (signed out, or idle: the stream itself is not activity).

mod common;
#[path = "realtime/sse.rs"]
mod sse;

use common::{spawn_app_with, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};
use sse::Sse;
use std::time::Duration;

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of attribute `name="…"` after `after` in `html`.
fn attr(html: &str, after: &str, name: &str) -> Option<String> {
    let from = html.find(after)?;
    let rest = &html[from..];
    let tag_end = rest.find('>')?;
    let tag = &rest[..tag_end];
    let key = format!("{name}=\"");
    let at = tag.find(&key)? + key.len();
    let value = &tag[at..];
    Some(value[..value.find('"')?].replace("&amp;", "&"))
}

fn csrf(html: &str) -> String {
    let key = "name=\"csrf\" value=\"";
    let at = html.find(key).expect("csrf input") + key.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

async fn page(app: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let r = c.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The app, an API token of the admin, a `notes` collection and a signed-in browser.
async fn setup(
    adjust: impl FnOnce(&mut hearth::config::Config),
) -> (TestApp, String, reqwest::Client) {
    let app = spawn_app_with(|c| {
        c.realtime_streams.recheck = Duration::from_millis(300);
        c.realtime_streams.heartbeat = Duration::from_millis(200);
        adjust(c);
    })
    .await;
    // Before the dashboard login: creating the admin ends the sessions begun before it.
    let token = app.admin_token().await;
    let resp = app
        .create_collection(
            &token,
            json!({"name": "notes",
                   "fields": [{"name": "title", "type": "text"}, {"name": "views", "type": "integer"}]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let c = browser();
    let (_, login) = page(&app, &c, "/admin/login").await;
    let r = c
        .post(app.url("/admin/login"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("csrf", &csrf(&login)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    (app, token, c)
}

async fn open(app: &TestApp, c: &reqwest::Client, path: &str) -> Sse {
    Sse::new(c.get(app.url(path)).send().await.unwrap())
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app
        .req(Method::POST, "/api/v1/notes", Some(token))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn without_a_session_the_stream_is_refused_like_every_dashboard_page() {
    let (app, token, signed_in) = setup(|_| {}).await;
    let anonymous = browser();
    let r = anonymous
        .get(app.url("/admin/collections/notes/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/login");
    // An API token is not a dashboard session.
    let r = anonymous
        .get(app.url("/admin/collections/notes/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Signed in (with the CSRF token a write needs), the other methods are not allowed.
    let (_, html) = page(&app, &signed_in, "/admin").await;
    let r = signed_in
        .delete(app.url("/admin/collections/notes/events"))
        .header("X-CSRF-Token", csrf(&html))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn the_stream_carries_changes_and_ends_unauthorized_at_sign_out() {
    let (app, token, c) = setup(|_| {}).await;
    let mut s = open(&app, &c, "/admin/collections/notes/events").await;
    let note = create(&app, &token, json!({"title": "hello", "views": 1})).await;
    let created = s.event().await;
    assert_eq!(created.event, "created");
    assert_eq!(created.data["collection"], "notes");
    assert_eq!(created.data["record"]["id"], note["id"]);
    assert_eq!(created.data["record"]["title"], "hello");
    let resp = app
        .req(
            Method::DELETE,
            &format!("/api/v1/notes/{}", note["id"].as_str().unwrap()),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let deleted = s.event().await;
    assert_eq!(deleted.event, "deleted");
    assert_eq!(deleted.data["record"], json!({"id": note["id"]}));

    // The overview counts it among the open streams.
    let (_, overview) = page(&app, &c, "/admin").await;
    let at = overview
        .find("id=\"open-streams\">")
        .expect("open streams card");
    assert!(
        overview[at..].starts_with("id=\"open-streams\">1<"),
        "one open stream"
    );

    let (_, html) = page(&app, &c, "/admin").await;
    let r = c
        .post(app.url("/admin/logout"))
        .form(&[("csrf", csrf(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let ended = s.event().await;
    assert_eq!(ended.event, "unauthorized");
    assert_eq!(ended.id, None, "a notice moves no position");
    assert!(
        s.ends_within(Duration::from_secs(2)).await,
        "the stream closes"
    );
    // And it does not come back on reconnection.
    let r = c
        .get(app.url("/admin/collections/notes/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn the_records_page_names_its_stream_and_position_and_sees_rows_leave_its_filter() {
    let (app, token, c) = setup(|_| {}).await;
    let high = create(&app, &token, json!({"title": "high", "views": 12})).await;
    let (status, html) = page(
        &app,
        &c,
        "/admin/collections/notes?filter=views%20%3E%3D%2010&sort=-views",
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains(high["id"].as_str().unwrap()));
    let events = attr(&html, "<div id=\"records\"", "data-events").expect("data-events");
    assert_eq!(events, "/admin/collections/notes/events");
    let since: i64 = attr(&html, "<div id=\"records\"", "data-since")
        .expect("data-since")
        .parse()
        .unwrap();
    // Written after the page was built, before its stream opened: replayed, not lost.
    // The update takes the shown row out of the table's filter: the page must hear of
    // it to drop the row.
    let r = app
        .req(
            Method::PATCH,
            &format!("/api/v1/notes/{}", high["id"].as_str().unwrap()),
            Some(&token),
        )
        .json(&json!({"views": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut s = open(&app, &c, &format!("{events}?since={since}")).await;
    let e = s.event().await;
    assert_eq!(e.event, "updated");
    assert_eq!(e.data["record"]["id"], high["id"]);
    assert_eq!(e.data["record"]["views"], 3);
    let (_, html) = page(
        &app,
        &c,
        "/admin/collections/notes?filter=views%20%3E%3D%2010&sort=-views",
    )
    .await;
    assert!(
        !html.contains(high["id"].as_str().unwrap()),
        "the refreshed table drops it"
    );

    // A filter given to the stream itself still applies.
    let low = create(&app, &token, json!({"title": "low", "views": 1})).await;
    let higher = create(&app, &token, json!({"title": "higher", "views": 20})).await;
    let filtered = "/admin/collections/notes/events?filter=views+%3E%3D+10";
    let mut s = open(
        &app,
        &c,
        &format!("{filtered}&since={}", e.id.clone().unwrap()),
    )
    .await;
    let f = s.event().await;
    assert_eq!(f.data["record"]["id"], higher["id"], "the filter applies");
    assert_ne!(f.data["record"]["id"], low["id"]);
    assert!(s.next_within(Duration::from_millis(400)).await.is_none());
    // A reconnecting EventSource's Last-Event-ID wins over the page's `since`.
    let r = c
        .get(app.url(&format!("{filtered}&since={since}")))
        .header("Last-Event-ID", f.id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let mut s = Sse::new(r);
    assert!(s.next_within(Duration::from_millis(400)).await.is_none());

    // A broken filter shows its error and no stream; a bad position is refused.
    let (_, html) = page(&app, &c, "/admin/collections/notes?filter=views%20%3E%3D").await;
    assert!(html.contains("id=\"filter-error\""));
    assert_eq!(attr(&html, "<div id=\"records\"", "data-events"), None);
    let r = c
        .get(app.url("/admin/collections/notes/events?filter=views%20%3E%3D"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .get(app.url("/admin/collections/notes/events?since=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .get(app.url("/admin/collections/nothing/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn an_open_stream_does_not_keep_an_idle_session_alive() {
    let (app, _, c) = setup(|c| {
        c.admin_sessions.idle = Duration::from_millis(1500);
    })
    .await;
    let mut s = open(&app, &c, "/admin/collections/notes/events").await;
    let started = std::time::Instant::now();
    let ended = s.event().await;
    assert_eq!(ended.event, "unauthorized");
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "ended by the idle limit, not at once ({:?})",
        started.elapsed()
    );
    let (status, _) = page(&app, &c, "/admin").await;
    assert_eq!(status, 303, "the session is over");
}

#[tokio::test]
async fn a_demoted_admin_s_stream_ends() {
    let (app, token, c) = setup(|_| {}).await;
    let mut s = open(&app, &c, "/admin/collections/notes/events").await;
    let me: Value = app.get_json("/api/v1/auth/me", Some(&token)).await;
    app.auth
        .create_admin("second@example.org", "another admin password")
        .await
        .unwrap();
    let second = app
        .login("second@example.org", "another admin password")
        .await;
    let resp = app
        .req(
            Method::PATCH,
            &format!("/api/v1/users/{}", me["id"].as_str().unwrap()),
            Some(&second),
        )
        .json(&json!({"is_admin": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(s.event().await.event, "unauthorized");
}
