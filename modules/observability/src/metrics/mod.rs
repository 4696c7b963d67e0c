//! The Prometheus registry and the series Hearth exports at `/metrics`.
//!
//! Why `prometheus-client` rather than `metrics` + `metrics-exporter-prometheus`: the
//! registry is an ordinary value that `Application::build` owns (no process-global
//! recorder, so servers started side by side in tests keep separate numbers, as
//! ARCHITECTURE.md asks of all state); it encodes the Prometheus text format 0.0.4
//! itself; and it costs three small crates (dtoa, the derive, itself) on top of what
//! the workspace already builds, where the exporter brings metrics-util, quanta (a
//! TSC clock calibrated at start-up), crossbeam and a sketch library. On a 2-core
//! machine, fewer crates is faster builds.
//!
//! Labels are bounded by construction: `route` is a route template (or `unmatched`),
//! `method` one of eight values, `status` a status code, `collection` an existing
//! collection's name. No ids, no raw paths.

mod db;
mod process;

pub use db::{counter as const_counter, gauge as const_gauge};
pub use process::{sample as process_sample, ProcessSample};

use kernel::RouteTemplate;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

/// The `Content-Type` of the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Request latency buckets, in seconds.
const REQUEST_SECONDS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Cow<'static, str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    method: &'static str,
    route: Cow<'static, str>,
    /// `2xx` … `5xx`: the histogram has 15 series per label set, so it is split by
    /// class, not by code.
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CollectionLabels {
    collection: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

fn request_histogram() -> Histogram {
    Histogram::new(REQUEST_SECONDS)
}

pub struct Metrics {
    /// Locked only to add another module's series and to render `/metrics`.
    registry: std::sync::Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    rate_limited: Family<RouteLabels, Counter>,
    auth_failures: Family<RouteLabels, Counter>,
    records: Family<CollectionLabels, Gauge>,
    storage: Arc<db::StorageMetrics>,
}

/// Keeps `hearth_http_requests_in_flight` right even if the request future is dropped.
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The bounded value of the `method` label.
pub fn method_label(method: &poem::http::Method) -> &'static str {
    use poem::http::Method as M;
    match *method {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

impl Metrics {
    pub fn new(database: ::storage::Db) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "hearth_http_requests",
            "HTTP requests answered, by method, route template and status code",
            requests.clone(),
        );
        let durations = Family::new_with_constructor(request_histogram as fn() -> Histogram);
        registry.register(
            "hearth_http_request_duration_seconds",
            "Time from receiving a request to having its response ready, by method, route template and status class",
            durations.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "hearth_http_requests_in_flight",
            "Requests being served right now",
            in_flight.clone(),
        );
        let rate_limited = Family::<RouteLabels, Counter>::default();
        registry.register(
            "hearth_http_rate_limited",
            "Requests refused with 429 (rate limit), by route template",
            rate_limited.clone(),
        );
        let auth_failures = Family::<RouteLabels, Counter>::default();
        registry.register(
            "hearth_http_auth_failures",
            "Requests answered 401 (missing, invalid or expired credentials, failed logins), by route template",
            auth_failures.clone(),
        );
        let records = Family::<CollectionLabels, Gauge>::default();
        registry.register(
            "hearth_collection_records",
            "Records per collection (counted at most every 30 s, when scraped)",
            records.clone(),
        );
        registry.register(
            "hearth_build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        let storage = Arc::new(db::StorageMetrics::new(&mut registry));
        registry.register_collector(Box::new(db::DbCollector::new(database)));
        registry.register_collector(Box::new(process::ProcessCollector::new()));
        Metrics {
            registry: std::sync::Mutex::new(registry),
            requests,
            durations,
            in_flight,
            rate_limited,
            auth_failures,
            records,
            storage,
        }
    }

    /// What the storage layer reports to (`Db::set_observer`).
    /// Adds another module's series (the realtime module's, say) to `/metrics`.
    pub fn register(&self, add: impl FnOnce(&mut Registry)) {
        add(&mut self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    pub fn storage_observer(&self) -> Arc<dyn ::storage::StorageObserver> {
        self.storage.clone()
    }

    pub fn request_started(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    pub fn request_finished(
        &self,
        method: &'static str,
        route: &RouteTemplate,
        status: u16,
        took: Duration,
    ) {
        let route = route.template.clone();
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.clone(),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&DurationLabels {
                method,
                route: route.clone(),
                status_class: status_class(status),
            })
            .observe(took.as_secs_f64());
        match status {
            401 => {
                self.auth_failures
                    .get_or_create(&RouteLabels { route })
                    .inc();
            }
            429 => {
                self.rate_limited
                    .get_or_create(&RouteLabels { route })
                    .inc();
            }
            _ => {}
        }
    }

    /// Replaces the records-per-collection gauges (collections deleted since the last
    /// count disappear).
    pub fn set_record_counts(&self, counts: &[(String, u64)]) {
        self.records.clear();
        for (collection, n) in counts {
            self.records
                .get_or_create(&CollectionLabels {
                    collection: collection.clone(),
                })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
        out
    }
}
