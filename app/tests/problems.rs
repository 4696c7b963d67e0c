//! API.md section 3: every failure is an RFC 9457 problem with the right status and code,
//! including poem's own rejections and panics.

mod common;

use common::{assert_problem, spawn_app};
use poem::{handler, Route};
use poem_openapi::{param::Query, OpenApi, OpenApiService};

#[tokio::test]
async fn unknown_route_is_404_not_found() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/api/v1/nope/deeper"))
        .send()
        .await
        .unwrap();
    let body = assert_problem(resp, 404, "not_found").await;
    assert_eq!(body["instance"], "/api/v1/nope/deeper");
    let resp = app
        .client
        .get(app.url("/no-such-page"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "not_found").await;
}

#[tokio::test]
async fn wrong_method_is_405_method_not_allowed() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 405, "method_not_allowed").await;
    let resp = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_problem(resp, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    let body = assert_problem(resp, 400, "invalid_json").await;
    assert!(body["detail"].is_string());
    // Well-formed JSON of the wrong shape is also invalid_json.
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_json").await;
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("email=a")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415, "unsupported_media_type").await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let app = common::spawn_app_with(|c| c.body_limit = 1024).await;
    let big = format!(
        "{{\"email\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(2000)
    );
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_problem(resp, 413, "payload_too_large").await;

    // Chunked bodies (no Content-Length) are counted as they arrive.
    let stream = futures_util::stream::iter(
        big.into_bytes()
            .chunks(100)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 413, "payload_too_large").await;
}

/// The sender of a body far over the limit is still sending when the server answers;
/// closing then would reset the connection and the client would never read the 413.
#[tokio::test]
async fn a_client_sending_a_huge_body_reads_the_413_not_a_reset() {
    let app = common::spawn_app_with(|c| c.body_limit = 1024).await;
    let huge = vec![b'a'; 32 * 1024 * 1024];
    for _ in 0..5 {
        let resp = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(huge.clone())
            .send()
            .await
            .expect("an answer, not a connection reset");
        assert_problem(resp, 413, "payload_too_large").await;
        // The same without a length: counted as it arrives, the rest drained.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            huge.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        let resp = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            )))
            .send()
            .await
            .expect("an answer, not a connection reset");
        assert_problem(resp, 413, "payload_too_large").await;
    }
    // A client that writes its whole body before it reads anything.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut raw = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n",
        huge.len()
    );
    raw.write_all(head.as_bytes()).await.unwrap();
    raw.write_all(&huge).await.expect("the whole body is taken");
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer)
        .await
        .expect("the answer, not a reset");
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    // Past what is worth draining: still a 413, and the connection is closed after it.
    let mut raw = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        (64u64 << 20) + 1
    );
    raw.write_all(head.as_bytes()).await.unwrap();
    raw.write_all(&[b'a'; 1024]).await.unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
}

#[tokio::test]
async fn bad_token_is_401_with_www_authenticate() {
    let app = spawn_app().await;
    for auth in [
        "Bearer hth_nonsense",
        "Bearer ",
        "Basic abc",
        "Bearer hth_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let resp = app
            .client
            .get(app.url("/api/v1/auth/me"))
            .header("authorization", auth)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["www-authenticate"], "Bearer", "{auth}");
        assert_problem(resp, 401, "unauthenticated").await;
    }
    let resp = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_problem(resp, 401, "unauthenticated").await;
}

/// Test-only routes that misbehave, served through the production stack on a real socket.
struct Misbehaving;

#[OpenApi]
impl Misbehaving {
    #[oai(path = "/numbers", method = "get")]
    async fn numbers(&self, limit: Query<u32>) -> poem_openapi::payload::PlainText<String> {
        poem_openapi::payload::PlainText(limit.0.to_string())
    }
}

#[handler]
fn panics() -> &'static str {
    panic!("boom: secret internal detail")
}

async fn serve_misbehaving() -> std::net::SocketAddr {
    let route = Route::new()
        .at("/panic", poem::get(panics))
        .nest("/api", OpenApiService::new(Misbehaving, "t", "1"));
    let options = hearth::http::HttpOptions {
        body_limit: 1 << 20,
        ..Default::default()
    };
    let endpoint = poem::EndpointExt::boxed(hearth::http::stack(route, &options));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = hearth::server::ServerOptions {
        header_read_timeout: std::time::Duration::from_secs(5),
        shutdown_timeout: std::time::Duration::from_secs(1),
        tls: None,
        max_connections: 64,
    };
    tokio::spawn(hearth::server::serve(
        listener,
        endpoint,
        options,
        std::future::pending(),
    ));
    addr
}

#[tokio::test]
async fn bad_query_parameter_is_400_invalid_query() {
    let addr = serve_misbehaving().await;
    let client = reqwest::Client::new();
    let resp = client
        .get(format!("http://{addr}/api/numbers?limit=abc"))
        .send()
        .await
        .unwrap();
    let body = assert_problem(resp, 400, "invalid_query").await;
    assert!(body["detail"].as_str().unwrap().contains("limit"));
    let resp = client
        .get(format!("http://{addr}/api/numbers"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_query").await;
    let resp = client
        .get(format!("http://{addr}/api/numbers?limit=7"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "7");
}

#[tokio::test]
async fn panic_is_500_internal_without_details_and_keeps_the_connection() {
    let addr = serve_misbehaving().await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /panic HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut first = String::new();
    for _ in 0..2 {
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(text.starts_with("HTTP/1.1 500"), "{text}");
        assert!(text.contains("application/problem+json"));
        assert!(text.contains("\"code\":\"internal\""));
        assert!(!text.contains("boom"), "panic message leaked: {text}");
        assert!(!text.contains("secret"));
        if first.is_empty() {
            first = text;
        }
    }
    // The second request went over the same socket: the connection survived the panic.
}
