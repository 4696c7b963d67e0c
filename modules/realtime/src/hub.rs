//! The hub: one task that learns of every commit (storage's commit counter), reads the
//! new changes once from the feed, renders each once, and broadcasts them to every
//! stream. Streams that fall behind the broadcast buffer are told so (`Lagged`), which
//! is how a slow consumer is found.

use crate::event::{render, FeedEvent};
use crate::metrics::RealtimeMetrics;
use feed::Feed;
use resources::Resources;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// Changes read from the feed per query.
pub const PAGE: usize = 512;
/// How often the feed's size and oldest sequence are refreshed for the metrics.
const BOUNDS_EVERY: Duration = Duration::from_secs(15);

pub struct Hub {
    pub sender: broadcast::Sender<Arc<FeedEvent>>,
    /// The last sequence the hub has broadcast (or found at start).
    pub head: AtomicI64,
}

impl Hub {
    pub fn new(buffer: usize) -> Hub {
        let (sender, _) = broadcast::channel(buffer.max(16));
        Hub {
            sender,
            head: AtomicI64::new(0),
        }
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
    let mut last = loop {
        match feed.bounds().await {
            Ok(bounds) => break bounds.newest,
            Err(err) => {
                tracing::warn!(error = %err, "realtime: could not read the change feed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    };
    hub.head.store(last, Ordering::Release);
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
        loop {
            let changes = match feed.read_after(last, PAGE).await {
                Ok(changes) => changes,
                Err(err) => {
                    tracing::warn!(error = %err, "realtime: could not read new changes; trying again at the next commit");
                    break;
                }
            };
            let full = changes.len() == PAGE;
            for change in changes {
                last = change.seq;
                if let Some(event) = render(&resources, change, Some(noticed)) {
                    // No receivers is fine: nobody is listening.
                    let _ = hub.sender.send(Arc::new(event));
                }
            }
            hub.head.store(last, Ordering::Release);
            if !full {
                break;
            }
        }
    }
}
