//! Graceful shutdown and slow clients: in-flight requests finish, new connections are
//! refused, stalled ones are cut off at the drain bound, slow headers time out.

mod common;

use common::{spawn_app, spawn_app_with, ADMIN_EMAIL, ADMIN_PASSWORD};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn login_request(addr: std::net::SocketAddr) -> (String, String) {
    let body = format!("{{\"email\":\"{ADMIN_EMAIL}\",\"password\":\"{ADMIN_PASSWORD}\"}}");
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    (head, body)
}

async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                if String::from_utf8_lossy(&buf).contains("\"access_token\"") {
                    break;
                }
            }
            Ok(Err(_)) => break,
        }
    }
    String::from_utf8_lossy(&buf).to_string()
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_then_checkpoints() {
    let mut app = spawn_app().await;
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let addr = app.addr;
    let (head, body) = login_request(addr);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    app.trigger_stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "new connections must be refused once shutdown starts"
    );

    stream.write_all(&body.as_bytes()[10..]).await.unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("access_token"));

    app.wait_stopped().await;
    let wal = app.db_path().with_extension("db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "WAL checkpointed and truncated at shutdown");
}

#[tokio::test]
async fn a_stalled_request_cannot_hold_shutdown_past_the_bound() {
    let mut app = spawn_app_with(|c| c.shutdown_timeout = Duration::from_millis(300)).await;
    let (head, body) = login_request(app.addr);
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.trigger_stop();
    tokio::time::timeout(Duration::from_secs(10), app.wait_stopped())
        .await
        .expect("shutdown completes after the drain bound");
}

#[tokio::test]
async fn slow_headers_are_cut_off_while_others_are_served() {
    let app = spawn_app_with(|c| c.header_read_timeout = Duration::from_millis(500)).await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();

    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200, "others are served meanwhile");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut buf = [0u8; 1024];
    let outcome = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf)).await;
    match outcome {
        Ok(Ok(0)) | Ok(Err(_)) => {} // closed
        Ok(Ok(n)) => {
            let text = String::from_utf8_lossy(&buf[..n]);
            assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        }
        Err(_) => panic!("the slow connection was still open"),
    }
}

#[tokio::test]
async fn keep_alive_connections_are_closed_at_shutdown() {
    let mut app = spawn_app().await;
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    app.trigger_stop();
    tokio::time::timeout(Duration::from_secs(5), app.wait_stopped())
        .await
        .expect("an idle keep-alive connection does not delay shutdown");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let app = spawn_app_with(|c| c.header_read_timeout = Duration::from_millis(500)).await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let mut buf = [0u8; 64];
    let outcome = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf)).await;
    assert!(
        matches!(outcome, Ok(Ok(0)) | Ok(Err(_))),
        "the silent connection must be closed, got {outcome:?}"
    );
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn an_http2_connection_without_a_request_is_closed_after_the_header_read_timeout() {
    let app = spawn_app_with(|c| c.header_read_timeout = Duration::from_millis(500)).await;
    let mut h2 = TcpStream::connect(app.addr).await.unwrap();
    // Prior-knowledge preface and an empty SETTINGS frame: a complete handshake.
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 1024];
        // The server's SETTINGS (and ACK) arrive first; then the connection must end.
        loop {
            match h2.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "an idle HTTP/2 connection must be closed");
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_trickled_request_body_is_cut_off_with_408() {
    let app = spawn_app_with(|c| c.body_read_timeout = Duration::from_millis(500)).await;
    let (head, body) = login_request(app.addr);
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body.as_bytes()[..3]).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf))
        .await
        .expect("answered before the client finished")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}
