//! Server-rendered SVG charts over the observability module's per-minute stats
//! (`Observability::stats().window(minutes)`): no chart library, no script.

use observability::stats::{Cell, Window};

pub struct Chart {
    pub title: String,
    pub summary: String,
    pub width: u32,
    pub height: u32,
    /// `points` attribute of the first and (optional) second line.
    pub line: String,
    pub line2: String,
    pub legend: (String, String),
    pub max_label: String,
    pub start_label: String,
}

const W: f64 = 600.0;
const H: f64 = 160.0;

fn points(values: &[Option<f64>], max: f64) -> String {
    let n = values.len().max(2) as f64;
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.map(|v| {
                format!(
                    "{:.1},{:.1}",
                    i as f64 * W / (n - 1.0),
                    H - (v / max).min(1.0) * (H - 10.0)
                )
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn merged(cells: &[Cell], per: usize) -> Vec<Cell> {
    cells
        .chunks(per.max(1))
        .map(|c| {
            let mut sum = Cell::default();
            c.iter().for_each(|x| sum.merge(x));
            sum
        })
        .collect()
}

fn chart(
    title: &str,
    summary: String,
    a: (&str, Vec<Option<f64>>),
    b: Option<(&str, Vec<Option<f64>>)>,
    unit: &str,
    start: &str,
) -> Chart {
    let max =
        a.1.iter()
            .chain(b.iter().flat_map(|b| b.1.iter()))
            .flatten()
            .cloned()
            .fold(0.0, f64::max);
    let max = if max <= 0.0 { 1.0 } else { max * 1.1 };
    Chart {
        title: title.into(),
        summary,
        width: W as u32,
        height: H as u32,
        line: points(&a.1, max),
        line2: b.as_ref().map(|b| points(&b.1, max)).unwrap_or_default(),
        legend: (a.0.into(), b.map(|b| b.0.to_owned()).unwrap_or_default()),
        max_label: format!("{:.1}{unit}", max),
        start_label: start.into(),
    }
}

/// Requests per minute, error rate and p50/p95 latency over `window` (buckets merged so
/// a day shows 15-minute points).
pub fn charts(w: &Window, label: &str) -> Vec<Chart> {
    let per = if w.total.len() > 120 { 15 } else { 1 };
    let cells = merged(&w.total, per);
    let req: Vec<Option<f64>> = cells
        .iter()
        .map(|c| Some(c.requests as f64 / per as f64))
        .collect();
    let err: Vec<Option<f64>> = cells
        .iter()
        .map(|c| {
            (c.requests > 0)
                .then(|| 100.0 * (c.errors_4xx + c.errors_5xx) as f64 / c.requests as f64)
        })
        .collect();
    let p50: Vec<Option<f64>> = cells.iter().map(|c| c.latency.percentile(0.5)).collect();
    let p95: Vec<Option<f64>> = cells.iter().map(|c| c.latency.percentile(0.95)).collect();
    let mut total = Cell::default();
    w.total.iter().for_each(|c| total.merge(c));
    let fmt = |v: Option<f64>| {
        v.map(|v| format!("{v:.1} ms"))
            .unwrap_or_else(|| "no data".into())
    };
    let rate = if total.requests > 0 {
        100.0 * (total.errors_4xx + total.errors_5xx) as f64 / total.requests as f64
    } else {
        0.0
    };
    let start = format!("{label} ago");
    vec![
        chart(
            "Requests per minute",
            format!("{} requests in the last {label}", total.requests),
            ("requests/min", req),
            None,
            "",
            &start,
        ),
        chart(
            "Error rate",
            format!("{rate:.1}% answered 4xx or 5xx"),
            ("errors %", err),
            None,
            "%",
            &start,
        ),
        chart(
            "Latency",
            format!(
                "p50 {} · p95 {}",
                fmt(total.latency.percentile(0.5)),
                fmt(total.latency.percentile(0.95))
            ),
            ("p50", p50),
            Some(("p95", p95)),
            " ms",
            &start,
        ),
    ]
}
