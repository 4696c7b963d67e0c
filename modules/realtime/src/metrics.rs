//! The realtime series at `/metrics`: open streams, events delivered, streams ended by
//! reason, commit-to-delivery latency, and the feed's size and oldest sequence.
//! Labels are bounded: `reason` is one of [`EndReason`]'s names.

use crate::latency::BatchHistogram;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::time::Duration;

/// Why a stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The client went away.
    Closed,
    /// Its buffer filled: `event: overflow`.
    Overflow,
    /// Its token expired or was revoked, or the rules no longer let it subscribe.
    Unauthorized,
    /// The server is shutting down.
    Shutdown,
    /// Every collection it followed was dropped.
    Dropped,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Closed => "closed",
            EndReason::Overflow => "overflow",
            EndReason::Unauthorized => "unauthorized",
            EndReason::Shutdown => "shutdown",
            EndReason::Dropped => "dropped",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Delivery latency buckets, in seconds.
const LATENCY_SECONDS: [f64; 11] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

#[derive(Clone)]
pub struct RealtimeMetrics {
    open: Gauge,
    delivered: Counter,
    ended: Family<ReasonLabels, Counter>,
    latency: BatchHistogram,
    feed_rows: Gauge,
    feed_oldest: Gauge,
    feed_newest: Gauge,
}

impl Default for RealtimeMetrics {
    fn default() -> Self {
        RealtimeMetrics {
            open: Gauge::default(),
            delivered: Counter::default(),
            ended: Family::default(),
            latency: BatchHistogram::new(&LATENCY_SECONDS),
            feed_rows: Gauge::default(),
            feed_oldest: Gauge::default(),
            feed_newest: Gauge::default(),
        }
    }
}

impl RealtimeMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "hearth_realtime_streams_open",
            "Server-Sent Event streams open now",
            self.open.clone(),
        );
        registry.register(
            "hearth_realtime_events_delivered",
            "Events written to streams (one per subscriber that received it)",
            self.delivered.clone(),
        );
        registry.register(
            "hearth_realtime_streams_ended",
            "Streams ended, by reason (closed, overflow, unauthorized, shutdown, dropped)",
            self.ended.clone(),
        );
        registry.register(
            "hearth_realtime_delivery_seconds",
            "From the commit of a change to its delivery to a live stream",
            self.latency.clone(),
        );
        registry.register(
            "hearth_realtime_feed_rows",
            "Changes retained in the feed",
            self.feed_rows.clone(),
        );
        registry.register(
            "hearth_realtime_feed_oldest_seq",
            "The oldest retained sequence (0 when the feed is empty)",
            self.feed_oldest.clone(),
        );
        registry.register(
            "hearth_realtime_feed_newest_seq",
            "The newest sequence",
            self.feed_newest.clone(),
        );
    }

    pub fn stream_opened(&self) {
        self.open.inc();
    }

    pub fn stream_ended(&self, reason: EndReason) {
        self.open.dec();
        self.ended
            .get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            })
            .inc();
    }

    /// `n` events written to one stream; `latency` from the hub's notice of their
    /// commit (live events; None for replayed ones and notices).
    pub fn delivered(&self, n: u64, latency: Option<Duration>) {
        if n == 0 {
            return;
        }
        self.delivered.inc_by(n);
        if let Some(latency) = latency {
            self.latency.observe_n(latency.as_secs_f64(), n);
        }
    }

    pub fn open_streams(&self) -> i64 {
        self.open.get()
    }

    pub fn set_feed_bounds(&self, bounds: &feed::Bounds) {
        self.feed_newest.set(bounds.newest);
        match bounds.oldest {
            // Sequences are dense (rowids, pruned from the oldest end only).
            Some(oldest) => {
                self.feed_oldest.set(oldest);
                self.feed_rows.set(bounds.newest - oldest + 1);
            }
            None => {
                self.feed_oldest.set(0);
                self.feed_rows.set(0);
            }
        }
    }
}
