//! One measurement round: open the streams, probe until every stream is known to
//! receive, write (or hold the streams idle), drain, stop, and add up what every
//! subscriber saw alongside the server's CPU and memory over the measured window.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};

use crate::board::Board;
use crate::histogram::Histogram;
use crate::procstat::{self, PeakRss, ProcSample};
use crate::subscriber::{self, SubStats};
use crate::target::Target;
use crate::writer::{self, Connection, WriterSpec, WriterStats};

#[derive(Debug, Clone)]
pub struct RoundSpec {
    pub subscribers: usize,
    /// None: an idle round (streams held open for `idle_hold`, nothing written).
    pub writer: Option<WriterSpec>,
    /// Creates the round can number (probes included).
    pub capacity: usize,
    pub connect_parallel: usize,
    pub setup_timeout: Duration,
    pub idle_hold: Duration,
    /// The drain ends when every delivery owed has arrived, when none arrived for
    /// `drain_idle`, or after `drain_max`.
    pub drain_idle: Duration,
    pub drain_max: Duration,
    pub server_pid: Option<u32>,
}

/// The server's use of CPU and memory over the measured window.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerUse {
    pub cpu_us: u64,
    /// Before the streams were opened, at the end of the window, and the highest sampled.
    pub rss_no_streams_kb: u64,
    pub rss_end_kb: u64,
    pub rss_peak_kb: u64,
}

#[derive(Default)]
pub struct RoundResult {
    pub subscribers: usize,
    pub streams_opened: u64,
    pub streams_failed: u64,
    pub streams_lost: u64,
    pub streams_probed: u64,
    pub first_error: Option<String>,
    pub creates_acked: u64,
    pub creates_failed: u64,
    /// First measured send to last acknowledgement, and to the last delivery.
    pub write_secs: f64,
    pub delivery_secs: f64,
    /// The measured window (writing and draining, or holding idle streams).
    pub window_secs: f64,
    pub deliveries: u64,
    pub from_ack: Histogram,
    pub from_send: Histogram,
    pub before_ack: u64,
    pub missing: u64,
    pub worst_missing: u64,
    pub duplicates: u64,
    /// Deliveries of creates the writer never saw acknowledged (failed or cut off).
    pub unacked_deliveries: u64,
    pub foreign: u64,
    pub resets: u64,
    /// Streams the server ended with `event: overflow` (too slow a subscriber).
    pub overflows: u64,
    pub seq_regressions: u64,
    pub heartbeats: u64,
    pub backlog_tripped: bool,
    pub drained: bool,
    pub server: Option<ServerUse>,
    pub tool_cpu_us: u64,
    /// CPU the rest of the machine used over the window (not the server, not the tool):
    /// noise that makes a row worth rerunning.
    pub others_cpu_us: Option<u64>,
}

