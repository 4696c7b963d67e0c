//! The four measurements, each one or two rounds:
//! (a) `fanout`: N streams, creates at a fixed rate R: latency, deliveries, losses;
//! (b) `saturation`: N streams, creates as fast as the streams keep up: deliveries/s;
//! (c) `idle`: N idle streams: server memory per stream;
//! (d) `throughput`: creates as fast as possible with no stream, then (b): the ratio.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::report::{self, Row, RowContext};
use crate::round::{self, RoundResult, RoundSpec};
use crate::target::Target;
use crate::writer::{Pace, WriterSpec};

#[derive(Debug, Clone)]
pub struct Settings {
    pub label: String,
    pub subscribers: usize,
    pub rate: f64,
    pub duration: Duration,
    pub writers: usize,
    pub max_backlog: u64,
    pub saturation_window: u64,
    pub max_creates: usize,
    pub connect_parallel: usize,
    pub setup_timeout: Duration,
    pub idle_hold: Duration,
    pub drain_idle: Duration,
    pub drain_max: Duration,
    pub server_pid: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Fanout,
    Saturation,
    Idle,
    Throughput,
}

/// Probes are sent every 250 ms at most until the streams are all live.
fn probe_allowance(s: &Settings) -> usize {
    (s.setup_timeout.as_secs_f64() * 4.0) as usize + 10
}

fn spec(s: &Settings, subscribers: usize, writer: Option<WriterSpec>) -> RoundSpec {
    let capacity = match writer.map(|w| w.pace) {
        Some(Pace::Rate { per_second, .. }) => {
            (per_second * s.duration.as_secs_f64()).ceil() as usize + s.writers + probe_allowance(s)
        }
        Some(Pace::Saturate { .. }) => s.max_creates + probe_allowance(s),
        None => 0,
    };
    RoundSpec {
        subscribers,
        writer,
        capacity,
        connect_parallel: s.connect_parallel,
        setup_timeout: s.setup_timeout,
        idle_hold: s.idle_hold,
        drain_idle: s.drain_idle,
        drain_max: s.drain_max,
        server_pid: s.server_pid,
    }
}

fn saturate(s: &Settings, subscribers: usize) -> WriterSpec {
    WriterSpec {
        connections: s.writers,
        pace: Pace::Saturate {
            max_backlog: s.saturation_window.saturating_mul(subscribers as u64),
        },
        duration: s.duration,
    }
}

fn row_of(s: &Settings, mode: &str, offered: Option<f64>, idle: bool, r: &RoundResult) -> Row {
    report::row(
        r,
        &RowContext {
            label: &s.label,
            mode,
            offered,
            idle,
        },
    )
}

/// Runs one mode; the rows in the order measured.
pub async fn run(target: Arc<Target>, mode: Mode, s: &Settings) -> Result<Vec<Row>, String> {
    let n = s.subscribers;
    match mode {
        Mode::Fanout => {
            let writer = WriterSpec {
                connections: s.writers,
                pace: Pace::Rate {
                    per_second: s.rate,
                    max_backlog: s.max_backlog,
                },
                duration: s.duration,
            };
            let r = round::run(target, spec(s, n, Some(writer))).await?;
            Ok(vec![row_of(s, "fan-out", Some(s.rate), false, &r)])
        }
        Mode::Saturation => {
            let r = round::run(target, spec(s, n, Some(saturate(s, n)))).await?;
            Ok(vec![row_of(s, "saturation", None, false, &r)])
        }
        Mode::Idle => {
            let r = round::run(target, spec(s, n, None)).await?;
            Ok(vec![row_of(s, "idle", None, true, &r)])
        }
        Mode::Throughput => {
            let alone = round::run(target.clone(), spec(s, 0, Some(saturate(s, 0)))).await?;
            // Let the server close the first round's connections before the streams open.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let with = round::run(target, spec(s, n, Some(saturate(s, n)))).await?;
            let rate = |r: &RoundResult| {
                if r.write_secs > 0.0 {
                    r.creates_acked as f64 / r.write_secs
                } else {
                    0.0
                }
            };
            let ratio = if rate(&alone) > 0.0 {
                rate(&with) / rate(&alone)
            } else {
                0.0
            };
            let first = row_of(s, "no streams", None, false, &alone);
            let mut second = row_of(s, "saturation", None, false, &with);
            second.json["create_ratio_vs_no_streams"] = json!(ratio);
            let note = format!("creates {ratio:.2}× of no streams");
            second.markdown = with_note(&second.markdown, &note);
            Ok(vec![first, second])
        }
    }
}

/// Appends a note to the last (notes) cell of a markdown row.
fn with_note(markdown: &str, note: &str) -> String {
    let body = markdown.strip_suffix(" |").unwrap_or(markdown);
    match body.rsplit_once(" | ") {
        Some((before, "")) => format!("{before} | {note} |"),
        Some((before, notes)) => format!("{before} | {note}; {notes} |"),
        None => markdown.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_go_into_the_last_cell() {
        assert_eq!(with_note("| a | b |  |", "x"), "| a | b | x |");
        assert_eq!(with_note("| a | b | y |", "x"), "| a | b | x; y |");
    }
}
