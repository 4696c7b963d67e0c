//! API.md 9: realtime streams over a real socket — live events equal to what GET shows,
//! replay with Last-Event-ID and `since` (in order, exactly once), filters, the
//! authorization matrix, tickets, caps, token revocation, and the bad-input answers.

mod common;
#[path = "realtime/sse.rs"]
mod sse;

use common::{assert_problem, spawn_app_with, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use sse::Sse;
use std::time::Duration;

async fn app() -> (TestApp, String) {
    let app = spawn_app_with(|c| {
        c.realtime_streams.recheck = Duration::from_millis(300);
        c.realtime_streams.heartbeat = Duration::from_millis(200);
    })
    .await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "notes",
            "fields": [{"name": "title", "type": "text", "required": true},
                       {"name": "views", "type": "integer"},
                       {"name": "score", "type": "number"},
                       {"name": "done", "type": "boolean"}],
            "rules": {"list": ["public"], "view": ["public"], "create": ["public"],
                      "update": ["public"], "delete": ["public"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "diary",
            "fields": [{"name": "text", "type": "text"}],
            "rules": {"list": ["owner"], "view": ["owner"], "create": ["authenticated"],
                      "update": ["owner"], "delete": ["owner"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    (app, admin)
}

async fn open(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    app.req(Method::GET, path, token).send().await.unwrap()
}

async fn stream(app: &TestApp, path: &str, token: Option<&str>) -> Sse {
    Sse::new(open(app, path, token).await)
}

async fn create(app: &TestApp, col: &str, token: Option<&str>, body: Value) -> Value {
    let resp = app
        .req(Method::POST, &format!("/api/v1/{col}"), token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn get(app: &TestApp, col: &str, id: &str, token: Option<&str>) -> Value {
    app.get_json(&format!("/api/v1/{col}/{id}"), token).await
}

#[tokio::test]
async fn live_events_carry_the_record_as_get_shows_it() {
    let (app, _) = app().await;
    let mut s = stream(&app, "/api/v1/notes/events", None).await;
    let note = create(
        &app,
        "notes",
        None,
        json!({"title": "hello", "views": 3, "score": 0.1, "done": true}),
    )
    .await;
    let id = note["id"].as_str().unwrap();
    let created = s.event().await;
    assert_eq!(created.event, "created");
    assert_eq!(created.data["collection"], "notes");
    assert_eq!(created.data["record"], get(&app, "notes", id, None).await);
    assert_eq!(
        created.id.as_deref(),
        Some(created.data["seq"].to_string().as_str())
    );
    assert_eq!(s.retry, Some(3000));

    let resp = app
        .req(Method::PATCH, &format!("/api/v1/notes/{id}"), None)
        .json(&json!({"views": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let updated = s.event().await;
    assert_eq!(updated.event, "updated");
    assert_eq!(updated.data["record"], get(&app, "notes", id, None).await);
    assert!(updated.data["seq"].as_i64() > created.data["seq"].as_i64());

    let resp = app
        .req(Method::DELETE, &format!("/api/v1/notes/{id}"), None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let deleted = s.event().await;
    assert_eq!(deleted.event, "deleted");
    assert_eq!(deleted.data["record"], json!({"id": id}));
    // Idle: heartbeats, no events.
    assert!(s.next_within(Duration::from_millis(600)).await.is_none());
    assert!(s.comments >= 1, "heartbeat comments keep the stream open");
}

#[tokio::test]
async fn resuming_replays_every_missed_change_once_in_order() {
    let (app, _) = app().await;
    let mut s = stream(&app, "/api/v1/notes/events", None).await;
    create(&app, "notes", None, json!({"title": "first"})).await;
    let first = s.event().await;
    drop(s);
    // Written while the client is away.
    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(create(&app, "notes", None, json!({"title": format!("missed {i}")})).await);
    }
    let resp = app
        .req(Method::GET, "/api/v1/notes/events", None)
        .header("Last-Event-ID", first.id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let mut s = Sse::new(resp);
    for note in &missed {
        let e = s.event().await;
        assert_eq!(
            (e.event.as_str(), &e.data["record"]["id"]),
            ("created", &note["id"])
        );
    }
    // Then live, with no duplicate of the replay.
    let live = create(&app, "notes", None, json!({"title": "live"})).await;
    let e = s.event().await;
    assert_eq!(e.data["record"]["id"], live["id"]);
    assert!(s.next_within(Duration::from_millis(400)).await.is_none());

    // `since` for clients without headers; the header wins over it.
    let mut s = stream(
        &app,
        &format!("/api/v1/notes/events?since={}", first.data["seq"]),
        None,
    )
    .await;
    assert_eq!(s.event().await.data["record"]["id"], missed[0]["id"]);
    let resp = app
        .req(Method::GET, "/api/v1/notes/events?since=0", None)
        .header("Last-Event-ID", e.id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let mut s = Sse::new(resp);
    assert!(
        s.next_within(Duration::from_millis(400)).await.is_none(),
        "nothing after the newest"
    );
}

#[tokio::test]
async fn filters_apply_to_the_record_after_the_change() {
    let (app, _) = app().await;
    let mut s = stream(
        &app,
        "/api/v1/notes/events?filter=views%20%3E%3D%2010",
        None,
    )
    .await;
    create(&app, "notes", None, json!({"title": "low", "views": 1})).await;
    let high = create(&app, "notes", None, json!({"title": "high", "views": 10})).await;
    let e = s.event().await;
    assert_eq!(e.data["record"]["id"], high["id"]);
    assert!(s.next_within(Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn owner_only_records_reach_their_owner_only() {
    let (app, _) = app().await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let (_, bob) = app.user_token("bob@example.org", &[]).await;
    assert_problem(
        open(&app, "/api/v1/diary/events", None).await,
        401,
        "unauthenticated",
    )
    .await;
    let mut alice_s = stream(&app, "/api/v1/diary/events", Some(&alice)).await;
    let mut bob_s = stream(&app, "/api/v1/diary/events", Some(&bob)).await;
    let bobs = create(&app, "diary", Some(&bob), json!({"text": "bob's secret"})).await;
    let alices = create(&app, "diary", Some(&alice), json!({"text": "alice's"})).await;
    let e = alice_s.event().await;
    assert_eq!(e.data["record"]["id"], alices["id"]);
    assert_eq!(
        e.data["record"],
        get(&app, "diary", alices["id"].as_str().unwrap(), Some(&alice)).await
    );
    assert!(
        alice_s
            .next_within(Duration::from_millis(300))
            .await
            .is_none(),
        "never bob's"
    );
    assert_eq!(bob_s.event().await.data["record"]["id"], bobs["id"]);
    assert!(
        bob_s
            .next_within(Duration::from_millis(300))
            .await
            .is_none(),
        "never alice's"
    );
}

#[tokio::test]
async fn bad_requests_are_refused_before_the_stream_starts() {
    let (app, _) = app().await;
    assert_problem(
        open(&app, "/api/v1/nothing/events", None).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        open(&app, "/api/v1/notes/events?filter=(((", None).await,
        400,
        "invalid_filter",
    )
    .await;
    assert_problem(
        open(&app, "/api/v1/notes/events?filter=nope%20%3D%201", None).await,
        400,
        "invalid_filter",
    )
    .await;
    assert_problem(
        open(&app, "/api/v1/notes/events?x=1", None).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        open(&app, "/api/v1/notes/events?since=-1", None).await,
        400,
        "invalid_event_id",
    )
    .await;
    assert_problem(
        open(&app, "/api/v1/notes/events?since=999999", None).await,
        400,
        "invalid_event_id",
    )
    .await;
    let resp = app
        .req(Method::GET, "/api/v1/notes/events", None)
        .header("Last-Event-ID", "12abc")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_event_id").await;
    assert_problem(
        open(&app, "/api/v1/realtime", None).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        open(&app, "/api/v1/realtime?topics=notes,nothing", None).await,
        404,
        "not_found",
    )
    .await;
    let resp = app
        .req(Method::POST, "/api/v1/notes/events", None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["allow"], "GET");
    assert_problem(resp, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn several_topics_share_one_stream() {
    let (app, _) = app().await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let mut s = stream(&app, "/api/v1/realtime?topics=notes,diary", Some(&alice)).await;
    let n = create(&app, "notes", None, json!({"title": "n"})).await;
    let d = create(&app, "diary", Some(&alice), json!({"text": "d"})).await;
    let (a, b) = (s.event().await, s.event().await);
    assert_eq!(
        (a.data["collection"].as_str(), &a.data["record"]["id"]),
        (Some("notes"), &n["id"])
    );
    assert_eq!(
        (b.data["collection"].as_str(), &b.data["record"]["id"]),
        (Some("diary"), &d["id"])
    );
}

#[tokio::test]
async fn tickets_are_single_use_and_need_a_token() {
    let (app, _) = app().await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let resp = app
        .req(Method::POST, "/api/v1/realtime/tickets", None)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = app
        .req(Method::POST, "/api/v1/realtime/tickets", Some(&alice))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 30);
    let ticket = body["ticket"].as_str().unwrap().to_owned();
    let mut s = stream(&app, &format!("/api/v1/diary/events?ticket={ticket}"), None).await;
    let mine = create(&app, "diary", Some(&alice), json!({"text": "x"})).await;
    assert_eq!(
        s.event().await.data["record"]["id"],
        mine["id"],
        "the ticket stands for alice"
    );
    let reused = open(&app, &format!("/api/v1/diary/events?ticket={ticket}"), None).await;
    assert_problem(reused, 401, "unauthenticated").await;
    let made_up = open(&app, "/api/v1/notes/events?ticket=made-up", None).await;
    assert_problem(made_up, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_revoked_token_ends_its_stream_with_unauthorized() {
    let (app, _) = app().await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let mut s = stream(&app, "/api/v1/diary/events", Some(&alice)).await;
    let resp = app
        .req(Method::POST, "/api/v1/auth/logout", Some(&alice))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let e = s.event().await;
    assert_eq!(e.event, "unauthorized");
    assert_eq!(e.id, None, "a notice moves no position");
    assert!(s.ends_within(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn streams_per_user_are_capped() {
    let (app, _) = app().await;
    let (_, alice) = app.user_token("alice@example.org", &[]).await;
    let mut open_streams = Vec::new();
    for _ in 0..8 {
        open_streams.push(stream(&app, "/api/v1/notes/events", Some(&alice)).await);
    }
    assert_problem(
        open(&app, "/api/v1/notes/events", Some(&alice)).await,
        429,
        "stream_limit_reached",
    )
    .await;
    // Others are not affected, and a closed stream gives its place back.
    let (_, bob) = app.user_token("bob@example.org", &[]).await;
    drop(stream(&app, "/api/v1/notes/events", Some(&bob)).await);
    drop(open_streams.pop());
    let mut reopened = None;
    for _ in 0..50 {
        let resp = open(&app, "/api/v1/notes/events", Some(&alice)).await;
        if resp.status() == 200 {
            reopened = Some(resp);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        reopened.is_some(),
        "the closed stream's place is given back"
    );
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let (mut app, _) = app().await;
    let mut s = stream(&app, "/api/v1/notes/events", None).await;
    app.trigger_stop();
    assert!(s.ends_within(Duration::from_secs(10)).await);
    app.wait_stopped().await;
}
