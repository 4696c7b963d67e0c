//! API.md section 5 (traces): with an OTLP endpoint, Hearth's spans reach a real
//! OTLP/HTTP receiver (protobuf, decoded with `opentelemetry-proto`), continue the
//! caller's W3C trace context, and carry the HTTP server and database attributes; with
//! none, nothing is exported. A process has one global subscriber, so everything that
//! needs it in-process is one test; the others run the real binary.

mod common;
mod otlp_receiver;

use hearth::Config;
use observability::trace::{OtelConfig, RequestSpans};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otlp_receiver::{Received, Receiver};
use poem::EndpointExt;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CALLER_SPAN: &str = "00f067aa0ba902b7";
const READ_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const WRITE_TRACE: &str = "5bf92f3577b34da6a3ce929d0e0e4737";
const NOT_FOUND_TRACE: &str = "6bf92f3577b34da6a3ce929d0e0e4738";
const ERROR_TRACE: &str = "7bf92f3577b34da6a3ce929d0e0e4739";
const UNTRACED_TRACE: &str = "8bf92f3577b34da6a3ce929d0e0e473a";
const BINARY_TRACE: &str = "9bf92f3577b34da6a3ce929d0e0e473b";

fn traceparent(trace: &str) -> String {
    format!("00-{trace}-{CALLER_SPAN}-01")
}

fn server_span<'a>(spans: &'a [Received], trace: &str) -> Option<&'a Received> {
    spans
        .iter()
        .find(|s| s.trace_id == trace && s.kind == SpanKind::Server)
}

fn named<'a>(spans: &'a [Received], trace: &str, name: &str) -> Option<&'a Received> {
    spans.iter().find(|s| s.trace_id == trace && s.name == name)
}

