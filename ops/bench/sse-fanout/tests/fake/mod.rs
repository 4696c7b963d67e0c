//! A fake realtime server for the tests: the Hearth and PocketBase shapes of the event
//! stream and of a create, over plain HTTP/1.1, with faults to inject (an event skipped
//! or sent twice to one stream) so the tests can see the tool count them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeShape {
    Hearth,
    Pocketbase,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// The first stream does not get the create with this seq.
    pub skip_seq_on_first: Option<u64>,
    /// The first stream gets the create with this seq twice.
    pub duplicate_seq_on_first: Option<u64>,
}

struct State {
    shape: FakeShape,
    faults: Faults,
    seq: AtomicU64,
    clients: AtomicU64,
    /// Open streams in the order they subscribed (PocketBase: once subscribed).
    streams: Mutex<Vec<mpsc::UnboundedSender<String>>>,
    /// PocketBase client ids waiting for their subscription POST.
    pending: Mutex<HashMap<String, mpsc::UnboundedSender<String>>>,
}

pub async fn start(shape: FakeShape, faults: Faults) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = Arc::new(State {
        shape,
        faults,
        seq: AtomicU64::new(0),
        clients: AtomicU64::new(0),
        streams: Mutex::new(Vec::new()),
        pending: Mutex::new(HashMap::new()),
    });
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve(tcp, state.clone()));
        }
    });
    addr
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

async fn read_request(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let mut chunk = [0u8; 4096];
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..end].to_vec()).ok()?;
    buf.drain(..end + 4);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < length {
        let mut chunk = [0u8; 4096];
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf.drain(..length).collect();
    Some(Request { method, path, body })
}

fn chunk(text: &str) -> Vec<u8> {
    format!("{:x}\r\n{text}\r\n", text.len()).into_bytes()
}

async fn respond(tcp: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let text = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(text.as_bytes()).await
}

async fn serve(mut tcp: TcpStream, state: Arc<State>) {
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut tcp, &mut buf).await {
        let stream_path = match state.shape {
            FakeShape::Hearth => "/api/v1/posts/events",
            FakeShape::Pocketbase => "/api/realtime",
        };
        let create_path = match state.shape {
            FakeShape::Hearth => "/api/v1/posts",
            FakeShape::Pocketbase => "/api/collections/posts/records",
        };
        let result = match (req.method.as_str(), req.path.as_str()) {
            ("GET", p) if p == stream_path => return stream(tcp, state).await,
            ("POST", "/api/realtime") => subscribe(&mut tcp, &state, &req.body).await,
            ("POST", p) if p == create_path => create(&mut tcp, &state, &req.body).await,
            _ => respond(&mut tcp, "404 Not Found", "{}").await,
        };
        if result.is_err() {
            return;
        }
    }
}

async fn stream(mut tcp: TcpStream, state: Arc<State>) {
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    if tcp.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let hello = match state.shape {
        FakeShape::Hearth => {
            state.streams.lock().expect("lock").push(tx);
            ": ping\n\n".to_string()
        }
        FakeShape::Pocketbase => {
            let id = format!("client{}", state.clients.fetch_add(1, Ordering::Relaxed));
            state.pending.lock().expect("lock").insert(id.clone(), tx);
            format!("id:{id}\nevent:PB_CONNECT\ndata:{{\"clientId\":\"{id}\"}}\n\n")
        }
    };
    if tcp.write_all(&chunk(&hello)).await.is_err() {
        return;
    }
    while let Some(event) = rx.recv().await {
        if tcp.write_all(&chunk(&event)).await.is_err() {
            return;
        }
    }
}

async fn subscribe(tcp: &mut TcpStream, state: &State, body: &[u8]) -> std::io::Result<()> {
    let form: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let id = form["clientId"].as_str().unwrap_or_default();
    let subscribed = form["subscriptions"].get(0).and_then(|t| t.as_str()) == Some("posts");
    let waiting = state.pending.lock().expect("lock").remove(id);
    match waiting {
        Some(tx) if subscribed => state.streams.lock().expect("lock").push(tx),
        _ => return respond(tcp, "404 Not Found", "{}").await,
    }
    tcp.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await
}

async fn create(tcp: &mut TcpStream, state: &State, body: &[u8]) -> std::io::Result<()> {
    let mut record: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let seq = state.seq.fetch_add(1, Ordering::Relaxed) + 1;
    record["id"] = format!("rec{seq}").into();
    record["created_at"] = "2026-01-01T00:00:00Z".into();
    let event = match state.shape {
        FakeShape::Hearth => {
            let data = serde_json::json!({"collection": "posts", "seq": seq, "record": record});
            format!("id: {seq}\nevent: created\ndata: {data}\n\n")
        }
        FakeShape::Pocketbase => {
            let data = serde_json::json!({"action": "create", "record": record});
            format!("id:x\nevent:posts\ndata:{data}\n\n")
        }
    };
    // Broadcast before answering, as a server that publishes on commit may.
    for (i, tx) in state.streams.lock().expect("lock").iter().enumerate() {
        let first = i == 0;
        if first && state.faults.skip_seq_on_first == Some(seq) {
            continue;
        }
        let _ = tx.send(event.clone());
        if first && state.faults.duplicate_seq_on_first == Some(seq) {
            let _ = tx.send(event.clone());
        }
    }
    respond(tcp, "201 Created", &record.to_string()).await
}
