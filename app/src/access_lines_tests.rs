use super::*;
use crate::config::LogFormat;
use std::sync::{Arc, Mutex};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

#[test]
fn civil_dates_match_known_days() {
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    assert_eq!(civil_from_days(20_790), (2026, 12, 3));
    assert_eq!(civil_from_days(-1), (1969, 12, 31));
}

#[test]
fn json_escaping_covers_quotes_backslashes_and_controls() {
    let mut out = String::new();
    let _ = JsonEscaped(&mut out).write_str("a\"b\\c\nd\u{1}é");
    assert_eq!(out, "a\\\"b\\\\c\\nd\\u0001é");
    let parsed: String = serde_json::from_str(&format!("\"{out}\"")).unwrap();
    assert_eq!(parsed, "a\"b\\c\nd\u{1}é");
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Logs an access event like the middleware's (every kind of value it uses, and an
/// absent one) and returns the line written.
fn logged(layer: Box<dyn Layer<Registry> + Send + Sync>, capture: &Capture) -> String {
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        use tracing::field::display as shown;
        tracing::info!(
            target: "hearth::access",
            method = %"GET",
            route = %"/api/v1/{collection}/{id}",
            collection = Some(shown("posts")),
            status = 200u16,
            latency_ms = 1.0,
            bytes = Some(212u64),
            request_id = Some(shown("0192\"x")),
            user_id = None::<&str>.map(shown),
            client_ip = Some(shown("203.0.113.7")),
            "request"
        );
    });
    let line = String::from_utf8(std::mem::take(&mut *capture.0.lock().unwrap())).unwrap();
    assert!(
        line.ends_with('\n') && line.matches('\n').count() == 1,
        "{line:?}"
    );
    line
}

fn general(format: LogFormat, capture: &Capture) -> Box<dyn Layer<Registry> + Send + Sync> {
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(capture.clone());
    match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
    }
}

/// The access line is what the general formatter would have written, timestamp aside.
#[test]
fn text_lines_match_the_general_format() {
    let capture = Capture::default();
    let ours = logged(
        crate::logging::log_layer(
            LogFormat::Text,
            EnvFilter::new("info"),
            false,
            capture.clone(),
        ),
        &capture,
    );
    let theirs = logged(general(LogFormat::Text, &capture), &capture);
    let (our_time, our_rest) = ours.split_once(' ').unwrap();
    let (their_time, their_rest) = theirs.split_once(' ').unwrap();
    assert_eq!(our_rest, their_rest);
    assert_eq!(
        our_time.len(),
        their_time.len(),
        "{our_time} / {their_time}"
    );
    assert!(our_time[..10] == their_time[..10] && our_time.ends_with('Z'));
}

#[test]
fn json_lines_match_the_general_format() {
    let capture = Capture::default();
    let ours = logged(
        crate::logging::log_layer(
            LogFormat::Json,
            EnvFilter::new("info"),
            false,
            capture.clone(),
        ),
        &capture,
    );
    let theirs = logged(general(LogFormat::Json, &capture), &capture);
    let mut ours: serde_json::Value = serde_json::from_str(&ours).unwrap();
    let mut theirs: serde_json::Value = serde_json::from_str(&theirs).unwrap();
    let our_time = ours.as_object_mut().unwrap().remove("timestamp").unwrap();
    let their_time = theirs.as_object_mut().unwrap().remove("timestamp").unwrap();
    assert_eq!(ours, theirs);
    assert_eq!(
        our_time.as_str().unwrap().len(),
        their_time.as_str().unwrap().len()
    );
}

/// The log filter still decides: `hearth::access=warn` silences the access log only.
#[test]
fn the_filter_can_silence_the_access_log() {
    let capture = Capture::default();
    let layer = crate::logging::log_layer(
        LogFormat::Text,
        EnvFilter::new("info,hearth::access=warn"),
        false,
        capture.clone(),
    );
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info!(target: "hearth::access", status = 200u16, "request");
        tracing::info!(target: "hearth::other", "kept");
    });
    let written = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(!written.contains("hearth::access"), "{written}");
    assert!(written.contains("hearth::other: kept"), "{written}");
}
