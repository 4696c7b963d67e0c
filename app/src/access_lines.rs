//! The access log's own formatter: one line per request, written straight into a reused
//! buffer, in the same text and JSON shapes the general log uses.
//!
//! Why not the general `tracing_subscriber::fmt` formatter: the access event is the one
//! event every request logs, and that formatter's generic machinery (span scope lookup,
//! per-field `Debug` formatting through styles, a fresh `String` per JSON value) was
//! most of what the default log cost a busy server. Everything else still goes through
//! it; [`WithAccessLines`] only takes the events of target `hearth::access`, after the
//! same log filter has let them through.

use observability::ACCESS_LOG_TARGET;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The general log layer `inner`, with access-log events formatted here instead.
pub struct WithAccessLines<L, W> {
    inner: L,
    writer: W,
    json: bool,
    ansi: bool,
}

impl<L, W> WithAccessLines<L, W> {
    pub fn new(inner: L, writer: W, json: bool, ansi: bool) -> Self {
        WithAccessLines {
            inner,
            writer,
            json,
            ansi,
        }
    }
}

impl<S, L, W> Layer<S> for WithAccessLines<L, W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != ACCESS_LOG_TARGET {
            return self.inner.on_event(event, ctx);
        }
        thread_local! {
            static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
        }
        LINE.with(|line| {
            // A re-entrant event (logged while formatting) would find the buffer taken:
            // it is dropped rather than panicking.
            let Ok(mut line) = line.try_borrow_mut() else {
                return;
            };
            line.clear();
            if self.json {
                json_line(&mut line, event);
            } else {
                text_line(&mut line, event, self.ansi);
            }
            let _ = self
                .writer
                .make_writer_for(event.metadata())
                .write_all(line.as_bytes());
            if line.capacity() > 16 * 1024 {
                line.shrink_to(512);
            }
        });
    }

    // Everything else is the general layer's business.
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        self.inner.on_register_dispatch(subscriber)
    }
    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber)
    }
    fn register_callsite(
        &self,
        metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        self.inner.register_callsite(metadata)
    }
    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_new_span(attrs, id, ctx)
    }
    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.inner.on_record(span, values, ctx)
    }
    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx)
    }
    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.event_enabled(event, ctx)
    }
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_enter(id, ctx)
    }
    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_exit(id, ctx)
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.inner.on_close(id, ctx)
    }
    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx)
    }
}

/// `2026-12-03T13:27:34.250800Z  INFO hearth::access: request method=GET …` — the
/// general text format's shape (the access event is logged outside any span).
fn text_line(line: &mut String, event: &Event<'_>, ansi: bool) {
    let level = event.metadata().level();
    if ansi {
        line.push_str("\x1b[2m");
        timestamp(line);
        line.push_str("\x1b[0m \x1b[32m");
        let _ = write!(line, "{level:>5}");
        line.push_str("\x1b[0m \x1b[2m");
        line.push_str(ACCESS_LOG_TARGET);
        line.push_str(":\x1b[0m ");
    } else {
        timestamp(line);
        let _ = write!(line, " {level:>5} ");
        line.push_str(ACCESS_LOG_TARGET);
        line.push_str(": ");
    }
    event.record(&mut Message { line, json: false });
    event.record(&mut TextFields { line, ansi });
    line.push('\n');
}

/// `{"timestamp":…,"level":"INFO","message":"request",<fields>,"target":"hearth::access"}`
/// — the general JSON format's shape with flattened event fields.
fn json_line(line: &mut String, event: &Event<'_>) {
    line.push_str("{\"timestamp\":\"");
    timestamp(line);
    let _ = write!(line, "\",\"level\":\"{}\"", event.metadata().level());
    event.record(&mut Message { line, json: true });
    event.record(&mut JsonFields { line });
    line.push_str(",\"target\":\"");
    line.push_str(ACCESS_LOG_TARGET);
    line.push_str("\"}\n");
}

/// Writes only the `message` field (first, as the general formats do).
struct Message<'a> {
    line: &'a mut String,
    json: bool,
}

impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() != "message" {
            return;
        }
        if self.json {
            self.line.push_str(",\"message\":\"");
            let _ = write!(JsonEscaped(self.line), "{value:?}");
            self.line.push('"');
        } else {
            let _ = write!(self.line, "{value:?}");
        }
    }
}

struct TextFields<'a> {
    line: &'a mut String,
    ansi: bool,
}

impl TextFields<'_> {
    fn name(&mut self, field: &Field) {
        self.line.push(' ');
        if self.ansi {
            self.line.push_str("\x1b[3m");
            self.line.push_str(field.name());
            self.line.push_str("\x1b[0m\x1b[2m=\x1b[0m");
        } else {
            self.line.push_str(field.name());
            self.line.push('=');
        }
    }
}

impl Visit for TextFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            return;
        }
        self.name(field);
        let _ = write!(self.line, "{value:?}");
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        // As the general format: strings logged as values (not `%`) are quoted.
        self.record_debug(field, &value)
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.name(field);
        let _ = write!(self.line, "{value}");
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.name(field);
        let _ = write!(self.line, "{value}");
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        // Debug, as the general format: `1.0`, not `1`.
        self.name(field);
        let _ = write!(self.line, "{value:?}");
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.name(field);
        let _ = write!(self.line, "{value}");
    }
}

struct JsonFields<'a> {
    line: &'a mut String,
}

impl JsonFields<'_> {
    fn name(&mut self, field: &Field) {
        self.line.push_str(",\"");
        let _ = JsonEscaped(self.line).write_str(field.name());
        self.line.push_str("\":");
    }
}

impl Visit for JsonFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            return;
        }
        self.name(field);
        self.line.push('"');
        let _ = write!(JsonEscaped(self.line), "{value:?}");
        self.line.push('"');
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        self.line.push('"');
        let _ = JsonEscaped(self.line).write_str(value);
        self.line.push('"');
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.name(field);
        let _ = write!(self.line, "{value}");
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.name(field);
        let _ = write!(self.line, "{value}");
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.name(field);
        if value.is_finite() {
            let _ = write!(self.line, "{value:?}");
        } else {
            self.line.push_str("null");
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.name(field);
        let _ = write!(self.line, "{value}");
    }
}

/// Writes what it is given as the inside of a JSON string.
struct JsonEscaped<'a>(&'a mut String);

impl std::fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let mut rest = s;
        while let Some(at) = rest.find(|c: char| c == '"' || c == '\\' || c < ' ') {
            self.0.push_str(&rest[..at]);
            let c = rest[at..].chars().next().unwrap_or(' ');
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                '\t' => self.0.push_str("\\t"),
                other => {
                    let _ = write!(self.0, "\\u{:04x}", other as u32);
                }
            }
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.push_str(rest);
        Ok(())
    }
}

/// UTC, microseconds, RFC 3339 (`2026-12-03T13:27:34.250800Z`), as the general format.
/// The date and time of day are formatted once per second per thread.
fn timestamp(line: &mut String) {
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != secs {
            cached.1.clear();
            let (year, month, day) = civil_from_days((secs / 86_400) as i64);
            let of_day = secs % 86_400;
            let _ = write!(
                cached.1,
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
                of_day / 3600,
                of_day / 60 % 60,
                of_day % 60
            );
            cached.0 = secs;
        }
        line.push_str(&cached.1);
    });
    let _ = write!(line, ".{:06}Z", now.subsec_micros());
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[path = "access_lines_tests.rs"]
mod tests;
