//! A real OTLP/HTTP receiver for the trace tests: `POST /v1/traces` with a protobuf
//! `ExportTraceServiceRequest`, decoded with the `opentelemetry-proto` messages and kept
//! as flat [`Received`] spans. Listens on 127.0.0.1 with a free port.
#![allow(dead_code)]

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use poem::http::{HeaderMap, StatusCode as HttpStatus};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{handler, post, EndpointExt, Route, Server};
use prost::Message;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One decoded span, with its resource's `service.name`.
#[derive(Clone, Debug)]
pub struct Received {
    pub service: String,
    pub name: String,
    pub kind: SpanKind,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub error: bool,
    pub attributes: Vec<KeyValue>,
    /// (trace id, span id) of each link.
    pub links: Vec<(String, String)>,
}

impl Received {
    pub fn attr(&self, key: &str) -> Option<&AnyValue> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.attr(key) {
            Some(AnyValue::StringValue(s)) => Some(s),
            _ => None,
        }
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.attr(key) {
            Some(AnyValue::IntValue(i)) => Some(*i),
            _ => None,
        }
    }
}

type Store = Arc<Mutex<Vec<Received>>>;

pub struct Receiver {
    base: String,
    spans: Store,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
        let spans = Store::default();
        let app = Route::new()
            .at("/v1/traces", post(export))
            .data(spans.clone());
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Receiver {
            base: format!("http://{addr}"),
            spans,
        }
    }

    /// The same receiver behind TLS, with a self-signed certificate for 127.0.0.1 whose
    /// PEM is returned (for `OTEL_EXPORTER_OTLP_CERTIFICATE`): a TLS front on its own port
    /// decrypts each connection and passes it to the plain receiver.
    pub async fn start_tls() -> (Receiver, String) {
        use tokio_rustls::rustls;
        let plain = Receiver::start().await;
        let backend: std::net::SocketAddr =
            plain.base.trim_start_matches("http://").parse().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = front.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = front.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut inner) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut inner).await;
                });
            }
        });
        let receiver = Receiver {
            base: format!("https://{addr}"),
            spans: plain.spans,
        };
        (receiver, made.cert.pem())
    }

    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the exporter appends `/v1/traces`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.base)
    }

    pub fn spans(&self) -> Vec<Received> {
        self.spans.lock().unwrap().clone()
    }

    /// Waits (up to 15 s) until `done` holds for the spans received so far.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let spans = self.spans();
            if done(&spans) {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} after 15 s; received: {:#?}",
                spans
                    .iter()
                    .map(|s| (&s.name, &s.trace_id))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[handler]
async fn export(headers: &HeaderMap, body: Vec<u8>, store: Data<&Store>) -> HttpStatus {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type != "application/x-protobuf" {
        return HttpStatus::UNSUPPORTED_MEDIA_TYPE;
    }
    let Ok(request) = ExportTraceServiceRequest::decode(body.as_slice()) else {
        return HttpStatus::BAD_REQUEST;
    };
    let mut spans = store.0.lock().unwrap();
    eprintln!(
        "RECEIVER got {} resource spans, {} bytes",
        request.resource_spans.len(),
        body.len()
    );
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                AnyValue::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
            spans.push(Received {
                service: service.clone(),
                kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: hex(&span.parent_span_id),
                error: span
                    .status
                    .as_ref()
                    .is_some_and(|s| s.code == StatusCode::Error as i32),
                links: span
                    .links
                    .iter()
                    .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                    .collect(),
                name: span.name,
                attributes: span.attributes,
            });
        }
    }
    // An empty ExportTraceServiceResponse encodes to an empty body.
    HttpStatus::OK
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
