//! Issue 14 item 13: a cap on concurrent connections (`max_connections`). Beyond it a
//! client gets a clean 503 problem at once, never a hang; once connections close, new
//! ones are served again.

mod common;

use common::{assert_problem, spawn_app_with, TestApp};
use std::time::Duration;
use tokio::net::TcpStream;

/// A client that opens a new connection for every request.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Connections that connect and send nothing: each holds a slot until the header read
/// timeout (10 s) or until dropped.
async fn idle_connections(app: &TestApp, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // The server accepts them in order; give its loop a moment to take each one.
    tokio::time::sleep(Duration::from_millis(100)).await;
    held
}

#[tokio::test]
async fn beyond_max_connections_a_client_gets_503_then_is_served_once_others_close() {
    let app = spawn_app_with(|c| c.max_connections = 2).await;
    let client = fresh_client();
    let held = idle_connections(&app, 2).await;
    let resp = client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("an answer, not a hang");
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(resp.headers()["connection"], "close");
    let body = assert_problem(resp, 503, "unavailable").await;
    assert_eq!(body["instance"], "/healthz");

    drop(held);
    let mut status = 0;
    for _ in 0..50 {
        status = client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200, "served again once the others closed");
}

#[tokio::test]
async fn when_even_the_refusals_are_full_new_connections_are_closed_at_once() {
    let app = spawn_app_with(|c| c.max_connections = 1).await;
    // One served and one waiting for its 503: both slots taken.
    let _held = idle_connections(&app, 2).await;
    let started = std::time::Instant::now();
    let result = fresh_client().get(app.url("/healthz")).send().await;
    assert!(result.is_err(), "closed, not answered: {result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "closed at once, not after a timeout"
    );
}

#[test]
fn max_connections_is_configurable_and_checked() {
    let c = hearth::Config::for_data_dir("unused");
    assert_eq!(c.max_connections, 1024, "the default");
}