async fn wait_for(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Creates probes, one at a time, until every live stream has seen one: only then is a
/// stream known to be subscribed (Hearth may register it after the response head,
/// PocketBase after the subscription POST). Errors when creates fail outright.
async fn probe(target: &Target, board: &Board, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut conn = Connection::new();
    let all_probed =
        || board.probed.load(Ordering::Relaxed) >= board.live_streams.load(Ordering::Relaxed);
    while !all_probed() && Instant::now() < deadline {
        let Some(n) = board.take_number() else { break };
        if writer::create(target, board, &mut conn, n).await.is_none()
            && board.failed.load(Ordering::Relaxed) >= 3
        {
            return Err(format!(
                "creates fail: {}",
                board
                    .first_error()
                    .unwrap_or_else(|| "unknown error".to_string())
            ));
        }
        wait_for(Duration::from_millis(250), all_probed).await;
    }
    Ok(())
}

/// Waits until every acknowledged create reached every live stream, or deliveries stop
/// coming. Returns whether everything owed arrived.
async fn drain(board: &Board, spec: &RoundSpec) -> bool {
    let start = Instant::now();
    let mut last = (board.delivered.load(Ordering::Relaxed), Instant::now());
    loop {
        let delivered = board.delivered.load(Ordering::Relaxed);
        let owed = board.measured_acked() * board.live_streams.load(Ordering::Relaxed);
        if delivered >= owed {
            return true;
        }
        let now = Instant::now();
        if delivered != last.0 {
            last = (delivered, now);
        }
        if now - last.1 >= spec.drain_idle || now - start >= spec.drain_max {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Measured, acknowledged creates as a bitset over create numbers.
fn acked_bits(board: &Board) -> Vec<u64> {
    let taken = board.numbers_taken();
    let mut bits = vec![0u64; taken.div_ceil(64) as usize];
    for n in board.first_measured().min(taken)..taken {
        if board.stamps(n).1 != 0 {
            bits[(n / 64) as usize] |= 1 << (n % 64);
        }
    }
    bits
}

/// Adds every subscriber's counts into `result`; returns the stamp of the last delivery.
fn add_up(result: &mut RoundResult, board: &Board, mut stats: Vec<SubStats>) -> u64 {
    let acked = acked_bits(board);
    let mut last_recv = 0;
    for sub in &mut stats {
        sub.resolve_pending(board);
        let mut missing = 0;
        for (i, &want) in acked.iter().enumerate() {
            let got = sub.seen.get(i).copied().unwrap_or(0);
            missing += u64::from((want & !got).count_ones());
            result.unacked_deliveries += u64::from((got & !want).count_ones());
        }
        result.missing += missing;
        result.worst_missing = result.worst_missing.max(missing);
        result.deliveries += sub.deliveries;
        last_recv = last_recv.max(sub.last_recv);
        result.duplicates += sub.duplicates;
        result.before_ack += sub.before_ack;
        result.foreign += sub.foreign;
        result.resets += sub.resets;
        result.overflows += u64::from(sub.ending.as_deref() == Some("overflow"));
        result.seq_regressions += sub.seq_regressions;
        result.heartbeats += sub.comments;
        result.from_ack.merge(&sub.from_ack);
        result.from_send.merge(&sub.from_send);
        if let Some(reason) = &sub.ended {
            board.note_error(format!("stream ended: {reason}"));
        }
    }
    last_recv
}

pub async fn run(target: Arc<Target>, spec: RoundSpec) -> Result<RoundResult, String> {
    let board = Arc::new(Board::new(spec.capacity));
    let pid = spec.server_pid;
    let rss_no_streams_kb = pid.and_then(procstat::sample).map_or(0, |s| s.rss_kb);
    let (stop, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(spec.connect_parallel.max(1)));
    let subscribers: Vec<_> = (0..spec.subscribers)
        .map(|_| {
            tokio::spawn(subscriber::run(
                target.clone(),
                board.clone(),
                gate.clone(),
                spec.setup_timeout,
                stop_rx.clone(),
            ))
        })
        .collect();
    let wanted = spec.subscribers as u64;
    let settled = || {
        board.live_streams.load(Ordering::Relaxed) + board.failed_streams.load(Ordering::Relaxed)
            >= wanted
    };
    wait_for(spec.setup_timeout, settled).await;
    let opened = board.live_streams.load(Ordering::Relaxed);
    if wanted > 0 && opened == 0 {
        let _ = stop.send(true);
        return Err(format!(
            "no stream opened: {}",
            board
                .first_error()
                .unwrap_or_else(|| "timed out".to_string())
        ));
    }
    if spec.writer.is_some() && opened > 0 {
        if let Err(e) = probe(&target, &board, spec.setup_timeout).await {
            let _ = stop.send(true);
            return Err(e);
        }
    }
    board.start_measuring();

    let me = std::process::id();
    let (server_before, tool_before) = (pid.and_then(procstat::sample), procstat::sample(me));
    let machine_before = procstat::machine_busy_us();
    let peak = pid.map(PeakRss::start);
    let window = Instant::now();
    let mut writer_stats = WriterStats::default();
    let mut drained = true;
    match spec.writer {
        Some(writer_spec) => {
            writer_stats = writer::run(target.clone(), board.clone(), writer_spec).await;
            drained = drain(&board, &spec).await;
        }
        None => tokio::time::sleep(spec.idle_hold).await,
    }
    let window_secs = window.elapsed().as_secs_f64();
    let (server_after, tool_after) = (pid.and_then(procstat::sample), procstat::sample(me));
    let machine_after = procstat::machine_busy_us();
    let rss_peak_kb = match (peak, pid) {
        (Some(peak), Some(pid)) => peak.finish(pid).await,
        _ => 0,
    };

    let _ = stop.send(true);
    let mut stats = Vec::with_capacity(subscribers.len());
    for task in subscribers {
        if let Ok(Some(sub)) = task.await {
            stats.push(sub);
        }
    }
    let cpu = |before: Option<ProcSample>, after: Option<ProcSample>| match (before, after) {
        (Some(b), Some(a)) => Some((a.cpu_us.saturating_sub(b.cpu_us), a.rss_kb)),
        _ => None,
    };
    let mut result = RoundResult {
        subscribers: spec.subscribers,
        streams_opened: opened,
        streams_failed: board.failed_streams.load(Ordering::Relaxed),
        streams_lost: board.lost_streams.load(Ordering::Relaxed),
        streams_probed: board.probed.load(Ordering::Relaxed),
        creates_acked: board.measured_acked(),
        creates_failed: board.failed.load(Ordering::Relaxed),
        window_secs,
        backlog_tripped: board.backlog_tripped.load(Ordering::Relaxed),
        drained,
        server: cpu(server_before, server_after).map(|(cpu_us, rss_end_kb)| ServerUse {
            cpu_us,
            rss_no_streams_kb,
            rss_end_kb,
            rss_peak_kb,
        }),
        tool_cpu_us: cpu(tool_before, tool_after).map_or(0, |(cpu_us, _)| cpu_us),
        ..RoundResult::default()
    };
    let last_recv =
        board.instant_of(add_up(&mut result, &board, stats).max(writer_stats.first_send));
    let first_send = board.instant_of(writer_stats.first_send);
    if writer_stats.first_send != 0 {
        result.write_secs = (board.instant_of(writer_stats.last_ack) - first_send).as_secs_f64();
        result.delivery_secs = last_recv
            .saturating_duration_since(first_send)
            .as_secs_f64();
    }
    result.first_error = board.first_error();
    result.others_cpu_us = match (machine_before, machine_after, result.server) {
        (Some(before), Some(after), Some(server)) => {
            Some((after.saturating_sub(before)).saturating_sub(server.cpu_us + result.tool_cpu_us))
        }
        _ => None,
    };
    Ok(result)
}
