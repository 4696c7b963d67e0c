//! Observability: the access log, Prometheus metrics, OpenTelemetry traces, and the
//! fixed-memory time series the admin dashboard draws. Other modules report through
//! `tracing` and the small recording API here; they never depend on an exporter.

pub mod trace;

// Access log, metrics and dashboard stats.
mod access;
mod exposition;
mod handle;
pub mod metrics;
pub mod routes;
pub mod stats;

pub use access::{
    CallerSlot, NoteCaller, ObserveRequests, REQUEST_SPAN_TARGET, TARGET as ACCESS_LOG_TARGET,
};
pub use exposition::metrics as metrics_endpoint;
pub use handle::{Observability, RecordCounter};
pub use routes::{ApiRouteTags, ApiRoutes, Route, UNMATCHED};
pub use stats::ObservabilityApi;
