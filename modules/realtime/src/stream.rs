//! One subscriber's stream: first the changes it missed (read from the feed, in order),
//! then live changes from the hub, each checked against the subscriber's rights and
//! filter at delivery time; heartbeats; a periodic re-check of the credential; and a
//! final notice when the stream ends for a reason other than the client leaving.

use crate::event::{render, FeedEvent};
use crate::hub::PAGE;
use crate::limits::Slot;
use crate::metrics::EndReason;
use crate::sse;
use crate::Realtime;
use bytes::Bytes;
use feed::ChangeKind;
use futures_util::future::BoxFuture;
use kernel::Principal;
use resources::{ResourceError, StreamFilter};
use serde_json::json;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::{Interval, MissedTickBehavior};

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
    pub live: broadcast::Receiver<Arc<FeedEvent>>,
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
    pub started: Instant,
    pub _slot: Slot,
}

pub(crate) fn interval(period: std::time::Duration) -> Interval {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick
}

impl Subscription {
    /// The next bytes to send, or None when the stream is over.
    pub async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.queue.pop_front() {
                return Some(frame);
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
                    Ok(event) => {
                        self.just_caught_up = false;
                        self.offer(&event);
                    }
                    Err(RecvError::Lagged(_)) if self.just_caught_up => {
                        self.live = self.live.resubscribe();
                        self.catching_up = true;
                    }
                    Err(RecvError::Lagged(_)) => {
                        // The client reads slower than changes come: it can resume from
                        // its last event id, so nothing is lost by ending here.
                        self.queue.push_back(sse::notice(
                            "overflow",
                            &json!({ "seq": self.last, "detail": "the stream fell too far behind; reconnect with Last-Event-ID to resume" }),
                        ));
                        self.end(EndReason::Overflow);
                    }
                    Err(RecvError::Closed) => self.end(EndReason::Shutdown),
                },
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
        for change in changes {
            if let Some(event) = render(&self.realtime.inner.resources, change, None) {
                self.offer(&event);
            }
        }
        if !full {
            self.catching_up = false;
            self.just_caught_up = true;
        }
    }

    /// Queues `event` if this subscriber is to see it, and moves the position past it.
    fn offer(&mut self, event: &FeedEvent) {
        if event.seq <= self.last {
            return;
        }
        self.last = event.seq;
        let Some(at) = self
            .topics
            .iter()
            .position(|t| *t.collection == *event.collection)
        else {
            return;
        };
        let resources = &self.realtime.inner.resources;
        if event.kind == ChangeKind::Schema {
            self.queue.push_back(event.frame.clone());
            self.realtime.inner.metrics.delivered(None);
            self.delivered += 1;
            if !resources.has_collection(&event.collection) {
                self.topics.remove(at);
                if self.topics.is_empty() {
                    self.end(EndReason::Dropped);
                }
            }
            return;
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
            self.realtime
                .inner
                .metrics
                .delivered(event.noticed.map(|n| n.elapsed()));
            self.delivered += 1;
        }
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
