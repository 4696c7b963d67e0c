//! One subscriber: opens an event stream (and for PocketBase subscribes its client id to
//! the topic), then reads until told to stop, matching every create it is sent to the
//! writer's table: latency, duplicates, and which creates it saw (for the missing count).

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};

use crate::board::Board;
use crate::events::{classify, Delivery};
use crate::histogram::Histogram;
use crate::http1::{self, ChunkedDecoder};
use crate::sse::{Event, SseParser};
use crate::target::{Shape, Target};

/// What one subscriber saw.
#[derive(Default)]
pub struct SubStats {
    /// Bit n set: create n was delivered (bitset over create numbers).
    pub seen: Vec<u64>,
    /// Measured creates delivered, duplicates included.
    pub deliveries: u64,
    pub duplicates: u64,
    /// Created events that do not carry one of this run's numbers.
    pub foreign: u64,
    pub other: u64,
    pub resets: u64,
    /// Events whose numeric `id:` was not above the one before (Hearth's sequence).
    pub seq_regressions: u64,
    pub comments: u64,
    /// Receive − acknowledgement, and receive − send, µs.
    pub from_ack: Histogram,
    pub from_send: Histogram,
    /// Deliveries that arrived before the writer had read the create's response.
    pub before_ack: u64,
    /// Deliveries whose create had no acknowledgement time yet: resolved at the end.
    pending: Vec<(u64, u64)>,
    pub last_recv: u64,
    probed: bool,
    last_seq: Option<u64>,
    /// The event the server announced the stream's end with (`overflow`).
    pub ending: Option<String>,
    /// Why the stream ended before the round stopped it.
    pub ended: Option<String>,
}

impl SubStats {
    fn mark_seen(&mut self, n: u64) -> bool {
        let (word, bit) = ((n / 64) as usize, n % 64);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        let was = self.seen[word] & (1 << bit) != 0;
        self.seen[word] |= 1 << bit;
        was
    }

    fn record_latency(&mut self, recv: u64, send: u64, ack: u64) {
        if recv < ack {
            self.before_ack += 1;
        }
        self.from_ack.record(recv.saturating_sub(ack) / 1000);
        self.from_send.record(recv.saturating_sub(send) / 1000);
    }

    /// Handles one event received at `recv`; returns whether it was a measured delivery.
    fn on_event(&mut self, board: &Board, target: &Target, event: &Event<'_>, recv: u64) -> bool {
        // Hearth's ids are the collection's sequence; PocketBase's is the client id.
        let seq = match target.shape {
            Shape::Hearth => std::str::from_utf8(event.id)
                .ok()
                .and_then(|s| s.parse::<u64>().ok()),
            Shape::Pocketbase => None,
        };
        if let Some(seq) = seq {
            if self.last_seq.is_some_and(|last| seq <= last) {
                self.seq_regressions += 1;
            }
            self.last_seq = Some(seq);
        }
        let n = match classify(target.shape, event, &target.seq_field) {
            Delivery::Created(n) if n < board.capacity() => n,
            Delivery::Created(_) | Delivery::Foreign => {
                self.foreign += 1;
                return false;
            }
            Delivery::Reset => {
                self.resets += 1;
                return false;
            }
            Delivery::Ending => {
                self.ending = Some(String::from_utf8_lossy(event.name).into_owned());
                return false;
            }
            Delivery::Other => {
                self.other += 1;
                return false;
            }
        };
        if !board.is_measured(n) {
            if !self.probed {
                self.probed = true;
                board.probed.fetch_add(1, Ordering::Relaxed);
            }
            return false;
        }
        self.deliveries += 1;
        self.last_recv = recv;
        if self.mark_seen(n) {
            self.duplicates += 1;
        }
        match board.stamps(n) {
            (send, ack) if ack != 0 => self.record_latency(recv, send, ack),
            _ => self.pending.push((n, recv)),
        }
        true
    }

    /// Latencies of deliveries that came before their create's acknowledgement was
    /// recorded; those never acknowledged (failed creates) get none.
    pub fn resolve_pending(&mut self, board: &Board) {
        for (n, recv) in std::mem::take(&mut self.pending) {
            let (send, ack) = board.stamps(n);
            if ack != 0 {
                self.record_latency(recv, send, ack);
            }
        }
    }
}

/// An open event stream: the socket and the decoders between it and the events.
struct EventStream {
    tcp: TcpStream,
    /// None: the body is not chunked and runs to the end of the connection.
    chunked: Option<ChunkedDecoder>,
    body: Vec<u8>,
    parser: SseParser,
}

impl EventStream {
    async fn open(target: &Target) -> Result<(Self, Vec<u8>), String> {
        let mut tcp = target
            .connect()
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let headers = "Accept: text/event-stream\r\nCache-Control: no-cache\r\n";
        http1::write_request(
            &mut tcp,
            "GET",
            &target.stream_path,
            &target.host,
            headers,
            None,
        )
        .await
        .map_err(|e| format!("send GET: {e}"))?;
        let mut rest = Vec::new();
        let head = http1::read_head(&mut tcp, &mut rest)
            .await
            .map_err(|e| format!("stream head: {e}"))?;
        if head.status != 200 || !head.content_type.starts_with("text/event-stream") {
            return Err(format!(
                "GET {} answered {} {:?}, not a 200 event stream",
                target.stream_path, head.status, head.content_type
            ));
        }
        let stream = Self {
            tcp,
            chunked: head.chunked.then(ChunkedDecoder::default),
            body: Vec::new(),
            parser: SseParser::default(),
        };
        Ok((stream, rest))
    }

