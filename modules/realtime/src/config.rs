//! The realtime settings (configuration keys `realtime_*`, see the README).

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct RealtimeConfig {
    /// Streams one user (anonymous callers: one client network) may hold open.
    pub max_streams_per_user: usize,
    /// Streams the server holds open in all.
    pub max_streams: usize,
    /// Events a stream may fall behind the newest before it is ended with `overflow`.
    pub buffer: usize,
    /// A comment line this often keeps idle streams open through proxies.
    pub heartbeat: Duration,
    /// How often a stream's token and the collection's rules are checked again: a
    /// revoked or expired token ends its streams within this time.
    pub recheck: Duration,
    /// The `retry:` hint: how long a disconnected client waits before reconnecting.
    pub retry: Duration,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            max_streams_per_user: 8,
            max_streams: 10_000,
            buffer: 1_000,
            heartbeat: Duration::from_secs(15),
            recheck: Duration::from_secs(15),
            retry: Duration::from_secs(3),
        }
    }
}
