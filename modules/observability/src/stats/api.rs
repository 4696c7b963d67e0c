//! `GET /admin/stats` (admins only): the request statistics the dashboard draws.

use super::{Cell, Window};
use crate::Observability;
use kernel::{AdminPrincipal, BearerAuth, Problem};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{Enum, Object, OpenApi, Tags};
use std::borrow::Cow;
use time::OffsetDateTime;

#[derive(Tags)]
enum Tag {
    /// Request statistics for the dashboard (admins only).
    Observability,
}

/// How far back the statistics reach.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsWindow {
    #[oai(rename = "1h")]
    Hour,
    #[oai(rename = "24h")]
    Day,
}

impl StatsWindow {
    fn minutes(self) -> usize {
        match self {
            StatsWindow::Hour => 60,
            StatsWindow::Day => 24 * 60,
        }
    }

    fn name(self) -> &'static str {
        match self {
            StatsWindow::Hour => "1h",
            StatsWindow::Day => "24h",
        }
    }
}

/// Sums over the whole window.
#[derive(Object, Debug)]
#[oai(rename = "StatsTotals")]
pub struct Totals {
    pub requests: u64,
    /// Answers with a 4xx status.
    pub errors_4xx: u64,
    /// Answers with a 5xx status.
    pub errors_5xx: u64,
    /// Latency percentiles in milliseconds (time until the response was ready),
    /// estimated from a fixed histogram; null without requests.
    #[oai(nullable)]
    pub p50_ms: Option<f64>,
    #[oai(nullable)]
    pub p95_ms: Option<f64>,
    #[oai(nullable)]
    pub p99_ms: Option<f64>,
}

/// Milliseconds, or null when there is nothing to measure. A type of its own because
/// poem-openapi documents `Vec<Option<f64>>` items as non-nullable numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Millis(pub Option<f64>);

impl Type for Millis {
    const IS_REQUIRED: bool = true;
    type RawValueType = f64;
    type RawElementValueType = f64;

    fn name() -> Cow<'static, str> {
        "nullable_milliseconds".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            nullable: true,
            ..MetaSchema::new_with_format("number", "double")
        }))
    }

    fn as_raw_value(&self) -> Option<&f64> {
        self.0.as_ref()
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a f64> + 'a> {
        Box::new(self.0.iter())
    }
}

impl ToJSON for Millis {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(
            self.0
                .map_or(serde_json::Value::Null, serde_json::Value::from),
        )
    }
}

