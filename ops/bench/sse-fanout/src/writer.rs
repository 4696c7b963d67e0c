//! The writer: creates records over a few keep-alive connections, each carrying its
//! number in the sequence field, and records when each was sent and acknowledged.
//!
//! Open loop (`Pace::Rate`): create n is due at start + n/R whatever happened to the
//! creates before it, so a slow server shows up as a lower achieved rate, not as a
//! slower offered one. With one request in flight per connection, the connections bound
//! the rate at connections / create latency.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::board::Board;
use crate::http1;
use crate::target::Target;

/// A create not answered by then is counted failed and its connection dropped (a round
/// must end even when the server stops answering).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Open loop at this many creates a second. The writer stops early when the streams
    /// fall more than `max_backlog` deliveries behind (a server that queues without
    /// bound would otherwise take the machine's memory with it).
    Rate { per_second: f64, max_backlog: u64 },
    /// As fast as the connections go, pausing while more than `max_backlog` deliveries
    /// are owed: the sustained rate at which every subscriber keeps up.
    Saturate { max_backlog: u64 },
}

#[derive(Debug, Clone, Copy)]
pub struct WriterSpec {
    pub connections: usize,
    pub pace: Pace,
    pub duration: Duration,
}

/// Stamps (as in [`Board`]) of the first measured send and the last acknowledgement.
#[derive(Debug, Default, Clone, Copy)]
pub struct WriterStats {
    pub first_send: u64,
    pub last_ack: u64,
}

impl WriterStats {
    fn merge(&mut self, other: WriterStats) {
        if other.first_send != 0 && (self.first_send == 0 || other.first_send < self.first_send) {
            self.first_send = other.first_send;
        }
        self.last_ack = self.last_ack.max(other.last_ack);
    }
}

/// A keep-alive connection and the bytes read past the last response.
pub struct Connection {
    tcp: Option<TcpStream>,
    leftover: Vec<u8>,
}

impl Connection {
    pub fn new() -> Self {
        Self {
            tcp: None,
            leftover: Vec::new(),
        }
    }
}

impl Default for Connection {
    fn default() -> Self {
        Self::new()
    }
}

/// The create's body: its number in the sequence field (an integer field of the
/// collection) and in the title, for a person reading the data afterwards.
pub fn create_body(target: &Target, n: u64) -> String {
    serde_json::json!({
        "title": format!("sse-fanout {n}"),
        "body": "realtime fan-out benchmark",
        (target.seq_field.as_str()): n,
        "published": true,
    })
    .to_string()
}

/// Sends create `n` and waits for its answer; a 2xx marks it acknowledged. Returns the
/// acknowledgement stamp, or None (counted as failed, the reason noted on the board).
pub async fn create(target: &Target, board: &Board, conn: &mut Connection, n: u64) -> Option<u64> {
    match try_create(target, board, conn, n).await {
        Ok(stamp) => Some(stamp),
        Err(e) => {
            board.failed.fetch_add(1, Ordering::Relaxed);
            board.note_error(e);
            None
        }
    }
}

async fn try_create(
    target: &Target,
    board: &Board,
    conn: &mut Connection,
    n: u64,
) -> Result<u64, String> {
    let body = create_body(target, n);
    let tcp = match &mut conn.tcp {
        Some(tcp) => tcp,
        slot => {
            conn.leftover.clear();
            slot.insert(
                target
                    .connect()
                    .await
                    .map_err(|e| format!("writer connect: {e}"))?,
            )
        }
    };
    board.mark_sent(n);
    let exchange = async {
        http1::write_request(
            tcp,
            "POST",
            &target.create_path,
            &target.host,
            "",
            Some(("application/json", body.as_bytes())),
        )
        .await?;
        http1::read_response(tcp, &mut conn.leftover).await
    };
    let answered = tokio::time::timeout(ANSWER_TIMEOUT, exchange).await;
    let (head, answer) = match answered {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            conn.tcp = None;
            return Err(format!("create: {e}"));
        }
        Err(_) => {
            conn.tcp = None;
            return Err(format!("create: no answer within {ANSWER_TIMEOUT:?}"));
        }
    };
    if head.close {
        conn.tcp = None;
    }
    if !(200..300).contains(&head.status) {
        let answer = String::from_utf8_lossy(&answer[..answer.len().min(300)]).into_owned();
        return Err(format!(
            "POST {} answered {}: {answer}",
            target.create_path, head.status
        ));
    }
    board.mark_acked(n);
    Ok(board.now())
}

async fn one_connection(
    target: Arc<Target>,
    board: Arc<Board>,
    spec: WriterSpec,
    start: Instant,
) -> WriterStats {
    let deadline = start + spec.duration;
    let first = board.first_measured();
    let mut conn = Connection::new();
    let mut stats = WriterStats::default();
    'writing: while Instant::now() < deadline {
        let n = match spec.pace {
            Pace::Rate {
                per_second,
                max_backlog,
            } => {
                if board.backlog_tripped.load(Ordering::Relaxed) {
                    break;
                }
                let Some(n) = board.take_number() else { break };
                let due = start + Duration::from_secs_f64((n - first) as f64 / per_second);
                if due >= deadline {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                if board.backlog() > max_backlog {
                    board.backlog_tripped.store(true, Ordering::Relaxed);
                    break;
                }
                n
            }
            Pace::Saturate { max_backlog } => {
                while board.backlog() > max_backlog {
                    if Instant::now() >= deadline {
                        break 'writing;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let Some(n) = board.take_number() else { break };
                n
            }
        };
        let sent = board.now();
        match create(&target, &board, &mut conn, n).await {
            Some(acked) => {
                stats.merge(WriterStats {
                    first_send: sent,
                    last_ack: acked,
                });
            }
            // Do not spin on a server that refuses: a short pause before the next try.
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    stats
}

/// Runs the writer for `spec.duration` (or until it stops early) and returns when every
/// connection has its last answer.
pub async fn run(target: Arc<Target>, board: Arc<Board>, spec: WriterSpec) -> WriterStats {
    let start = Instant::now();
    let tasks: Vec<_> = (0..spec.connections.max(1))
        .map(|_| tokio::spawn(one_connection(target.clone(), board.clone(), spec, start)))
        .collect();
    let mut stats = WriterStats::default();
    for task in tasks {
        if let Ok(one) = task.await {
            stats.merge(one);
        }
    }
    stats
}
