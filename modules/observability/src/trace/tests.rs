//! The layer on its own, with an in-memory exporter: names decided after a span started
//! reach the exported span, parents skip the access log's span, and only Hearth's
//! targets are exported.

use super::pipeline::layer;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use std::sync::{Arc, Mutex};
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Debug, Default)]
struct Collect(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Collect {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

#[test]
fn late_names_land_and_the_access_log_span_is_left_out() {
    let exporter = Collect::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry().with(layer(&provider));
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!(
            target: "hearth_observability::trace::middleware",
            "request",
            otel.name = "GET /api/v1/posts/123",
            otel.kind = "server",
        );
        let entered = request.enter();
        {
            let access = tracing::error_span!(
                target: "hearth_observability::access",
                "request",
                request_id = "r1"
            );
            let _access = access.enter();
            let read = tracing::info_span!(
                target: "hearth_storage::spans",
                "db.read",
                otel.name = "SELECT",
                db.collection.name = tracing::field::Empty,
            );
            read.in_scope(|| {
                read.record("db.collection.name", "posts");
                read.record("otel.name", "SELECT posts");
            });
            tracing::info!(target: "hearth::access", "request");
            tracing::info_span!(target: "hyper", "not ours").in_scope(|| {});
        }
        request.record("otel.name", "GET /api/v1/{collection}/{id}");
        drop(entered);
    });
    let spans = exporter.0.lock().unwrap().clone();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let server = spans
        .iter()
        .find(|s| s.name == "GET /api/v1/{collection}/{id}")
        .unwrap_or_else(|| panic!("{names:?}"));
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(
        server.events.len(),
        1,
        "the access log event is on the SERVER span"
    );
    let read = spans
        .iter()
        .find(|s| s.name == "SELECT posts")
        .unwrap_or_else(|| panic!("{names:?}"));
    assert_eq!(read.parent_span_id, server.span_context.span_id());
}
