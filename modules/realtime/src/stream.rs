//! One subscriber's stream: first the changes it missed (read from the feed, in order),
//! then live changes from the hub, each checked against the subscriber's rights and
//! filter at delivery time; heartbeats; a periodic re-check of the credential; and a
//! final notice when the stream ends for a reason other than the client leaving.

use crate::event::{render, FeedEvent};
use crate::hub::{Batch, HubMessage, PAGE};
use crate::limits::Slot;
use crate::metrics::EndReason;
use crate::sse;
use crate::Realtime;
use bytes::{Bytes, BytesMut};
use feed::ChangeKind;
use futures_util::future::BoxFuture;
use kernel::Principal;
use resources::{ResourceError, StreamFilter};
use serde_json::json;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// How a stream's right to continue is checked again, every `recheck` interval.
#[derive(Clone)]
pub enum Recheck {
    /// No credential: only the collection's rules are checked again.
    Anonymous,
    /// The bearer token (access or personal) the stream was opened with, or that its
    /// ticket stood for: authenticated again, so expiry and revocation end the stream.
    Bearer(String),
    /// Another module's session (the dashboard's cookie): None when it has ended.
    With(Arc<dyn Fn() -> BoxFuture<'static, Option<Principal>> + Send + Sync>),
}

pub struct Topic {
    pub collection: String,
    pub filter: Option<StreamFilter>,
}

pub(crate) struct Subscription {
    pub realtime: Realtime,
    pub topics: Vec<Topic>,
    pub principal: Option<Principal>,
    pub recheck: Recheck,
    /// The last sequence this stream has passed (delivered or skipped).
    pub last: i64,
    pub live: broadcast::Receiver<HubMessage>,
    /// Reading missed changes from the feed rather than from the hub.
    pub catching_up: bool,
    /// No live event received since the last catch-up (a lag then is ours, not the
    /// client's: catch up from the feed again instead of calling it an overflow).
    pub just_caught_up: bool,
    pub queue: VecDeque<Bytes>,
    pub heartbeat: Interval,
    pub recheck_tick: Interval,
    pub shutdown: watch::Receiver<bool>,
    pub ended: Option<EndReason>,
    pub delivered: u64,
    pub started: std::time::Instant,
    /// When the last bytes were handed to the connection (see COALESCE).
    pub last_write: Instant,
    pub _slot: Slot,
}

/// At most one write per stream per COALESCE: a change after a quiet spell leaves at
/// once, but under a steady flow of changes a stream's events gather for up to this long
/// and go out in one write. Over half of the fan-out's CPU was the kernel's send path,
/// paid once per write (perf, 1,000 streams × 1,000 creates/s on loopback); gathering
/// for 25 ms took the CPU per delivered event from 1.4 to 0.8 µs and, with the cores no
/// longer full, the p99 commit-to-delivery latency at that load from 56 to 45 ms
/// (ops/bench/realtime.sh). At 20 changes/s a stream still gets each change at once.
pub(crate) const COALESCE: std::time::Duration = std::time::Duration::from_millis(25);

pub(crate) fn interval(period: std::time::Duration) -> Interval {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick
}

impl Subscription {
    /// The next bytes to send, or None when the stream is over.
    pub async fn next(&mut self) -> Option<Bytes> {
        loop {
            let flush_at = self.last_write + COALESCE;
            if !self.queue.is_empty()
                && (self.ended.is_some() || self.catching_up || Instant::now() >= flush_at)
            {
                self.last_write = Instant::now();
                return Some(self.take_queued());
            }
            if self.ended.is_some() {
                return None;
            }
            if *self.shutdown.borrow() {
                self.end(EndReason::Shutdown);
                continue;
            }
            if self.catching_up {
                self.catch_up().await;
                continue;
            }
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => self.end(EndReason::Shutdown),
                _ = self.recheck_tick.tick() => self.check_again().await,
                _ = self.heartbeat.tick() => self.queue.push_back(sse::heartbeat()),
                received = self.live.recv() => match received {
                    // The hub skipped changes while idle: read any we lack from the feed
                    // (it holds this one too), then take live messages again.
                    Ok(_) if !self.realtime.inner.hub.covers(self.last) => {
                        self.catching_up = true;
                    }
                    Ok(HubMessage::Changes(batch)) => self.take_batch(&batch),
                    Ok(HubMessage::Resumed) => {}
                    Err(RecvError::Lagged(_)) if self.just_caught_up => {
                        self.live = self.live.resubscribe();
                        self.catching_up = true;
                    }
                    Err(RecvError::Lagged(_)) => self.overflow(),
                    Err(RecvError::Closed) => self.end(EndReason::Shutdown),
                },
                // What is queued leaves when COALESCE has passed since the last write.
                _ = tokio::time::sleep_until(flush_at), if !self.queue.is_empty() => {}
            }
        }
    }

    /// One page of missed changes from the feed; when the feed has no more, the stream
    /// goes live (the hub's receiver was subscribed before the first read, so the
    /// changes committed meanwhile are waiting there, and duplicates are skipped by seq).
    async fn catch_up(&mut self) {
        let changes = match self.realtime.inner.feed.read_after(self.last, PAGE).await {
            Ok(changes) => changes,
            Err(err) => {
                tracing::warn!(error = %err, "realtime: could not read the feed for a stream");
                self.end(EndReason::Shutdown);
                return;
            }
        };
        let full = changes.len() == PAGE;
        let mut delivered = 0;
        for change in changes {
            if let Some(event) = render(&self.realtime.inner.resources, change, None) {
                delivered += u64::from(self.offer(&event));
            }
        }
        self.count_delivered(delivered, None);
        if !full {
            self.catching_up = false;
            self.just_caught_up = true;
        }
    }

