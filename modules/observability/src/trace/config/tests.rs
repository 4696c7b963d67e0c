//! The environment variables, resolved: defaults, precedence and refusals.

use super::*;

fn resolve(pairs: &[(&str, &str)]) -> Result<OtelConfig, OtelConfigError> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    OtelConfig::from_lookup(&move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
}

#[test]
fn nothing_set_means_traces_off() {
    let config = resolve(&[]).unwrap();
    assert!(!config.enabled());
    assert_eq!(config, OtelConfig::default());
    // Set but empty is unset.
    assert!(!resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "")])
        .unwrap()
        .enabled());
}

#[test]
fn endpoints_follow_the_specification() {
    let base = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).unwrap();
    assert_eq!(
        base.endpoint.as_deref(),
        Some("http://collector:4318/v1/traces")
    );
    let exact = resolve(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:9/custom"),
    ])
    .unwrap();
    assert_eq!(exact.endpoint.as_deref(), Some("http://c:9/custom"));
    assert_eq!(exact.service_name, "hearth");
    assert_eq!(exact.sampler, Sampler::ParentBasedAlwaysOn);
}

#[test]
fn disabled_switches_win_over_an_endpoint() {
    let on = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318");
    assert!(!resolve(&[on, ("OTEL_SDK_DISABLED", "true")])
        .unwrap()
        .enabled());
    assert!(!resolve(&[on, ("OTEL_TRACES_EXPORTER", "none")])
        .unwrap()
        .enabled());
    assert!(resolve(&[on, ("OTEL_TRACES_EXPORTER", "zipkin")]).is_err());
}

#[test]
fn only_http_protobuf_is_accepted() {
    let on = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318");
    assert!(resolve(&[on, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]).is_ok());
    for protocol in ["grpc", "http/json"] {
        let err = resolve(&[on, ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)]).unwrap_err();
        assert!(err.0.contains("http/protobuf"), "{err}");
    }
    // The signal-specific variable wins.
    assert!(resolve(&[
        on,
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
    ])
    .is_ok());
    let c = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318")]).unwrap();
    assert_eq!(c.endpoint.as_deref(), Some("https://c:4318/v1/traces"));
    assert!(resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")]).is_err());
    assert!(resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://c:4318")]).is_err());
}

#[test]
fn trusted_certificates_are_read_and_checked_when_the_configuration_loads() {
    let dir = tempfile::tempdir().unwrap();
    let on = ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318");
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let err = resolve(&[on, ("OTEL_EXPORTER_OTLP_CERTIFICATE", missing)]).unwrap_err();
    assert!(err.0.contains("cannot read it"), "{err}");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let err = resolve(&[
        on,
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", junk.to_str().unwrap()),
    ])
    .unwrap_err();
    assert!(err.0.contains("no PEM certificate"), "{err}");
    let cert = rcgen::generate_simple_self_signed(vec!["c".into()]).unwrap();
    let good = dir.path().join("ca.pem");
    std::fs::write(&good, cert.cert.pem()).unwrap();
    let c = resolve(&[
        on,
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", missing),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
            good.to_str().unwrap(),
        ),
    ])
    .unwrap();
    assert_eq!(c.certificates.len(), 1, "the signal-specific variable wins");
}

#[test]
fn samplers_service_name_and_batch_settings() {
    let on = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318");
    let c = resolve(&[
        on,
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ("OTEL_SERVICE_NAME", "hearth-eu"),
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "500"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "20000"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "3000"),
    ])
    .unwrap();
    assert_eq!(c.sampler, Sampler::ParentBasedTraceIdRatio(0.25));
    assert_eq!(c.service_name, "hearth-eu");
    assert_eq!(c.batch.scheduled_delay, Duration::from_millis(200));
    assert_eq!(c.batch.max_queue_size, 100);
    assert_eq!(c.batch.max_export_batch_size, 100, "clamped to the queue");
    assert_eq!(c.export_timeout, Duration::from_secs(3));

    let c = resolve(&[on, ("OTEL_TRACES_SAMPLER", "always_off")]).unwrap();
    assert_eq!(c.sampler, Sampler::AlwaysOff);
    let c = resolve(&[on, ("OTEL_TRACES_SAMPLER", "traceidratio")]).unwrap();
    assert_eq!(c.sampler, Sampler::TraceIdRatio(1.0));
    let c = resolve(&[on, ("OTEL_RESOURCE_ATTRIBUTES", "a=b, service.name=x")]).unwrap();
    assert_eq!(c.service_name, "x");

    for bad in [
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
        ("OTEL_BSP_SCHEDULE_DELAY", "5s"),
    ] {
        let err = resolve(&[on, bad]).unwrap_err();
        assert!(err.0.starts_with(&format!("invalid {}", bad.0)), "{err}");
    }
    let err = resolve(&[
        on,
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "2"),
    ])
    .unwrap_err();
    assert!(err.0.contains("between 0 and 1"), "{err}");
}
