//! API.md 9, the stream's life beyond the happy path: `reset` when the position was
//! pruned, `overflow` for a subscriber that stops reading, and the metrics that show it.

mod common;
#[path = "realtime/sse.rs"]
mod sse;

use common::{spawn_app_with, TestApp};
use reqwest::Method;
use serde_json::json;
use sse::Sse;
use std::time::Duration;

async fn app_with(adjust: impl FnOnce(&mut hearth::Config)) -> (TestApp, String) {
    let app = spawn_app_with(adjust).await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "notes",
            "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "text"}],
            "rules": {"list": ["public"], "view": ["public"], "create": ["public"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    (app, admin)
}

async fn create(app: &TestApp, body: serde_json::Value) -> serde_json::Value {
    let resp = app
        .req(Method::POST, "/api/v1/notes", None)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_position_older_than_the_feed_gets_one_reset_then_live_events() {
    let (app, _) = app_with(|c| c.realtime.max_rows = 3).await;
    for i in 0..10 {
        create(&app, json!({"title": format!("n{i}")})).await;
    }
    while app.feed.prune().await.unwrap() > 0 {}
    let bounds = app.feed.bounds().await.unwrap();
    assert!(bounds.oldest.unwrap() > 2, "pruned: {bounds:?}");
    let resp = app
        .req(Method::GET, "/api/v1/notes/events?since=1", None)
        .send()
        .await
        .unwrap();
    let mut s = Sse::new(resp);
    let reset = s.event().await;
    assert_eq!(reset.event, "reset");
    assert_eq!(reset.id, Some(bounds.newest.to_string()));
    assert_eq!(
        reset.data,
        json!({"collection": null, "seq": bounds.newest, "record": null})
    );
    // Nothing replayed after a reset: the client refetches; then live.
    let live = create(&app, json!({"title": "after"})).await;
    let e = s.event().await;
    assert_eq!(
        (e.event.as_str(), &e.data["record"]["id"]),
        ("created", &live["id"])
    );

    // A position inside the window replays from there, no reset.
    let resp = app
        .req(Method::GET, "/api/v1/notes/events", None)
        .header("Last-Event-ID", (bounds.newest - 1).to_string())
        .send()
        .await
        .unwrap();
    let mut s = Sse::new(resp);
    let first = s.event().await;
    assert_eq!(
        (first.event.as_str(), first.data["seq"].as_i64()),
        ("created", Some(bounds.newest))
    );
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_ended_with_overflow_and_can_resume() {
    let (app, admin) = app_with(|c| c.realtime_streams.buffer = 16).await;
    let resp = app
        .req(Method::GET, "/api/v1/notes/events", None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Large records fill the socket buffers quickly while the client reads nothing.
    let body = "x".repeat(60_000);
    let mut created = Vec::new();
    for _ in 0..400 {
        created.push(create(&app, json!({"body": body})).await["id"].clone());
    }
    let mut s = Sse::new(resp);
    let mut seen = Vec::new();
    let mut last_id = None;
    let overflow = loop {
        let e = s
            .next_within(Duration::from_secs(10))
            .await
            .expect("the stream ends with overflow, not silence");
        if e.event == "overflow" {
            break e;
        }
        last_id = e.id.clone();
        seen.push(e.data["record"]["id"].clone());
    };
    assert_eq!(overflow.id, None, "a notice moves no position");
    assert!(s.ends_within(Duration::from_secs(5)).await);
    assert!(
        seen.len() < created.len(),
        "it fell behind: {} of {}",
        seen.len(),
        created.len()
    );
    assert_eq!(seen[..], created[..seen.len()], "what it got was in order");

    // Resuming from the last event it saw delivers the rest, exactly once.
    let mut req = app.req(Method::GET, "/api/v1/notes/events", None);
    if let Some(id) = &last_id {
        req = req.header("Last-Event-ID", id);
    } else {
        req = req.query(&[("since", "0")]);
    }
    let mut s = Sse::new(req.send().await.unwrap());
    let mut rest = Vec::new();
    while rest.len() < created.len() - seen.len() {
        let e = s.event().await;
        if e.event == "created" {
            rest.push(e.data["record"]["id"].clone());
        }
    }
    assert_eq!(rest[..], created[seen.len()..]);

    let metrics = app
        .req(Method::GET, "/metrics", Some(&admin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hearth_realtime_streams_ended_total{reason=\"overflow\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hearth_realtime_streams_open 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hearth_realtime_delivery_seconds_count"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hearth_realtime_feed_newest_seq"),
        "{metrics}"
    );
}
