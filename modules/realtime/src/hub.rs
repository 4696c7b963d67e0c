//! The hub: one task that learns of every commit (storage's commit counter), reads the
//! new changes once from the feed, renders each once, and broadcasts them to every
//! stream, a page at a time: one message (one wake-up of each stream, one socket write)
//! for all the changes read together, so that the busier the server, the larger the
//! batches and the cheaper each delivery. A stream more than `buffer` events behind
//! the newest broadcast is a slow consumer (see `Hub::behind`).
//!
//! With no stream open the hub reads nothing (a server without realtime clients pays
//! no query per commit). When streams appear it resumes from the feed's newest
//! sequence, records that position in `resumed_from`, and broadcasts
//! [`HubMessage::Resumed`]: a stream whose position is older reads the gap from the feed
//! itself, so skipping the idle period's changes loses nothing.

use crate::event::{render, FeedEvent};
use crate::metrics::RealtimeMetrics;
use feed::Feed;
use resources::Resources;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// Changes read from the feed per query.
pub const PAGE: usize = 512;
/// How often the feed's size and oldest sequence are refreshed for the metrics.
const BOUNDS_EVERY: Duration = Duration::from_secs(15);

/// Changes read together, in sequence order.
pub struct Batch {
    pub events: Vec<FeedEvent>,
    /// Events broadcast since the hub started, this batch's included.
    pub through: u64,
}

#[derive(Clone)]
pub enum HubMessage {
    Changes(Arc<Batch>),
    /// The hub was idle and now broadcasts the changes after `Hub::resumed_from`.
    Resumed,
}

pub struct Hub {
    pub sender: broadcast::Sender<HubMessage>,
    /// Live messages cover every change after this sequence (set before `Resumed`).
    pub resumed_from: AtomicI64,
    /// Events broadcast since the hub started.
    broadcast: AtomicU64,
}

impl Hub {
    /// `buffer` messages hold at least `buffer` events (a message has one or more), so
    /// the channel lags only a stream that `behind` would call slow anyway.
    pub fn new(buffer: usize) -> Hub {
        let (sender, _) = broadcast::channel(buffer.max(16));
        Hub {
            sender,
            resumed_from: AtomicI64::new(i64::MAX),
            broadcast: AtomicU64::new(0),
        }
    }

    /// How many events were broadcast after `batch`.
    pub fn behind(&self, batch: &Batch) -> u64 {
        self.broadcast
            .load(Ordering::Acquire)
            .saturating_sub(batch.through)
    }

    fn send_batch(&self, events: Vec<FeedEvent>) {
        if events.is_empty() {
            return;
        }
        let n = events.len() as u64;
        let through = self.broadcast.fetch_add(n, Ordering::AcqRel) + n;
        // No receivers is fine: they all left meanwhile.
        let _ = self
            .sender
            .send(HubMessage::Changes(Arc::new(Batch { events, through })));
    }

    /// Whether live messages cover every change after `position`; if not, the stream
    /// must read from the feed first.
    pub fn covers(&self, position: i64) -> bool {
        self.resumed_from.load(Ordering::Acquire) <= position
    }
}

/// Runs until `shutdown` turns true.
pub async fn run(
    hub: Arc<Hub>,
    feed: Feed,
    resources: Resources,
    metrics: RealtimeMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut commits = feed.commits();
    // None while no stream listens.
    let mut position: Option<i64> = None;
    let mut bounds_tick = tokio::time::interval(BOUNDS_EVERY);
    loop {
        tokio::select! {
            changed = commits.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = bounds_tick.tick() => {
                if let Ok(bounds) = feed.bounds().await {
                    metrics.set_feed_bounds(&bounds);
                }
                continue;
            }
            _ = shutdown.changed() => return,
        }
        let noticed = Instant::now();
        if hub.sender.receiver_count() == 0 {
            position = None;
            continue;
        }
        let mut last = match position {
            Some(last) => last,
            None => match feed.bounds().await {
                Ok(bounds) => {
                    hub.resumed_from.store(bounds.newest, Ordering::Release);
                    let _ = hub.sender.send(HubMessage::Resumed);
                    bounds.newest
                }
                Err(err) => {
                    tracing::warn!(error = %err, "realtime: could not read the change feed; trying again at the next commit");
                    continue;
                }
            },
        };
        loop {
            let changes = match feed.read_after(last, PAGE).await {
                Ok(changes) => changes,
                Err(err) => {
                    tracing::warn!(error = %err, "realtime: could not read new changes; trying again at the next commit");
                    break;
                }
            };
            let full = changes.len() == PAGE;
            let mut events = Vec::with_capacity(changes.len());
            for change in changes {
                last = change.seq;
                events.extend(render(&resources, change, Some(noticed)));
            }
            hub.send_batch(events);
            if !full {
                break;
            }
        }
        position = Some(last);
    }
}
