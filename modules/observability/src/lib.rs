//! Observability: the access log, Prometheus metrics, OpenTelemetry traces, and the
//! fixed-memory time series the admin dashboard draws. Other modules report through
//! `tracing` and the small recording API here; they never depend on an exporter.