impl ParseFromJSON for Millis {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            serde_json::Value::Null => Ok(Millis(None)),
            serde_json::Value::Number(n) => Ok(Millis(n.as_f64())),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

/// One value per minute, oldest first, in parallel arrays (what chart libraries take).
/// Percentiles are null for minutes without requests.
#[derive(Object, Debug)]
#[oai(rename = "StatsSeries")]
pub struct SeriesBody {
    pub requests: Vec<u32>,
    pub errors_4xx: Vec<u32>,
    pub errors_5xx: Vec<u32>,
    pub p50_ms: Vec<Millis>,
    pub p95_ms: Vec<Millis>,
    pub p99_ms: Vec<Millis>,
}

/// One route template (e.g. `/api/v1/{collection}/{id}`; `other` collects the routes
/// beyond the 16 tracked on their own).
#[derive(Object, Debug)]
#[oai(rename = "RouteStats")]
pub struct RouteStats {
    pub route: String,
    pub totals: Totals,
    pub series: SeriesBody,
}

#[derive(Object, Debug)]
#[oai(rename = "Stats")]
pub struct StatsBody {
    /// `1h` or `24h`.
    pub window: String,
    /// Seconds per point of every series: 60.
    pub step_seconds: u32,
    /// Start of the first point (RFC 3339, UTC); point `i` covers the minute starting
    /// `i * step_seconds` later. The last point is the current, unfinished minute.
    pub start: String,
    pub totals: Totals,
    pub series: SeriesBody,
    /// Routes with requests in the window, busiest first (`other` last).
    pub routes: Vec<RouteStats>,
}

fn round(ms: Option<f64>) -> Option<f64> {
    ms.map(|v| (v * 1000.0).round() / 1000.0)
}

fn totals(cells: &[Cell]) -> Totals {
    let mut sum = Cell::default();
    cells.iter().for_each(|c| sum.merge(c));
    Totals {
        requests: u64::from(sum.requests),
        errors_4xx: u64::from(sum.errors_4xx),
        errors_5xx: u64::from(sum.errors_5xx),
        p50_ms: round(sum.latency.percentile(0.50)),
        p95_ms: round(sum.latency.percentile(0.95)),
        p99_ms: round(sum.latency.percentile(0.99)),
    }
}

fn series(cells: &[Cell]) -> SeriesBody {
    let p = |q: f64| -> Vec<Millis> {
        cells
            .iter()
            .map(|c| Millis(round(c.latency.percentile(q))))
            .collect()
    };
    SeriesBody {
        requests: cells.iter().map(|c| c.requests).collect(),
        errors_4xx: cells.iter().map(|c| c.errors_4xx).collect(),
        errors_5xx: cells.iter().map(|c| c.errors_5xx).collect(),
        p50_ms: p(0.50),
        p95_ms: p(0.95),
        p99_ms: p(0.99),
    }
}

/// The response body for a window read from the ring.
pub fn body(window: StatsWindow, w: &Window) -> StatsBody {
    let start = i64::try_from(w.start_minute * 60)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .map(kernel::clock::format)
        .unwrap_or_default();
    StatsBody {
        window: window.name().to_owned(),
        step_seconds: 60,
        start,
        totals: totals(&w.total),
        series: series(&w.total),
        routes: w
            .routes
            .iter()
            .map(|(route, cells)| RouteStats {
                route: route.clone(),
                totals: totals(cells),
                series: series(cells),
            })
            .collect(),
    }
}

pub struct ObservabilityApi;

#[OpenApi(tag = "Tag::Observability")]
impl ObservabilityApi {
    /// Requests, errors and latency percentiles per minute, in total and per route
    /// template, for the last hour or day. Kept in memory: a restart starts afresh.
    #[oai(path = "/admin/stats", method = "get", operation_id = "request_stats")]
    async fn stats(
        &self,
        observability: Data<&Observability>,
        auth: BearerAuth,
        /// `1h` (the default) or `24h`.
        window: Query<Option<StatsWindow>>,
    ) -> Result<Json<StatsBody>, Problem> {
        AdminPrincipal::check(auth.0)?;
        let window = window.0.unwrap_or(StatsWindow::Hour);
        let w = observability.stats().window(window.minutes());
        Ok(Json(body(window, &w)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Series;

    #[test]
    fn body_has_one_point_per_minute_and_null_percentiles_for_idle_minutes() {
        let mut s = Series::default();
        let now = 29_000_000;
        s.record(now, "/healthz", 200, 1.5);
        s.record(now, "/api/v1/{collection}", 500, 80.0);
        let b = body(StatsWindow::Hour, &s.window(now, 60));
        assert_eq!(b.window, "1h");
        assert_eq!(b.series.requests.len(), 60);
        assert_eq!(b.series.requests[59], 2);
        assert_eq!(b.series.p50_ms[0], Millis(None));
        assert!(b.series.p99_ms[59].0.is_some());
        assert_eq!(Millis(None).to_json(), Some(serde_json::Value::Null));
        assert_eq!(b.totals.requests, 2);
        assert_eq!(b.totals.errors_5xx, 1);
        assert_eq!(b.routes.len(), 2);
        assert!(b.start.ends_with(":00.000Z"), "{}", b.start);
        assert_eq!(
            b.start,
            kernel::clock::format(
                OffsetDateTime::from_unix_timestamp(((now - 59) * 60) as i64).unwrap()
            )
        );
    }
}
