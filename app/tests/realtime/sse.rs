//! A small Server-Sent Events reader for the tests: frames split on blank lines, comment
//! and `retry:` frames kept apart from events. Every wait is bounded so a missing event
//! fails the test instead of hanging it.
#![allow(dead_code)]

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Option<String>,
    pub event: String,
    pub data: serde_json::Value,
}

/// The body's chunks; an error (as text, whichever client read it) ends the stream.
type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, String>> + Send>>;

pub struct Sse {
    body: Chunks,
    buffer: String,
    pub comments: usize,
    pub retry: Option<u64>,
}

impl Sse {
    pub fn new(resp: reqwest::Response) -> Sse {
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        Sse::from_chunks(
            resp.bytes_stream()
                .map(|chunk| chunk.map_err(|e| e.to_string())),
        )
    }

    /// A stream read by another client than reqwest (its status and headers checked by
    /// the caller).
    pub fn from_chunks(chunks: impl Stream<Item = Result<Bytes, String>> + Send + 'static) -> Sse {
        Sse {
            body: Box::pin(chunks),
            buffer: String::new(),
            comments: 0,
            retry: None,
        }
    }

    /// The next event within `wait`, None if none came (or the stream ended).
    pub async fn next_within(&mut self, wait: Duration) -> Option<Event> {
        tokio::time::timeout(wait, self.next()).await.ok().flatten()
    }

    /// The next event (bounded at 10 s).
    pub async fn event(&mut self) -> Event {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("an event arrives")
    }

    /// Whether the stream ends (the server closed it) within `wait`, events ignored.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.next()).await {
                Ok(None) => return true,
                Ok(Some(_)) => continue,
                Err(_) => return false,
            }
        }
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = self.parse(&frame) {
                    return Some(event);
                }
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }

    fn parse(&mut self, frame: &str) -> Option<Event> {
        let (mut id, mut event, mut data) = (None, None, None);
        for line in frame.lines() {
            if line.starts_with(':') {
                self.comments += 1;
            } else if let Some(v) = line.strip_prefix("retry: ") {
                self.retry = v.parse().ok();
            } else if let Some(v) = line.strip_prefix("id: ") {
                id = Some(v.to_owned());
            } else if let Some(v) = line.strip_prefix("event: ") {
                event = Some(v.to_owned());
            } else if let Some(v) = line.strip_prefix("data: ") {
                data = Some(serde_json::from_str(v).expect("data is JSON"));
            }
        }
        Some(Event {
            id,
            event: event?,
            data: data.unwrap_or(serde_json::Value::Null),
        })
    }
}
