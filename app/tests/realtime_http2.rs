//! Issue 16: realtime streams over HTTP/2. Plain-text HTTP/2 (h2c, prior knowledge) is
//! served by the same listener as HTTP/1 (app/src/server.rs), and an HTTP/2 client
//! multiplexes: two SSE streams and the writes that feed them share one connection, and
//! each stream gets its events independently of the other. The connection outlives the
//! header read timeout (that timeout only closes connections that never sent a request),
//! and a shutdown ends both streams.

mod common;
#[path = "realtime/sse.rs"]
mod sse;

use bytes::Bytes;
use common::{spawn_app_with, TestApp};
use futures_util::StreamExt;
use http_body_util::{BodyExt, BodyStream, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use sse::Sse;
use std::time::Duration;
use tokio::net::TcpStream;

/// Shorter than the pauses below, so the test shows the connection is not cut by it.
const HEADER_READ_TIMEOUT: Duration = Duration::from_millis(500);

async fn app() -> TestApp {
    let app = spawn_app_with(|c| {
        c.header_read_timeout = HEADER_READ_TIMEOUT;
        c.realtime_streams.heartbeat = Duration::from_millis(200);
    })
    .await;
    let admin = app.admin_token().await;
    let resp = app
        .create_collection(
            &admin,
            json!({"name": "notes",
            "fields": [{"name": "title", "type": "text", "required": true}],
            "rules": {"list": ["public"], "view": ["public"], "create": ["public"],
                      "update": ["public"], "delete": ["public"]}}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    app
}

/// One HTTP/2 connection with prior knowledge (no upgrade, no TLS); its driver runs on
/// a task of its own.
async fn connect_h2(app: &TestApp) -> SendRequest<Full<Bytes>> {
    let tcp = TcpStream::connect(app.addr).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("an HTTP/2 handshake");
    tokio::spawn(connection);
    sender
}

fn request(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> hyper::Request<Full<Bytes>> {
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(app.url(path))
        .version(hyper::Version::HTTP_2);
    let body = match body {
        Some(value) => {
            builder = builder.header("content-type", "application/json");
            Bytes::from(value.to_string())
        }
        None => Bytes::new(),
    };
    builder.body(Full::new(body)).unwrap()
}

/// Opens an SSE stream as a new HTTP/2 stream on `sender`'s connection.
async fn open_stream(app: &TestApp, sender: &mut SendRequest<Full<Bytes>>, path: &str) -> Sse {
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        sender.send_request(request(app, "GET", path, None)),
    )
    .await
    .expect("the stream's headers arrive")
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), hyper::Version::HTTP_2);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let chunks = BodyStream::new(resp.into_body()).filter_map(|frame| async move {
        match frame {
            Ok(frame) => frame.into_data().ok().map(Ok),
            Err(e) => Some(Err(e.to_string())),
        }
    });
    Sse::from_chunks(chunks)
}

/// Creates a note over the same HTTP/2 connection; returns its JSON.
async fn create_note(app: &TestApp, sender: &mut SendRequest<Full<Bytes>>, title: &str) -> Value {
    let resp = sender
        .send_request(request(
            app,
            "POST",
            "/api/v1/notes",
            Some(json!({"title": title})),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.version(), hyper::Version::HTTP_2);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn two_streams_on_one_http2_connection_both_receive_every_event() {
    let app = app().await;
    let mut sender = connect_h2(&app).await;
    let mut one = open_stream(&app, &mut sender, "/api/v1/notes/events").await;
    let mut two = open_stream(&app, &mut sender, "/api/v1/realtime?topics=notes").await;

    let first = create_note(&app, &mut sender, "first").await;
    for (name, s) in [
        ("collection stream", &mut one),
        ("realtime stream", &mut two),
    ] {
        let e = s.event().await;
        assert_eq!(e.event, "created", "{name}");
        assert_eq!(e.data["record"], first, "{name}: the record as created");
    }

    // Past the header read timeout, with no request for a while: the connection and
    // both streams stay open, and the heartbeats flow on each.
    tokio::time::sleep(HEADER_READ_TIMEOUT * 2).await;
    let second = create_note(&app, &mut sender, "second").await;
    for (name, s) in [
        ("collection stream", &mut one),
        ("realtime stream", &mut two),
    ] {
        let e = s.event().await;
        assert_eq!(
            (e.event.as_str(), &e.data["record"]["id"]),
            ("created", &second["id"]),
            "{name}"
        );
        assert!(s.comments >= 1, "{name}: heartbeats on an HTTP/2 stream");
    }
    // Exactly those two events: no duplicate crossed over from the other stream.
    assert!(one.next_within(Duration::from_millis(400)).await.is_none());
    assert!(two.next_within(Duration::from_millis(100)).await.is_none());

    // A shutdown ends both HTTP/2 streams (clients reconnect after `retry`).
    let mut app = app;
    app.trigger_stop();
    assert!(
        one.ends_within(Duration::from_secs(10)).await,
        "collection stream ends"
    );
    assert!(
        two.ends_within(Duration::from_secs(10)).await,
        "realtime stream ends"
    );
    app.wait_stopped().await;
}

#[tokio::test]
async fn closing_one_http2_stream_leaves_the_other_streaming() {
    let app = app().await;
    let mut sender = connect_h2(&app).await;
    let one = open_stream(&app, &mut sender, "/api/v1/notes/events").await;
    let mut two = open_stream(&app, &mut sender, "/api/v1/notes/events").await;
    // Dropping the body resets that HTTP/2 stream (RST_STREAM), not the connection.
    drop(one);
    let note = create_note(&app, &mut sender, "after the reset").await;
    let e = two.event().await;
    assert_eq!(e.data["record"]["id"], note["id"]);
    // The server noticed the reset: one stream remains open.
    let admin = app.login(common::ADMIN_EMAIL, common::ADMIN_PASSWORD).await;
    wait_for_metric(&app, &admin, "hearth_realtime_streams_open 1").await;
}

/// Waits until `/metrics` (as the admin) has `line`; fails the test after 10 s.
async fn wait_for_metric(app: &TestApp, admin: &str, line: &str) {
    let mut text = String::new();
    for _ in 0..200 {
        text = app
            .req(reqwest::Method::GET, "/metrics", Some(admin))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.lines().any(|l| l == line) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/metrics never showed {line:?}; last:\n{text}");
}
