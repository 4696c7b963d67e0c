//! Server-Sent Events framing (the WHATWG `text/event-stream` format), written by hand:
//! a frame is a few `field: value` lines and a blank line, and building it once per
//! change (not once per subscriber) is what lets one change fan out cheaply.

use bytes::Bytes;

/// `id: SEQ`, `event: KIND`, `data: JSON`. `data` must be one line (compact JSON is).
pub fn event(id: i64, kind: &str, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + kind.len() + 40);
    out.extend_from_slice(b"id: ");
    out.extend_from_slice(id.to_string().as_bytes());
    out.extend_from_slice(b"\nevent: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// A final event without an id (`overflow`, `unauthorized`): it moves no position, so a
/// client resuming with `Last-Event-ID` resumes from the last change it saw.
pub fn notice(kind: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

/// How long a client waits before reconnecting (the browser's `EventSource` honours it).
pub fn retry(millis: u128) -> Bytes {
    Bytes::from(format!("retry: {millis}\n\n"))
}

/// A comment line: ignored by clients, keeps proxies and NATs from closing an idle stream.
pub fn heartbeat() -> Bytes {
    Bytes::from_static(b": ping\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_well_formed() {
        assert_eq!(
            &event(12, "created", br#"{"a":1}"#)[..],
            b"id: 12\nevent: created\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(
            &notice("overflow", &serde_json::json!({"seq": 3}))[..],
            b"event: overflow\ndata: {\"seq\":3}\n\n"
        );
        assert_eq!(&retry(3000)[..], b"retry: 3000\n\n");
        assert!(heartbeat().starts_with(b":"));
    }
}
