//! Realtime: the change feed served as Server-Sent Events (API.md 7, issue 16).
//!
//! - `GET /api/v1/{collection}/events[?filter=…]` and `GET /api/v1/realtime?topics=a,b`
//!   stream changes as `id: <seq>`, `event: created|updated|deleted|schema|reset`,
//!   `data: {"collection", "seq", "record"}`.
//! - `Last-Event-ID` (or `?since=`) replays what a client missed, in order, exactly
//!   once, from the durable feed (`feed` crate); older than the retention: one `reset`.
//! - Every event is checked at delivery against the subscriber's view rights and filter;
//!   the stream's credential is checked again every `recheck`.
//! - `POST /api/v1/realtime/tickets`: single-use 30 s tickets for `EventSource`.
//!
//! The hub (hub.rs) reads and renders each change once for all streams; each stream
//! (stream.rs) only decides and copies.

mod config;
mod endpoint;
mod event;
mod hub;
mod latency;
mod limits;
mod metrics;
mod openapi;
mod sse;
mod stream;
mod tickets;

pub use config::RealtimeConfig;
pub use endpoint::{last_event_id, parse_event_id, RealtimeEndpoint};
pub use metrics::RealtimeMetrics;
pub use openapi::{static_paths as openapi_paths, static_schemas as openapi_schemas};
pub use stream::{Recheck, Topic};

use auth::AuthService;
use auth::StandIns;
use feed::Feed;
use hub::Hub;
use kernel::{Principal, Problem, ProblemCode};
use limits::{Refused, Slots};
use poem::http::{header, StatusCode};
use poem::{Body, Response};
use resources::Resources;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;
use stream::{interval, Subscription};
use tokio::sync::watch;

/// The realtime service: one per server (clone freely).
#[derive(Clone)]
pub struct Realtime {
    inner: Arc<Inner>,
}

struct Inner {
    config: RealtimeConfig,
    resources: Resources,
    auth: AuthService,
    feed: Feed,
    hub: Arc<Hub>,
    slots: Slots,
    tickets: StandIns,
    metrics: RealtimeMetrics,
    shutdown: watch::Sender<bool>,
}

/// What a stream is to follow, and for whom.
pub struct StreamRequest {
    pub principal: Option<Principal>,
    pub recheck: Recheck,
    /// Collection names (at least one).
    pub collections: Vec<String>,
    /// A filter, for a single collection only.
    pub filter: Option<String>,
    /// Resume after this sequence (`Last-Event-ID` / `since`).
    pub since: Option<i64>,
    /// Whose stream cap it counts against: a user id, or `ip:<network>`.
    pub caller_key: String,
}

/// Collections one stream may follow.
pub const MAX_TOPICS: usize = 16;

impl Realtime {
    /// Starts the hub on the current tokio runtime.
    pub fn start(
        config: RealtimeConfig,
        resources: Resources,
        auth: AuthService,
        feed: Feed,
        metrics: RealtimeMetrics,
    ) -> Realtime {
        let hub = Arc::new(Hub::new(config.buffer));
        let (shutdown, stopped) = watch::channel(false);
        tokio::spawn(hub::run(
            Arc::clone(&hub),
            feed.clone(),
            resources.clone(),
            metrics.clone(),
            stopped,
        ));
        Realtime {
            inner: Arc::new(Inner {
                slots: Slots::new(config.max_streams_per_user, config.max_streams),
                config,
                resources,
                auth,
                feed,
                hub,
                tickets: tickets::tickets(),
                metrics,
                shutdown,
            }),
        }
    }

