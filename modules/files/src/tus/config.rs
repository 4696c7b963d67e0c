//! How tus uploads are limited and kept. A plain struct the app fills (in code: tests
//! shorten the expiry).

use std::time::Duration;

/// 5 GiB: the largest `max_size` a file field may have, so no upload needs more.
pub const DEFAULT_MAX_SIZE: u64 = 5 * 1024 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadsConfig {
    /// An unfinished upload is removed this long after its last chunk (or its
    /// creation); a finished one this long after it finished, if it was never attached.
    /// Default 24 h.
    pub ttl: Duration,
    /// The largest `Upload-Length` accepted whatever the field allows (`Tus-Max-Size`).
    /// Default 5 GiB.
    pub max_size: u64,
    /// How often expired uploads are looked for. Default 5 min.
    pub sweep_every: Duration,
    /// Unfinished uploads one user may have at once (each holds a staging file until
    /// it expires); one more is 409. Default 100.
    pub max_unfinished_per_user: u64,
    /// How long a request waits for another one on the same upload (a PATCH still
    /// running after its client went away) before answering 409. Default 10 s.
    pub lock_wait: Duration,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        UploadsConfig {
            ttl: Duration::from_secs(24 * 60 * 60),
            max_size: DEFAULT_MAX_SIZE,
            sweep_every: Duration::from_secs(5 * 60),
            max_unfinished_per_user: 100,
            lock_wait: Duration::from_secs(10),
        }
    }
}
