//! The standard OpenTelemetry environment variables, read once at start-up into an
//! [`OtelConfig`]. The SDK could read most of them itself, but resolving them here lets
//! Hearth refuse a bad value before serving (exit 2), and lets tests pass a configuration
//! in code instead of mutating the environment of a process whose tests run in parallel.

use std::time::Duration;

/// Spans are POSTed here when the variables name no signal-specific endpoint.
const TRACES_PATH: &str = "v1/traces";

/// Where and how spans are exported. `endpoint: None` (the default) means no exporter,
/// no tracing-opentelemetry layer and no request spans at all.
#[derive(Clone, Debug, PartialEq)]
pub struct OtelConfig {
    /// The full URL spans are POSTed to (`http://collector:4318/v1/traces`).
    pub endpoint: Option<String>,
    /// `service.name` of the resource (`OTEL_SERVICE_NAME`, default `hearth`).
    pub service_name: String,
    pub sampler: Sampler,
    pub batch: BatchSettings,
    /// How long one export may take (`OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`, at most `OTEL_BSP_EXPORT_TIMEOUT`).
    pub export_timeout: Duration,
    /// PEM certificates trusted for an `https` collector besides the system's roots
    /// (`OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE` or `OTEL_EXPORTER_OTLP_CERTIFICATE`),
    /// read and checked when the configuration loads.
    pub certificates: Vec<Vec<u8>>,
}

/// `OTEL_TRACES_SAMPLER` (with `OTEL_TRACES_SAMPLER_ARG` for the ratio samplers).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampler {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
    /// The default: follow the caller's sampling decision, sample every new trace.
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedTraceIdRatio(f64),
}

/// The batch span processor's `OTEL_BSP_*` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSettings {
    pub max_queue_size: usize,
    pub scheduled_delay: Duration,
    pub max_export_batch_size: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            max_queue_size: 2048,
            scheduled_delay: Duration::from_millis(5000),
            max_export_batch_size: 512,
        }
    }
}

impl Default for OtelConfig {
    fn default() -> Self {
        OtelConfig {
            endpoint: None,
            service_name: "hearth".into(),
            sampler: Sampler::ParentBasedAlwaysOn,
            batch: BatchSettings::default(),
            export_timeout: Duration::from_secs(10),
            certificates: Vec::new(),
        }
    }
}

/// A bad OpenTelemetry variable, as the one line printed before exiting with status 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct OtelConfigError(pub String);

fn invalid(var: &str, value: &str, expected: &str) -> OtelConfigError {
    OtelConfigError(format!("invalid {var} {value:?}: {expected}"))
}

impl OtelConfig {
    /// Traces are exported to `endpoint` (a full `…/v1/traces` URL), other settings at
    /// their defaults.
    pub fn with_endpoint(endpoint: impl Into<String>) -> OtelConfig {
        OtelConfig {
            endpoint: Some(endpoint.into()),
            ..OtelConfig::default()
        }
    }

    pub fn enabled(&self) -> bool {
        self.endpoint.is_some()
    }

    pub fn from_env() -> Result<OtelConfig, OtelConfigError> {
        OtelConfig::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Resolves the variables through `env`. An empty value counts as unset, as the
    /// specification says. With no endpoint (or `OTEL_SDK_DISABLED=true`, or
    /// `OTEL_TRACES_EXPORTER=none`) traces are off and nothing else is checked.
    pub fn from_lookup(
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<OtelConfig, OtelConfigError> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let mut config = OtelConfig::default();
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Ok(config);
        }
        if let Some(exporter) = var("OTEL_TRACES_EXPORTER") {
            match exporter.trim() {
                "otlp" => {}
                "none" => return Ok(config),
                other => {
                    return Err(invalid(
                        "OTEL_TRACES_EXPORTER",
                        other,
                        "Hearth exports traces with otlp (or none)",
                    ))
                }
            }
        }
        let endpoint = match (
            var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            var("OTEL_EXPORTER_OTLP_ENDPOINT"),
        ) {
            (Some(url), _) => check_endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.trim())?,
            (None, Some(base)) => {
                check_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", base.trim())?;
                format!("{}/{TRACES_PATH}", base.trim().trim_end_matches('/'))
            }
            (None, None) => return Ok(config),
        };
        config.endpoint = Some(endpoint);
        for name in [
            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
        ] {
            if let Some(path) = var(name) {
                config.certificates = read_certificates(name, path.trim())?;
                break;
            }
        }