    /// Ends every stream (at its next step, within milliseconds) and stops the hub.
    pub fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
    }

    pub fn open_streams(&self) -> i64 {
        self.inner.metrics.open_streams()
    }

    /// The newest sequence of the feed, None when it cannot be read (logged). A page that
    /// reads it before the records it shows can open its stream with `since` = it and
    /// miss nothing committed in between.
    pub async fn newest_seq(&self) -> Option<i64> {
        match self.inner.feed.bounds().await {
            Ok(bounds) => Some(bounds.newest),
            Err(err) => {
                tracing::warn!(error = %err, "realtime: could not read the feed's bounds");
                None
            }
        }
    }

    /// A ticket standing for `bearer`, for `?ticket=`.
    pub fn issue_ticket(&self, bearer: &str, user_id: &str) -> Result<String, Problem> {
        self.inner.tickets.issue(bearer, user_id).map_err(|_| {
            Problem::new(ProblemCode::RateLimited)
                .with_detail("too many unused tickets; use or let expire the ones issued")
                .with_retry_after(tickets::TTL.as_secs())
        })
    }

    /// The token a ticket stands for (once).
    pub fn redeem_ticket(&self, ticket: &str) -> Option<String> {
        self.inner.tickets.redeem(ticket)
    }

    /// Opens a stream: every check that can refuse it happens here, before the 200.
    pub async fn open(&self, request: StreamRequest) -> Result<Response, Problem> {
        let inner = &self.inner;
        if request.collections.is_empty() || request.collections.len() > MAX_TOPICS {
            return Err(Problem::new(ProblemCode::InvalidQuery).with_detail(format!(
                "name between 1 and {MAX_TOPICS} collections in `topics`"
            )));
        }
        let mut topics: Vec<Topic> = Vec::with_capacity(request.collections.len());
        for name in &request.collections {
            if topics.iter().any(|t| t.collection == *name) {
                continue;
            }
            inner
                .resources
                .authorize_stream(request.principal.as_ref(), name)
                .map_err(Problem::from)?;
            let filter = match &request.filter {
                Some(text) => Some(
                    inner
                        .resources
                        .stream_filter(name, text)
                        .map_err(Problem::from)?,
                ),
                None => None,
            };
            topics.push(Topic {
                collection: name.clone(),
                filter,
            });
        }
        let bounds = inner.feed.bounds().await.map_err(|err| {
            tracing::warn!(error = %err, "realtime: could not read the feed's bounds");
            Problem::new(ProblemCode::Unavailable).with_detail("the change feed cannot be read now")
        })?;
        if let Some(since) = request.since {
            if since > bounds.newest {
                return Err(
                    Problem::new(ProblemCode::InvalidEventId).with_detail(format!(
                        "event id {since} is ahead of the feed (newest {})",
                        bounds.newest
                    )),
                );
            }
        }
        let slot = inner
            .slots
            .acquire(&request.caller_key)
            .map_err(|refused| match refused {
                Refused::PerCaller(n) => Problem::new(ProblemCode::StreamLimitReached)
                    .with_detail(format!(
                        "at most {n} streams may be open per user; close one"
                    ))
                    .with_retry_after(inner.config.retry.as_secs().max(1)),
                Refused::Total(n) => Problem::new(ProblemCode::Unavailable)
                    .with_detail(format!("the server holds its maximum of {n} streams"))
                    .with_retry_after(inner.config.retry.as_secs().max(1)),
            })?;
        // Subscribed before the first read of the feed: nothing committed from here on
        // can fall between the replay and the live events.
        let live = inner.hub.sender.subscribe();
        let mut queue = VecDeque::new();
        queue.push_back(sse::retry(inner.config.retry.as_millis()));
        let last = match request.since {
            // Changes after `since` were pruned: the client must refetch.
            Some(since) if bounds.oldest.is_some_and(|oldest| since < oldest - 1) => {
                queue.push_back(sse::event(
                    bounds.newest,
                    "reset",
                    serde_json::json!({"collection": null, "seq": bounds.newest, "record": null})
                        .to_string()
                        .as_bytes(),
                ));
                bounds.newest
            }
            Some(since) => since,
            None => bounds.newest,
        };
        inner.metrics.stream_opened();
        tracing::info!(
            target: "hearth::realtime",
            user_id = request.principal.as_ref().map(|p| tracing::field::display(&p.user_id)),
            topics = %request.collections.join(","),
            since = request.since,
            "stream started"
        );
        let subscription = Subscription {
            realtime: self.clone(),
            topics,
            principal: request.principal,
            recheck: request.recheck,
            last,
            live,
            catching_up: true,
            just_caught_up: false,
            queue,
            heartbeat: interval(inner.config.heartbeat),
            recheck_tick: interval(inner.config.recheck),
            shutdown: inner.shutdown.subscribe(),
            ended: None,
            delivered: 0,
            started: Instant::now(),
            last_write: tokio::time::Instant::now(),
            _slot: slot,
        };
        let frames = futures_util::stream::unfold(subscription, |mut sub| async move {
            let frame = sub.next().await?;
            Some((Ok::<_, std::io::Error>(frame), sub))
        });
        Ok(Response::builder()
            .status(StatusCode::OK)
            .content_type("text/event-stream")
            .header(header::CACHE_CONTROL, "no-store")
            // nginx: do not buffer this response (README, reverse proxies).
            .header("x-accel-buffering", "no")
            .body(Body::from_bytes_stream(frames)))
    }
}
