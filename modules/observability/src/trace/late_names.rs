//! Span names decided after the span started. tracing-opentelemetry reads `otel.name`
//! only until the OpenTelemetry span is built (at its first entry); a request learns its
//! route template, and a database span its statement and collection, later than that.
//! This layer, stacked after the OpenTelemetry layer, applies such late `otel.name`
//! records to the running span.

use opentelemetry::trace::TraceContextExt;
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::span::{Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

pub(super) struct LateNames;

impl<S: Subscriber> Layer<S> for LateNames {
    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut visitor = NameVisitor(None);
        values.record(&mut visitor);
        let mut name = visitor.0;
        if name.is_none() {
            return;
        }
        tracing::dispatcher::get_default(|dispatch| {
            if let Some(cx) = tracing_opentelemetry::get_otel_context(id, dispatch) {
                if let Some(name) = name.take() {
                    cx.span().update_name(name);
                }
            }
        });
    }
}

struct NameVisitor(Option<String>);

impl Visit for NameVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "otel.name" {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "otel.name" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}
