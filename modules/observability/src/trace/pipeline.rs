//! The export pipeline: tracer provider → batch span processor → OTLP/HTTP exporter, and
//! the `tracing` layer that feeds it.
//!
//! The batch processor is the SDK's default one: its own thread, which hands each batch
//! to the exporter and honours the flush and shutdown timeouts. The exporter's HTTP
//! client is hyper's (already in the binary, plain HTTP only), which needs a Tokio
//! runtime: [`OnRuntime`] runs each request as a task on the application's runtime, so
//! the processor thread only waits for the answer.

use super::config::{OtelConfig, Sampler};
use super::late_names::LateNames;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler as SdkSampler, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;
use std::time::Duration;
use tokio::runtime::Handle;
use tracing::Subscriber;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Where `ObserveRequests` opens its per-request span (see `layer`).
use crate::access::REQUEST_SPAN_TARGET as ACCESS_LOG_SPAN_TARGET;

/// How long the final flush may hold up the exit: the processor's own flush bound (5 s)
/// plus this for the shutdown that follows.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// A running trace pipeline. Cloning shares it.
#[derive(Clone, Debug)]
pub struct Traces {
    provider: SdkTracerProvider,
}

/// The exporter could not be built (the configuration was already checked, so this is rare).
#[derive(Debug, thiserror::Error)]
#[error("cannot start the trace exporter: {0}")]
pub struct TraceStartError(String);

impl Traces {
    /// Builds the pipeline for `config`; `None` when traces are off. `runtime` runs the
    /// exporter's HTTP requests and must outlive the pipeline's use (it is the runtime
    /// the server runs on).
    pub fn start(config: &OtelConfig, runtime: Handle) -> Result<Option<Traces>, TraceStartError> {
        let Some(endpoint) = &config.endpoint else {
            return Ok(None);
        };
        let client = OnRuntime {
            client: HyperClient::new(
                https_connector(&config.certificates)?,
                config.export_timeout,
                None,
            ),
            runtime,
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.clone())
            .with_timeout(config.export_timeout)
            .build()
            .map_err(|e| TraceStartError(e.to_string()))?;
        let batch = BatchConfigBuilder::default()
            .with_max_queue_size(config.batch.max_queue_size)
            .with_max_export_batch_size(config.batch.max_export_batch_size)
            .with_scheduled_delay(config.batch.scheduled_delay)
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch)
            .build();
        let resource = Resource::builder()
            .with_service_name(config.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_sampler(sdk_sampler(config.sampler))
            .with_resource(resource)
            .build();
        Ok(Some(Traces { provider }))
    }

    /// The layer that turns Hearth's `tracing` spans into OpenTelemetry spans. It sees
    /// INFO and above from Hearth's own crates (`hearth*` targets) whatever the log
    /// level, so `HEARTH_LOG=warn` quietens the terminal without emptying the traces,
    /// and no dependency's spans (nor the exporter's own requests) end up in a trace.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        layer(&self.provider)
    }

    /// Exports every finished span now (tests; bounded by the processor's 5 s).
    pub async fn flush(&self) -> Result<(), String> {
        let provider = self.provider.clone();
        // The processor blocks the caller until the exporter, which runs on this
        // runtime, is done: never block a runtime thread for that.
        tokio::task::spawn_blocking(move || provider.force_flush())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    /// Flushes what is buffered and stops the processor. Spans that end later are
    /// dropped. Takes at most about 7 s, however unreachable the collector is.
    pub async fn shutdown(&self) {
        let provider = self.provider.clone();
        let done = tokio::task::spawn_blocking(move || {
            let flushed = provider.force_flush();
            let stopped = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
            flushed.and(stopped)
        })
        .await;
        match done {
            Ok(Ok(())) => tracing::debug!("traces flushed"),
            Ok(Err(err)) => tracing::warn!(error = %err, "traces could not all be flushed"),
            Err(err) => tracing::warn!(error = %err, "trace flush did not finish"),
        }
    }
}

/// See [`Traces::layer`].
pub(super) fn layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let tracer = provider.tracer("hearth");
    let hearth = Targets::new()
        .with_target("hearth", LevelFilter::INFO)
        // The access log's span only carries the request id into log lines; in a
        // trace it would just duplicate the SERVER span. (Its event has a target of
        // its own, `hearth::access`, and lands on the SERVER span.)
        .with_target(ACCESS_LOG_SPAN_TARGET, LevelFilter::OFF)
        .with_default(LevelFilter::OFF);
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_target(false)
        .with_level(false)
        .and_then(LateNames)
        .with_filter(hearth)
}

fn sdk_sampler(sampler: Sampler) -> SdkSampler {
    let parent_based = |root: SdkSampler| SdkSampler::ParentBased(Box::new(root));
    match sampler {
        Sampler::AlwaysOn => SdkSampler::AlwaysOn,
        Sampler::AlwaysOff => SdkSampler::AlwaysOff,
        Sampler::TraceIdRatio(r) => SdkSampler::TraceIdRatioBased(r),
        Sampler::ParentBasedAlwaysOn => parent_based(SdkSampler::AlwaysOn),
        Sampler::ParentBasedAlwaysOff => parent_based(SdkSampler::AlwaysOff),
        Sampler::ParentBasedTraceIdRatio(r) => parent_based(SdkSampler::TraceIdRatioBased(r)),
    }
}

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// `http://` as before, or `https://` verified against the system's roots plus the
/// configured certificates (a private collector's CA), with rustls on ring like the
/// server's own TLS.
fn https_connector(extra: &[Vec<u8>]) -> Result<Connector, TraceStartError> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates only narrow what is trusted; the configured ones
    // (checked when the configuration loaded) still count.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    for der in extra {
        roots
            .add(rustls::pki_types::CertificateDer::from(der.clone()))
            .map_err(|e| TraceStartError(format!("a trusted certificate is unusable: {e}")))?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| TraceStartError(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build())
}

/// hyper's client on the application's runtime, callable from the processor's thread.
#[derive(Debug)]
struct OnRuntime {
    client: HyperClient<Connector>,
    runtime: Handle,
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        // A JoinError here means the runtime is shutting down: the export fails, and
        // the processor moves on instead of waiting.
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await?
    }
}