    /// Decodes bytes read from the socket and hands every completed event to `on_event`.
    fn feed(&mut self, raw: &[u8], on_event: impl FnMut(Event<'_>)) -> Result<(), String> {
        let bytes = match &mut self.chunked {
            Some(decoder) => {
                self.body.clear();
                decoder
                    .decode(raw, &mut self.body)
                    .map_err(|e| e.to_string())?;
                if decoder.is_done() {
                    return Err("the server ended the stream".to_string());
                }
                &self.body[..]
            }
            None => raw,
        };
        self.parser.feed(bytes, on_event)
    }
}

/// PocketBase: the first event, `PB_CONNECT`, names the client; a POST subscribes it.
async fn subscribe_pocketbase(
    target: &Target,
    stream: &mut EventStream,
    mut rest: Vec<u8>,
) -> Result<(), String> {
    let mut client_id = None;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        stream.feed(&rest, |e| {
            if e.name == b"PB_CONNECT" {
                client_id = serde_json::from_slice::<serde_json::Value>(e.data)
                    .ok()
                    .and_then(|v| v.get("clientId")?.as_str().map(str::to_string));
            }
        })?;
        if client_id.is_some() {
            break;
        }
        let n = stream
            .tcp
            .read(&mut buf)
            .await
            .map_err(|e| format!("read PB_CONNECT: {e}"))?;
        if n == 0 {
            return Err("stream closed before PB_CONNECT".to_string());
        }
        rest = buf[..n].to_vec();
    }
    let body =
        serde_json::json!({"clientId": client_id, "subscriptions": [target.topic]}).to_string();
    let mut tcp = target
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    http1::write_request(
        &mut tcp,
        "POST",
        &target.stream_path,
        &target.host,
        "Connection: close\r\n",
        Some(("application/json", body.as_bytes())),
    )
    .await
    .map_err(|e| format!("send subscription: {e}"))?;
    let (head, answer) = http1::read_response(&mut tcp, &mut Vec::new())
        .await
        .map_err(|e| format!("subscription answer: {e}"))?;
    if !(200..300).contains(&head.status) {
        return Err(format!(
            "POST {} answered {}: {}",
            target.stream_path,
            head.status,
            String::from_utf8_lossy(&answer)
        ));
    }
    Ok(())
}

async fn open_subscribed(target: &Target) -> Result<(EventStream, Vec<u8>), String> {
    let (mut stream, rest) = EventStream::open(target).await?;
    match target.shape {
        Shape::Hearth => Ok((stream, rest)),
        Shape::Pocketbase => {
            subscribe_pocketbase(target, &mut stream, rest).await?;
            Ok((stream, Vec::new()))
        }
    }
}

/// Feeds what a read returned to the stream's decoders and the stats.
fn process(
    stream: &mut EventStream,
    stats: &mut SubStats,
    board: &Board,
    target: &Target,
    raw: &[u8],
    recv: u64,
) -> Result<(), String> {
    let mut measured = 0;
    let fed = stream.feed(raw, |event| {
        if stats.on_event(board, target, &event, recv) {
            measured += 1;
        }
    });
    board.delivered.fetch_add(measured, Ordering::Relaxed);
    fed
}

/// Runs one subscriber until `stop` turns true. Opening happens under `gate` (a bound on
/// concurrent connects, so a thousand subscribers do not overflow the listen queue) and
/// gives up after `open_timeout` (a server that accepts and never answers).
pub async fn run(
    target: Arc<Target>,
    board: Arc<Board>,
    gate: Arc<Semaphore>,
    open_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) -> Option<SubStats> {
    let opened = {
        let _permit = gate.acquire().await.ok()?;
        tokio::time::timeout(open_timeout, open_subscribed(&target))
            .await
            .unwrap_or_else(|_| Err(format!("no event stream within {open_timeout:?}")))
    };
    let (mut stream, rest) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            board.failed_streams.fetch_add(1, Ordering::Relaxed);
            board.note_error(e);
            return None;
        }
    };
    board.live_streams.fetch_add(1, Ordering::Relaxed);
    let mut stats = SubStats::default();
    let mut buf = vec![0u8; 16 * 1024];
    let mut result = process(&mut stream, &mut stats, &board, &target, &rest, board.now());
    while result.is_ok() && !*stop.borrow() {
        let read: io::Result<usize> = tokio::select! {
            biased;
            _ = stop.changed() => break,
            read = stream.tcp.read(&mut buf) => read,
        };
        // One receive time for every event in what this read returned.
        let recv = board.now();
        result = match read {
            Ok(0) => Err("the server closed the stream".to_string()),
            Ok(n) => process(&mut stream, &mut stats, &board, &target, &buf[..n], recv),
            Err(e) => Err(format!("read: {e}")),
        };
    }
    stats.ended = result.err().map(|e| match &stats.ending {
        Some(event) => format!("{e} after `event: {event}`"),
        None => e,
    });
    stats.comments = stream.parser.comments();
    if stats.ended.is_some() {
        board.live_streams.fetch_sub(1, Ordering::Relaxed);
        board.lost_streams.fetch_add(1, Ordering::Relaxed);
    }
    Some(stats)
}
