//! A round's result as a markdown table row (for people) and a JSON object (for the
//! script that compares servers).

use serde_json::{json, Value};

use crate::round::RoundResult;

pub const HEADER: &str = "| server | mode | streams | offered creates/s | creates/s | deliveries/s | latency from answer p50 / p99 / max ms | from request p50 / p99 ms | missing | dup | server CPU % | CPU µs/delivery | server RSS MB (peak) | tool CPU % | notes |\n\
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |";

/// What the row is about, beside the numbers.
pub struct RowContext<'a> {
    pub label: &'a str,
    pub mode: &'a str,
    /// None: as fast as the writer goes.
    pub offered: Option<f64>,
    /// Idle rows report memory per stream instead of latency.
    pub idle: bool,
}

pub struct Row {
    pub markdown: String,
    pub json: Value,
}

fn per_second(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// Memory the streams added, per stream, in KB.
pub fn idle_kb_per_stream(r: &RoundResult) -> Option<f64> {
    let server = r.server?;
    (r.streams_opened > 0).then(|| {
        (server.rss_end_kb as f64 - server.rss_no_streams_kb as f64) / r.streams_opened as f64
    })
}

fn notes(r: &RoundResult, ctx: &RowContext<'_>) -> Vec<String> {
    let mut notes = Vec::new();
    if ctx.idle {
        if let (Some(kb), Some(s)) = (idle_kb_per_stream(r), r.server) {
            notes.push(format!(
                "{kb:.1} KB/stream (RSS {:.1} → {:.1} MB); {} heartbeats in {:.0} s",
                s.rss_no_streams_kb as f64 / 1024.0,
                s.rss_end_kb as f64 / 1024.0,
                r.heartbeats,
                r.window_secs
            ));
        }
    }
    let counted = [
        (r.streams_failed, "streams failed to open"),
        (r.streams_lost, "streams lost"),
        (r.resets, "resets"),
        (r.overflows, "streams ended by overflow"),
        (r.seq_regressions, "id regressions"),
        (r.foreign, "foreign creates"),
        (r.unacked_deliveries, "unacknowledged creates delivered"),
        (r.creates_failed, "creates failed"),
    ];
    for (count, what) in counted {
        if count > 0 {
            notes.push(format!("{count} {what}"));
        }
    }
    if r.streams_probed < r.streams_opened && !ctx.idle && r.subscribers > 0 {
        notes.push(format!(
            "{} of {} streams saw a probe",
            r.streams_probed, r.streams_opened
        ));
    }
    if r.backlog_tripped {
        notes.push("writer stopped early: subscribers fell behind".to_string());
    }
    if !r.drained {
        notes.push("not drained".to_string());
    }
    if r.worst_missing > 0 {
        notes.push(format!("worst stream missed {}", r.worst_missing));
    }
    if r.deliveries > 0 && r.before_ack > 0 {
        notes.push(format!(
            "{:.0} % delivered before the create's answer",
            100.0 * r.before_ack as f64 / r.deliveries as f64
        ));
    }
    if let Some(others) = others_pct(r).filter(|&p| p >= 10.0) {
        notes.push(format!(
            "other processes used {others:.0} % of a core: rerun"
        ));
    }
    if let Some(e) = &r.first_error {
        if r.streams_failed + r.streams_lost + r.creates_failed > 0 {
            let e: String = e.chars().take(160).collect();
            notes.push(format!("first error: {}", e.replace('|', "/")));
        }
    }
    notes
}

/// What other processes used during the window, % of one core.
fn others_pct(r: &RoundResult) -> Option<f64> {
    r.others_cpu_us
        .map(|us| 100.0 * us as f64 / (r.window_secs * 1e6).max(1.0))
}

pub fn row(r: &RoundResult, ctx: &RowContext<'_>) -> Row {
    let creates_per_s = per_second(r.creates_acked, r.write_secs);
    let deliveries_per_s = per_second(r.deliveries, r.delivery_secs);
    let cpu_us = r.server.map(|s| s.cpu_us);
    let cpu_pct = cpu_us.map(|c| 100.0 * c as f64 / (r.window_secs * 1e6).max(1.0));
    let cpu_per_delivery = cpu_us
        .filter(|_| r.deliveries > 0)
        .map(|c| c as f64 / r.deliveries as f64);
    let tool_pct = 100.0 * r.tool_cpu_us as f64 / (r.window_secs * 1e6).max(1.0);
    let peak_mb = r.server.map(|s| s.rss_peak_kb as f64 / 1024.0);
    let notes = notes(r, ctx);
    let dash = || "–".to_string();
    let streams = if r.streams_opened as usize == r.subscribers {
        r.subscribers.to_string()
    } else {
        format!("{}/{}", r.streams_opened, r.subscribers)
    };
    let measured = r.from_ack.count() > 0;
    let from_ack = [
        r.from_ack.quantile(0.5),
        r.from_ack.quantile(0.99),
        r.from_ack.max(),
    ];
    let from_send = [r.from_send.quantile(0.5), r.from_send.quantile(0.99)];
    let latency = |values: &[u64]| {
        if measured {
            values
                .iter()
                .map(|&us| ms(us))
                .collect::<Vec<_>>()
                .join(" / ")
        } else {
            dash()
        }
    };
    let writing = !ctx.idle;
    let cells = [
        ctx.label.to_string(),
        ctx.mode.to_string(),
        streams,
        match (writing, ctx.offered) {
            (false, _) => dash(),
            (true, Some(rate)) => thousands(rate),
            (true, None) => "max".to_string(),
        },
        if writing {
            thousands(creates_per_s)
        } else {
            dash()
        },
        if writing && r.subscribers > 0 {
            thousands(deliveries_per_s)
        } else {
            dash()
        },
        latency(&from_ack),
        latency(&from_send),
        if writing && r.subscribers > 0 {
            r.missing.to_string()
        } else {
            dash()
        },
        if writing && r.subscribers > 0 {
            r.duplicates.to_string()
        } else {
            dash()
        },
        cpu_pct.map_or_else(dash, |p| format!("{p:.0}")),
        cpu_per_delivery.map_or_else(dash, |c| format!("{c:.2}")),
        peak_mb.map_or_else(dash, |m| format!("{m:.0}")),
        format!("{tool_pct:.0}"),
        if notes.is_empty() {
            String::new()
        } else {
            notes.join("; ")
        },
    ];
    let markdown = format!("| {} |", cells.join(" | "));
    let ms_of = |us: u64| us as f64 / 1000.0;
    let json = json!({
        "label": ctx.label,
        "mode": ctx.mode,
        "subscribers": r.subscribers,
        "streams_opened": r.streams_opened,
        "streams_failed": r.streams_failed,
        "streams_lost": r.streams_lost,
        "offered_per_s": ctx.offered,
        "creates": r.creates_acked,
        "creates_failed": r.creates_failed,
        "creates_per_s": creates_per_s,
        "deliveries": r.deliveries,
        "deliveries_per_s": deliveries_per_s,
        "latency_from_ack_ms": {
            "p50": ms_of(r.from_ack.quantile(0.5)), "p99": ms_of(r.from_ack.quantile(0.99)),
            "max": ms_of(r.from_ack.max()), "count": r.from_ack.count(),
        },
        "latency_from_send_ms": {
            "p50": ms_of(r.from_send.quantile(0.5)), "p99": ms_of(r.from_send.quantile(0.99)),
            "max": ms_of(r.from_send.max()),
        },
        "delivered_before_ack": r.before_ack,
        "missing": r.missing,
        "worst_stream_missing": r.worst_missing,
        "duplicates": r.duplicates,
        "resets": r.resets,
        "overflows": r.overflows,
        "id_regressions": r.seq_regressions,
        "foreign": r.foreign,
        "unacked_deliveries": r.unacked_deliveries,
        "heartbeats": r.heartbeats,
        "window_s": r.window_secs,
        "server_cpu_us": cpu_us,
        "server_cpu_pct": cpu_pct,
        "server_cpu_us_per_delivery": cpu_per_delivery,
        "server_rss_peak_mb": peak_mb,
        "server_rss_no_streams_kb": r.server.map(|s| s.rss_no_streams_kb),
        "server_rss_end_kb": r.server.map(|s| s.rss_end_kb),
        "idle_kb_per_stream": if ctx.idle { idle_kb_per_stream(r) } else { None },
        "tool_cpu_pct": tool_pct,
        "others_cpu_pct": others_pct(r),
        "drained": r.drained,
        "backlog_tripped": r.backlog_tripped,
        "first_error": r.first_error,
        "notes": notes,
    });
    Row { markdown, json }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(ms(1234), "1.23");
        assert_eq!(ms(45_600), "45.6");
        assert_eq!(ms(1_234_000), "1234");
    }

    #[test]
    fn a_clean_row_and_a_broken_one() {
        let mut r = RoundResult {
            subscribers: 10,
            streams_opened: 10,
            streams_probed: 10,
            creates_acked: 100,
            write_secs: 1.0,
            deliveries: 1000,
            delivery_secs: 1.0,
            window_secs: 1.0,
            drained: true,
            ..RoundResult::default()
        };
        r.from_ack.record(1500);
        r.from_send.record(2500);
        let ctx = RowContext {
            label: "hearth",
            mode: "fanout",
            offered: Some(100.0),
            idle: false,
        };
        let clean = row(&r, &ctx);
        assert_eq!(
            clean.markdown.matches('|').count(),
            HEADER.lines().next().unwrap().matches('|').count()
        );
        assert!(clean.markdown.contains("| 1,000 |"), "{}", clean.markdown);
        assert!(
            clean
                .markdown
                .contains("| 1.50 / 1.50 / 1.50 | 2.50 / 2.50 |"),
            "{}",
            clean.markdown
        );
        assert!(
            clean.markdown.ends_with("|  |"),
            "no notes: {}",
            clean.markdown
        );
        assert_eq!(clean.json["missing"], 0);

        r.missing = 7;
        r.worst_missing = 7;
        r.streams_lost = 1;
        r.drained = false;
        r.first_error = Some("stream ended: a | b".to_string());
        let broken = row(&r, &ctx);
        assert!(
            broken.markdown.contains("1 streams lost"),
            "{}",
            broken.markdown
        );
        assert!(broken.markdown.contains("not drained"));
        assert!(
            broken.markdown.contains("a / b"),
            "pipes escaped: {}",
            broken.markdown
        );
        assert_eq!(broken.json["missing"], 7);

        r.others_cpu_us = Some(500_000); // half a core over the 1 s window
        let noisy = row(&r, &ctx);
        assert!(
            noisy
                .markdown
                .contains("other processes used 50 % of a core"),
            "{}",
            noisy.markdown
        );
        assert_eq!(noisy.json["others_cpu_pct"], 50.0);
    }
}
