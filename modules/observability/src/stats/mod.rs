//! Request statistics for the admin dashboard, kept in process in fixed memory: per
//! minute for the last 24 hours, totals and per route template, with latency
//! percentiles from a small histogram per cell (see `series` and `histogram`).

mod api;
mod histogram;
mod series;

pub use api::ObservabilityApi;
pub use histogram::{LatencyHistogram, BOUNDS_MS};
pub use series::{Cell, Series, Window, MINUTES, OTHER, ROUTE_SLOTS};

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Default)]
pub struct RequestStats {
    series: Mutex<Series>,
}

/// Minutes since the Unix epoch, by the wall clock (so buckets are calendar minutes).
fn now_minute() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 60)
        .unwrap_or(0)
}

impl RequestStats {
    /// Counts one answered request. Takes a lock for well under a microsecond.
    pub fn record(&self, route: &str, status: u16, took: Duration) {
        let minute = now_minute();
        self.series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(minute, route, status, took.as_secs_f64() * 1000.0);
    }

    /// The last `minutes` minutes, the current one included.
    pub fn window(&self, minutes: usize) -> Window {
        let minute = now_minute();
        self.series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .window(minute, minutes)
    }
}
