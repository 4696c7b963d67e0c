//! OpenTelemetry traces, exported over OTLP/HTTP (protobuf) when an endpoint is
//! configured, and nothing at all otherwise.
//!
//! The code of the other modules only creates ordinary `tracing` spans (the auth check,
//! record validation, each SQL read and write, each group-commit batch); the layer from
//! [`Traces::layer`] turns them into OpenTelemetry spans, and [`RequestSpans`] opens the
//! SERVER span they hang from, continuing the caller's W3C trace context.
//!
//! Wiring (the app): `OtelConfig::from_env()` at start-up, `Traces::start` and its layer
//! in the subscriber, `RequestSpans` in the HTTP stack, `Traces::shutdown` before exit.

mod config;
mod late_names;
mod middleware;
mod pipeline;
#[cfg(test)]
mod tests;

pub use config::{BatchSettings, OtelConfig, OtelConfigError, Sampler};
pub use middleware::{RequestSpanEndpoint, RequestSpans};
pub use pipeline::{TraceStartError, Traces};