/// Whether `span` is `ancestor` or hangs below it through parent links.
fn descends_from(spans: &[Received], span: &Received, ancestor: &Received) -> bool {
    let mut current = span;
    for _ in 0..16 {
        if current.span_id == ancestor.span_id && current.trace_id == ancestor.trace_id {
            return true;
        }
        match spans
            .iter()
            .find(|s| s.trace_id == current.trace_id && s.span_id == current.parent_span_id)
        {
            Some(parent) => current = parent,
            None => return false,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn section_5_spans_continue_the_callers_trace_with_http_and_db_attributes() {
    let receiver = Receiver::start().await;
    let mut otel = OtelConfig::with_endpoint(receiver.traces_url());
    otel.service_name = "hearth-under-test".into();
    otel.batch.scheduled_delay = Duration::from_millis(100);
    // The configuration is passed in code: no environment variable is touched.
    let log_dir = tempfile::tempdir().unwrap();
    let mut log_config = Config::for_data_dir(log_dir.path());
    // Not "off": the subscriber's panic hook reports a failed assertion as an event.
    log_config.log = std::env::var("TEST_LOG").unwrap_or_else(|_| "error".into());
    log_config.otel = otel.clone();
    let telemetry = hearth::logging::init(&log_config, &tokio::runtime::Handle::current()).unwrap();
    let traces = telemetry.traces().expect("an endpoint starts the pipeline");

    let app = common::spawn_app_with(|c| c.otel = otel.clone()).await;
    let admin = app.admin_token().await;
    let definition = json!({"name": "posts",
        "fields": [{"name": "title", "type": "text", "required": true}],
        "rules": {"list": ["public"], "view": ["public"], "create": ["authenticated"]}});
    assert_eq!(
        app.create_collection(&admin, definition).await.status(),
        201
    );

    let resp = app
        .req(Method::POST, "/api/v1/posts", Some(&admin))
        .header("traceparent", traceparent(WRITE_TRACE))
        .json(&json!({"title": "Hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = app
        .req(Method::GET, &format!("/api/v1/posts/{id}"), Some(&admin))
        .header("traceparent", traceparent(READ_TRACE))
        .header("tracestate", "vendor=opaque")
        .header("user-agent", "trace-test/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let resp = app
        .req(Method::GET, "/api/v1/posts/no-such-id", None)
        .header("traceparent", traceparent(NOT_FOUND_TRACE))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = app.req(Method::GET, "/healthz", None).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    // A 5xx marks the server span as an error (no route of the app fails on demand).
    let failing = poem::endpoint::make_sync(|_| poem::http::StatusCode::SERVICE_UNAVAILABLE)
        .with(RequestSpans::new(true));
    poem::test::TestClient::new(failing)
        .get("/failing")
        .header("traceparent", traceparent(ERROR_TRACE))
        .send()
        .await
        .assert_status(poem::http::StatusCode::SERVICE_UNAVAILABLE);

    // An app whose configuration has traces off opens no request span: the caller's
    // trace is not continued (and its requests still work).
    let untraced = common::spawn_app().await;
    let resp = untraced
        .req(Method::GET, "/healthz", None)
        .header("traceparent", traceparent(UNTRACED_TRACE))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    traces.flush().await.unwrap();
    let spans = receiver
        .wait_for("request, auth, validation and SQL spans", |spans| {
            [READ_TRACE, WRITE_TRACE, NOT_FOUND_TRACE, ERROR_TRACE]
                .iter()
                .all(|t| server_span(spans, t).is_some())
                && named(spans, READ_TRACE, "SELECT posts").is_some()
                && named(spans, WRITE_TRACE, "INSERT posts").is_some()
                && spans.iter().any(|s| s.name == "GET /healthz")
                && spans.iter().any(|s| s.name == "writer.batch")
        })
        .await;

    // The read: a SERVER span whose parent is the caller's span.
    let server = server_span(&spans, READ_TRACE).unwrap();
    assert_eq!(server.parent_span_id, CALLER_SPAN);
    assert_eq!(server.service, "hearth-under-test");
    assert_eq!(server.name, "GET /api/v1/{collection}/{id}");
    assert_eq!(server.str("http.request.method"), Some("GET"));
    assert_eq!(server.str("http.route"), Some("/api/v1/{collection}/{id}"));
    assert_eq!(server.int("http.response.status_code"), Some(200));
    assert_eq!(
        server.str("url.path"),
        Some(format!("/api/v1/posts/{id}").as_str())
    );
    assert_eq!(server.str("url.scheme"), Some("http"));
    assert_eq!(server.str("server.address"), Some("127.0.0.1"));
    assert_eq!(server.int("server.port"), Some(i64::from(app.addr.port())));
    assert_eq!(server.str("client.address"), Some("127.0.0.1"));
    assert_eq!(server.str("user_agent.original"), Some("trace-test/1.0"));
    assert_eq!(server.str("hearth.request_id"), Some(request_id.as_str()));
    assert!(!server.error);
    // Its children: the token check and the SQL read (run on a blocking thread).
    let auth = named(&spans, READ_TRACE, "auth.verify_token").expect("auth span");
    assert_eq!(auth.parent_span_id, server.span_id);
    assert_eq!(auth.str("auth.outcome"), Some("ok"));
    let read = named(&spans, READ_TRACE, "SELECT posts").unwrap();
    assert_eq!(read.kind, SpanKind::Client);
    assert_eq!(read.str("db.system.name"), Some("sqlite"));
    assert_eq!(read.str("db.system"), Some("sqlite"));
    assert_eq!(read.str("db.operation.name"), Some("SELECT"));
    assert_eq!(read.str("db.collection.name"), Some("posts"));
    assert!(descends_from(&spans, read, server), "{read:#?}");

    // The write: validation, then the job on the writer thread, linked to its batch.
    let server = server_span(&spans, WRITE_TRACE).unwrap();
    assert_eq!(server.parent_span_id, CALLER_SPAN);
    assert_eq!(server.name, "POST /api/v1/{collection}");
    assert_eq!(server.int("http.response.status_code"), Some(201));
    let validate = named(&spans, WRITE_TRACE, "records.validate").expect("validation span");
    assert_eq!(validate.str("db.collection.name"), Some("posts"));
    assert!(descends_from(&spans, validate, server));
    let write = named(&spans, WRITE_TRACE, "INSERT posts").unwrap();
    assert_eq!(write.str("db.system.name"), Some("sqlite"));
    assert_eq!(write.str("db.operation.name"), Some("INSERT"));
    assert_eq!(write.str("db.collection.name"), Some("posts"));
    assert!(descends_from(&spans, write, server), "{write:#?}");
    let batch = spans
        .iter()
        .find(|s| {
            s.name == "writer.batch"
                && write
                    .links
                    .contains(&(s.trace_id.clone(), s.span_id.clone()))
        })
        .unwrap_or_else(|| panic!("the write links to its group-commit batch: {write:#?}"));
    assert_eq!(batch.str("db.system.name"), Some("sqlite"));
    assert_eq!(batch.str("db.operation.name"), Some("batch"));
    assert!(batch.int("db.operation.batch.size").unwrap() >= 1);

    // A 4xx is the client's mistake, a 5xx the server's.
    let not_found = server_span(&spans, NOT_FOUND_TRACE).unwrap();
    assert_eq!(not_found.int("http.response.status_code"), Some(404));
    assert!(!not_found.error);
    let failed = server_span(&spans, ERROR_TRACE).unwrap();
    assert_eq!(failed.int("http.response.status_code"), Some(503));
    assert_eq!(failed.str("error.type"), Some("503"));
    assert!(failed.error);
    // No traceparent: a new trace, rooted at the server span.
    let root = spans.iter().find(|s| s.name == "GET /healthz").unwrap();
    assert_eq!(root.parent_span_id, "");
    assert!(spans.iter().all(|s| s.trace_id != UNTRACED_TRACE));

    let started = Instant::now();
    telemetry.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// `hearth serve` with `envs` (and no other `OTEL_*` variable), its stderr collected.
struct Served {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Served {
    fn start(dir: &Path, envs: &[(&str, &str)]) -> Served {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
        cmd.current_dir(dir)
            .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "text"])
            .env("NO_COLOR", "1")
            .env("HEARTH_LOG", "info")
            .env_remove("RUST_LOG")
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("OTEL_")) {
            cmd.env_remove(name);
        }
        cmd.envs(envs.iter().copied());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                    let _ = tx.send(addr);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server started");
        Served { child, addr, log }
    }

    async fn get_with_trace(&self, path: &str, trace: &str) -> u16 {
        reqwest::Client::new()
            .get(format!("http://{}{path}", self.addr))
            .header("traceparent", traceparent(trace))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// SIGTERM, then the exit code.
    async fn stop(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "server did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn logged(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn section_5_the_binary_reads_the_otel_variables_and_flushes_at_shutdown() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Served::start(
        dir.path(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_SERVICE_NAME", "hearth-binary"),
            // Far beyond the test: only the flush at shutdown can deliver the spans.
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ],
    );
    assert!(server.logged("exporting traces over OTLP/HTTP"));
    assert_eq!(server.get_with_trace("/healthz", BINARY_TRACE).await, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        receiver.spans().is_empty(),
        "nothing exported before shutdown"
    );
    assert_eq!(server.stop().await, Some(0));
    let spans = receiver.spans();
    let span = server_span(&spans, BINARY_TRACE).expect("flushed at shutdown");
    assert_eq!(span.service, "hearth-binary");
    assert_eq!(span.parent_span_id, CALLER_SPAN);
    assert_eq!(span.name, "GET /healthz");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_go_to_an_https_collector_trusted_through_otel_exporter_otlp_certificate() {
    let (receiver, ca_pem) = Receiver::start_tls().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("collector-ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let mut server = Served::start(
        dir.path(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url()),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.to_str().unwrap()),
            ("OTEL_SERVICE_NAME", "hearth-tls"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    assert!(receiver.base_url().starts_with("https://"));
    assert_eq!(server.get_with_trace("/healthz", BINARY_TRACE).await, 200);
    let spans = receiver
        .wait_for("the span over https", |spans| {
            server_span(spans, BINARY_TRACE).is_some()
        })
        .await;
    assert_eq!(
        server_span(&spans, BINARY_TRACE).unwrap().service,
        "hearth-tls"
    );
    assert_eq!(server.stop().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn section_5_without_an_endpoint_nothing_is_exported_and_requests_work() {
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    // No OTEL_* variable at all.
    let mut server = Served::start(dir.path(), &[]);
    assert_eq!(server.get_with_trace("/healthz", BINARY_TRACE).await, 200);
    assert_eq!(server.stop().await, Some(0));
    assert!(!server.logged("exporting traces"));
    // An endpoint switched off by OTEL_TRACES_EXPORTER=none receives nothing either.
    let mut server = Served::start(
        dir.path(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url()),
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
        ],
    );
    assert_eq!(server.get_with_trace("/healthz", BINARY_TRACE).await, 200);
    assert_eq!(server.stop().await, Some(0));
    assert!(!server.logged("exporting traces"));
    assert!(receiver.spans().is_empty());
}

#[test]
fn section_5_unsupported_otel_settings_stop_start_up_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value, needle) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "http/protobuf"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "http/json",
            "http/protobuf",
        ),
        ("OTEL_TRACES_SAMPLER", "sometimes", "parentbased_always_on"),
        ("OTEL_TRACES_SAMPLER_ARG", "2", "between 0 and 1"),
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
        for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("OTEL_")) {
            cmd.env_remove(name);
        }
        let out = cmd
            .current_dir(dir.path())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
            .env("OTEL_TRACES_SAMPLER", "traceidratio")
            .env(var, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(var) && stderr.contains(needle), "{stderr}");
    }
}
