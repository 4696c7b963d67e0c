//! Log output: human-readable lines or JSON lines on stderr (stdout stays clean for
//! commands such as `hearth openapi`). Panics are logged as events, not raw stderr.
//! With an OTLP endpoint configured, the same subscriber also carries the OpenTelemetry
//! layer that exports Hearth's spans; without one that layer does not exist at all.

use crate::access_lines::WithAccessLines;
use crate::config::{Config, LogFormat};
use crate::log_output::{LogOutput, LogThread};
use observability::trace::{TraceStartError, Traces};
use std::io::IsTerminal;
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// What [`init`] started that needs stopping before the process exits.
#[must_use = "call shutdown before exiting, or the last spans and log lines are lost"]
pub struct Telemetry {
    traces: Option<Traces>,
    /// The log thread; stopping it writes out what is still buffered.
    log: Option<LogThread>,
}

impl Telemetry {
    /// The trace pipeline, when traces are exported.
    pub fn traces(&self) -> Option<&Traces> {
        self.traces.as_ref()
    }

    /// Flushes buffered spans and stops the exporter (bounded: see `Traces::shutdown`),
    /// then writes out the queued log lines.
    pub async fn shutdown(self) {
        if let Some(traces) = self.traces {
            traces.shutdown().await;
        }
        if let Some(log) = self.log {
            let dropped = log.dropped_lines();
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    "log lines were dropped while the log output could not keep up"
                );
            }
            log.stop();
        }
    }
}

/// Installs the global subscriber. `runtime` carries the trace exporter's requests.
/// When a subscriber is already installed (a test process), nothing changes and no
/// trace pipeline is kept.
pub fn init(
    config: &Config,
    runtime: &tokio::runtime::Handle,
) -> Result<Telemetry, TraceStartError> {
    // HEARTH_LOG (via the config) wins; RUST_LOG is honoured when HEARTH_LOG is left at its default.
    let filter = match std::env::var("RUST_LOG") {
        Ok(rust_log) if config.log == "info" && std::env::var_os("HEARTH_LOG").is_none() => {
            EnvFilter::try_new(rust_log).unwrap_or_else(|_| EnvFilter::new("info"))
        }
        _ => EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // Lines are formatted on the thread that logs them and written in batches by a
    // thread of their own (log_output.rs): the access log of a busy server costs its
    // requests no system call and no wait on stderr.
    let (writer, log_thread) = LogOutput::start(std::io::stderr());
    let fmt = log_layer(config.log_format, filter, colour, writer);
    let traces = Traces::start(&config.otel, runtime.clone())?;
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = vec![fmt];
    if let Some(traces) = &traces {
        layers.push(traces.layer().boxed());
    }
    if tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .is_err()
    {
        return Ok(Telemetry {
            traces: None,
            log: None,
        });
    }
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(%location, panic = %message, "panic");
    }));
    if let Some(endpoint) = &config.otel.endpoint {
        tracing::info!(%endpoint, service = %config.otel.service_name, "exporting traces over OTLP/HTTP");
    }
    Ok(Telemetry {
        traces,
        log: Some(log_thread),
    })
}

/// The log output: `format` lines through `filter` to `writer`. Each event logged while
/// a request is served sits in that request's `request` span, so the text format prints
/// `request{request_id=…}` before it and the JSON format has `span.request_id`. Tests
/// capture the log by passing their own writer.
pub fn log_layer<W>(
    format: LogFormat,
    filter: EnvFilter,
    ansi: bool,
    writer: W,
) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(writer.clone());
    // The log filter applies to the log output only; the trace layer has its own. Of the
    // spans, the log output keeps only each request's `request` span (the request id on
    // every line logged while serving it): the others (auth, validation, each database
    // job and batch) exist for traces, and formatting their fields for the log on every
    // request cost more than the access log itself. Without a trace exporter they are
    // then not created at all. The access log (one line per request) has a formatter of
    // its own: access_lines.rs.
    let filter = filter.and(filter_fn(|meta| {
        !meta.is_span() || meta.target() == observability::REQUEST_SPAN_TARGET
    }));
    match format {
        LogFormat::Text => WithAccessLines::new(fmt, writer, false, ansi)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => WithAccessLines::new(fmt.json().flatten_event(true), writer, true, ansi)
            .with_filter(filter)
            .boxed(),
    }
}