    /// A live batch: each event this subscriber may see is queued, and all of them
    /// leave in one write.
    fn take_batch(&mut self, batch: &Batch) {
        if self.realtime.inner.hub.behind(batch) > self.realtime.inner.config.buffer as u64 {
            if self.just_caught_up {
                // Behind since before the catch-up ended: ours, not the client's.
                self.live = self.live.resubscribe();
                self.catching_up = true;
            } else {
                self.overflow();
            }
            return;
        }
        self.just_caught_up = false;
        let mut delivered = 0;
        for event in &batch.events {
            delivered += u64::from(self.offer(event));
        }
        let noticed = batch.events.first().and_then(|e| e.noticed);
        self.count_delivered(delivered, noticed.map(|n| n.elapsed()));
    }

    fn count_delivered(&mut self, n: u64, latency: Option<std::time::Duration>) {
        self.delivered += n;
        self.realtime.inner.metrics.delivered(n, latency);
    }

    /// Everything queued, as one chunk: one write for a whole batch.
    fn take_queued(&mut self) -> Bytes {
        if self.queue.len() == 1 {
            return self.queue.pop_front().unwrap_or_default();
        }
        let size = self.queue.iter().map(Bytes::len).sum();
        let mut out = BytesMut::with_capacity(size);
        for frame in self.queue.drain(..) {
            out.extend_from_slice(&frame);
        }
        out.freeze()
    }

    /// The client reads slower than changes come: it can resume from its last event id,
    /// so nothing is lost by ending here.
    fn overflow(&mut self) {
        self.queue.push_back(sse::notice(
            "overflow",
            &json!({ "seq": self.last, "detail": "the stream fell too far behind; reconnect with Last-Event-ID to resume" }),
        ));
        self.end(EndReason::Overflow);
    }

    /// Queues `event` if this subscriber is to see it (true then), and moves the
    /// position past it.
    fn offer(&mut self, event: &FeedEvent) -> bool {
        if event.seq <= self.last {
            return false;
        }
        self.last = event.seq;
        let Some(at) = self
            .topics
            .iter()
            .position(|t| *t.collection == *event.collection)
        else {
            return false;
        };
        let resources = &self.realtime.inner.resources;
        if event.kind == ChangeKind::Schema {
            self.queue.push_back(event.frame.clone());
            if !resources.has_collection(&event.collection) {
                self.topics.remove(at);
                if self.topics.is_empty() {
                    self.end(EndReason::Dropped);
                }
            }
            return true;
        }
        let topic = &self.topics[at];
        let visible = resources.may_view(
            self.principal.as_ref(),
            &event.collection,
            event.owner.as_deref(),
        );
        let wanted = match (&topic.filter, &event.record) {
            (None, _) => true,
            (Some(filter), Some(record)) => filter.matches(record),
            (Some(_), None) => false,
        };
        if visible && wanted {
            self.queue.push_back(event.frame.clone());
        }
        visible && wanted
    }

    /// Is the credential still good, and do the rules still let it follow each topic?
    async fn check_again(&mut self) {
        let principal = match &self.recheck {
            Recheck::Anonymous => None,
            Recheck::Bearer(token) => match self.realtime.inner.auth.authenticate(token).await {
                Ok(principal) => Some(principal),
                Err(auth::AuthError::InvalidToken) => {
                    return self.unauthorized("the token expired or was revoked");
                }
                // A passing storage problem is no reason to end a good stream.
                Err(err) => {
                    tracing::warn!(error = %err, "realtime: could not re-check a stream's token");
                    return;
                }
            },
            Recheck::With(check) => match check().await {
                Some(principal) => Some(principal),
                None => return self.unauthorized("the session ended"),
            },
        };
        self.principal = principal;
        let resources = self.realtime.inner.resources.clone();
        let mut denied = false;
        self.topics.retain(|topic| {
            match resources.authorize_stream(self.principal.as_ref(), &topic.collection) {
                Ok(()) => true,
                Err(ResourceError::CollectionNotFound(_)) => false,
                Err(_) => {
                    denied = true;
                    true
                }
            }
        });
        if denied {
            self.unauthorized("the collection's rules no longer allow this stream");
        } else if self.topics.is_empty() {
            self.end(EndReason::Dropped);
        }
    }

    fn unauthorized(&mut self, detail: &str) {
        self.queue
            .push_back(sse::notice("unauthorized", &json!({ "detail": detail })));
        self.end(EndReason::Unauthorized);
    }

    fn end(&mut self, reason: EndReason) {
        if self.ended.is_none() {
            self.ended = Some(reason);
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let reason = self.ended.unwrap_or(EndReason::Closed);
        self.realtime.inner.metrics.stream_ended(reason);
        tracing::info!(
            target: "hearth::realtime",
            user_id = self.principal.as_ref().map(|p| tracing::field::display(&p.user_id)),
            reason = reason.as_str(),
            delivered = self.delivered,
            seconds = self.started.elapsed().as_secs(),
            "stream ended"
        );
    }
}
