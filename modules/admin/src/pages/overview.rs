//! `/admin`: health at a glance, request charts (observability stats), records per
//! collection, database size and open realtime streams.

use crate::context::{AdminCtx, Layout};
use crate::page;
use crate::pages::common::fmt_count;
use crate::stats::{charts, Chart};
use crate::Admin;
use askama::Template;
use poem::web::Data;
use poem::{handler, Response};

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct OverviewPage {
    layout: Layout,
    healthy: bool,
    health_detail: String,
    db_size: String,
    collections: Vec<(String, String, u32)>,
    total_records: String,
    open_streams: String,
    charts: Vec<Chart>,
    day: bool,
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b => format!("{:.0} KiB", b as f64 / 1024.0),
    }
}

#[handler]
pub async fn show(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    let inner = &admin.inner;
    let (healthy, health_detail) = match &inner.config.health {
        Some(check) => match check().await {
            Ok(()) => (true, "Ready: the database accepts writes.".to_owned()),
            Err(e) => (false, e),
        },
        None => (true, String::new()),
    };
    let bytes: u64 = inner
        .config
        .database_files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let counts = inner.resources.count_records().await.unwrap_or_default();
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let collections = counts
        .iter()
        .map(|(name, n)| (name.clone(), fmt_count(*n), (*n * 100 / max) as u32))
        .collect();
    let day = ctx.form.get("window") == "24h";
    let charts = match &inner.observability {
        Some(o) => {
            let w = o.stats().window(if day { 24 * 60 } else { 60 });
            charts(&w, if day { "24 hours" } else { "hour" })
        }
        None => Vec::new(),
    };
    page::ok(&OverviewPage {
        layout: ctx.layout(&admin, "overview", "Overview"),
        healthy,
        health_detail,
        db_size: size(bytes),
        collections,
        total_records: fmt_count(total),
        open_streams: fmt_count(inner.realtime.open_streams().max(0) as u64),
        charts,
        day,
    })
}
