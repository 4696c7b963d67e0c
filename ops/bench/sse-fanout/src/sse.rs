//! Incremental `text/event-stream` parser (the WHATWG event-stream format): lines end in
//! LF or CRLF, a blank line dispatches the event, `field:value` with one optional space
//! after the colon, `data` lines join with LF, lines starting with `:` are comments
//! (heartbeats). A lone CR as line end is not supported: neither server sends one.

use crate::bytes::find_byte;

/// One dispatched event; borrowed from the parser until the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// `event:` (empty when absent, which the format calls "message").
    pub name: &'a [u8],
    /// This event's own `id:` (empty when it had none).
    pub id: &'a [u8],
    pub data: &'a [u8],
}

/// A stream is refused once one event grows past this (a server bug or an attack on
/// the tool's memory).
const MAX_EVENT: usize = 1024 * 1024;

#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of an incomplete line carried over between reads.
    partial: Vec<u8>,
    name: Vec<u8>,
    id: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    comments: u64,
}

impl SseParser {
    /// Comment lines seen so far (`: ping` heartbeats).
    pub fn comments(&self) -> u64 {
        self.comments
    }

    /// Parses `bytes` (the next part of the body), calling `on_event` for every event it
    /// completes. Errors when an event grows past [`MAX_EVENT`].
    pub fn feed(
        &mut self,
        bytes: &[u8],
        mut on_event: impl FnMut(Event<'_>),
    ) -> Result<(), String> {
        let mut rest = bytes;
        while let Some(nl) = find_byte(rest, b'\n') {
            let (line, after) = rest.split_at(nl);
            rest = &after[1..];
            if self.partial.is_empty() {
                self.line(line, &mut on_event);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.line(&whole, &mut on_event);
                whole.clear();
                self.partial = whole;
            }
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() + self.data.len() > MAX_EVENT {
            return Err(format!("an event grew past {MAX_EVENT} bytes"));
        }
        Ok(())
    }

    fn line(&mut self, line: &[u8], on_event: &mut impl FnMut(Event<'_>)) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if self.has_data {
                on_event(Event {
                    name: &self.name,
                    id: &self.id,
                    data: &self.data,
                });
            }
            self.name.clear();
            self.id.clear();
            self.data.clear();
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            self.comments += 1;
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"event" => {
                self.name.clear();
                self.name.extend_from_slice(value);
            }
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"id" => {
                self.id.clear();
                self.id.extend_from_slice(value);
            }
            // `retry` and unknown fields change nothing the benchmark looks at.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(chunks: &[&[u8]]) -> (Vec<(String, String, String)>, u64) {
        let mut parser = SseParser::default();
        let mut events = Vec::new();
        for chunk in chunks {
            parser
                .feed(chunk, |e| {
                    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                    events.push((s(e.name), s(e.id), s(e.data)));
                })
                .unwrap();
        }
        (events, parser.comments())
    }

    #[test]
    fn hearth_and_pocketbase_framing() {
        let wire = b": ping\n\nid: 12\nevent: created\ndata: {\"seq\":12}\n\nid:abc\r\nevent:posts\r\ndata:{\"a\":1}\r\n\r\n";
        let expected = vec![
            (
                "created".to_string(),
                "12".to_string(),
                "{\"seq\":12}".to_string(),
            ),
            (
                "posts".to_string(),
                "abc".to_string(),
                "{\"a\":1}".to_string(),
            ),
        ];
        let (whole, comments) = collect(&[wire]);
        assert_eq!(whole, expected);
        assert_eq!(comments, 1);
        // Split at every byte boundary: the same events.
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(collect(&bytes).0, expected);
        let (halves, _) = collect(&[&wire[..30], &wire[30..]]);
        assert_eq!(halves, expected);
    }

    #[test]
    fn multi_line_data_and_events_without_data() {
        let (events, _) = collect(&[b"event: schema\n\ndata: a\ndata:  b\nfoo\n\n"]);
        // The first block has no data and is not dispatched; one leading space is stripped.
        assert_eq!(
            events,
            vec![(String::new(), String::new(), "a\n b".to_string())]
        );
    }

    #[test]
    fn an_endless_event_is_refused() {
        let mut parser = SseParser::default();
        let line = vec![b'x'; MAX_EVENT / 4];
        let mut result = Ok(());
        for _ in 0..5 {
            result = parser
                .feed(b"data: ", |_| {})
                .and(parser.feed(&line, |_| {}));
            if result.is_err() {
                break;
            }
        }
        assert!(result.is_err());
    }
}