        for name in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            if let Some(protocol) = var(name) {
                if protocol.trim() != "http/protobuf" {
                    return Err(invalid(
                        name,
                        &protocol,
                        "Hearth exports traces over OTLP/HTTP with protobuf only: use http/protobuf (no grpc, no http/json)",
                    ));
                }
                break;
            }
        }
        if let Some(name) = var("OTEL_SERVICE_NAME").or_else(|| {
            var("OTEL_RESOURCE_ATTRIBUTES").and_then(|attrs| service_name_attribute(&attrs))
        }) {
            config.service_name = name.trim().to_string();
        }
        config.sampler = sampler(var("OTEL_TRACES_SAMPLER"), var("OTEL_TRACES_SAMPLER_ARG"))?;

        let number = |name: &str| -> Result<Option<u64>, OtelConfigError> {
            var(name)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| invalid(name, &v, "expected a whole number"))
                })
                .transpose()
        };
        let positive = |name: &str| -> Result<Option<u64>, OtelConfigError> {
            match number(name)? {
                Some(0) => Err(invalid(name, "0", "must be at least 1")),
                n => Ok(n),
            }
        };
        let batch = &mut config.batch;
        if let Some(ms) = number("OTEL_BSP_SCHEDULE_DELAY")? {
            batch.scheduled_delay = Duration::from_millis(ms);
        }
        if let Some(n) = positive("OTEL_BSP_MAX_QUEUE_SIZE")? {
            batch.max_queue_size = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")? {
            batch.max_export_batch_size = usize::try_from(n).unwrap_or(usize::MAX);
        }
        // The specification: a batch never exceeds the queue.
        batch.max_export_batch_size = batch.max_export_batch_size.min(batch.max_queue_size);

        let otlp_timeout = match positive("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")? {
            Some(ms) => Some(ms),
            None => positive("OTEL_EXPORTER_OTLP_TIMEOUT")?,
        };
        if let Some(ms) = otlp_timeout {
            config.export_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = positive("OTEL_BSP_EXPORT_TIMEOUT")? {
            config.export_timeout = config.export_timeout.min(Duration::from_millis(ms));
        }
        Ok(config)
    }
}

/// An `http://` or `https://` URL with a host.
fn check_endpoint(var: &str, url: &str) -> Result<String, OtelConfigError> {
    let uri: poem::http::Uri = url
        .parse()
        .map_err(|_| invalid(var, url, "expected a URL such as http://localhost:4318"))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(url.to_string()),
        _ => Err(invalid(
            var,
            url,
            "expected an http:// or https:// URL such as https://collector.example.org:4318",
        )),
    }
}

/// The DER certificates of a PEM file, each checked to parse.
fn read_certificates(var: &str, path: &str) -> Result<Vec<Vec<u8>>, OtelConfigError> {
    use rustls_pki_types::pem::PemObject;
    let pem =
        std::fs::read(path).map_err(|e| invalid(var, path, &format!("cannot read it: {e}")))?;
    let certs = rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(var, path, &format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(var, path, "the file holds no PEM certificate"));
    }
    Ok(certs)
}

/// `service.name=…` inside `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k=v`).
fn service_name_attribute(attrs: &str) -> Option<String> {
    attrs.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == "service.name" && !value.trim().is_empty()).then(|| value.trim().to_string())
    })
}

fn sampler(name: Option<String>, arg: Option<String>) -> Result<Sampler, OtelConfigError> {
    let ratio = || -> Result<f64, OtelConfigError> {
        match &arg {
            None => Ok(1.0),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| {
                    invalid(
                        "OTEL_TRACES_SAMPLER_ARG",
                        v,
                        "expected a ratio between 0 and 1",
                    )
                }),
        }
    };
    let Some(name) = name else {
        return Ok(Sampler::ParentBasedAlwaysOn);
    };
    Ok(match name.trim() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatio(ratio()?),
        "parentbased_always_on" => Sampler::ParentBasedAlwaysOn,
        "parentbased_always_off" => Sampler::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => Sampler::ParentBasedTraceIdRatio(ratio()?),
        other => {
            return Err(invalid(
                "OTEL_TRACES_SAMPLER",
                other,
                "expected always_on, always_off, traceidratio, parentbased_always_on, \
                 parentbased_always_off or parentbased_traceidratio",
            ))
        }
    })
}

#[cfg(test)]
mod tests;
