//! Downloads of the files records hold (issue 17, API.md 10).
//!
//! - `GET|HEAD /api/v1/files/{collection}/{record_id}/{name}[?thumb=WxH][&token=T]`:
//!   access decided by `Resources::file_for_download` (a protected field's files need
//!   the record's view permission); `Range` (one range: 206, unsatisfiable: 416),
//!   strong `ETag` / `If-None-Match` (304), the type sniffed from the content,
//!   `Content-Disposition: attachment` for anything but raster images, `nosniff` and a
//!   sandbox CSP; the body streamed from the store.
//! - `?thumb=`: only the sizes the field lists; made once, kept in the store
//!   (`thumbnails`), served like the file.
//! - `POST /api/v1/files/token`: a 120 s multi-use file token for `?token=`.

mod endpoint;
mod headers;
mod metrics;
mod openapi;
mod serve;
mod thumbnails;
mod tokens;

pub use endpoint::DownloadsEndpoint;
pub use metrics::DownloadsMetrics;
pub use openapi::{static_paths as openapi_paths, static_schemas as openapi_schemas};
pub use serve::FILE_CSP;
pub use thumbnails::{original_of_thumb, thumb_key, thumbs_folder, DEFAULT_MAX_SOURCE_BYTES};
pub use tokens::TTL as TOKEN_TTL;

use auth::AuthService;
use auth::StandIns;
use files::BlobStore;
use resources::Resources;
use std::sync::Arc;
use std::time::Duration;
use thumbnails::Thumbnails;
use thumbs::Thumbnailer;

#[derive(Clone, Debug)]
pub struct DownloadsConfig {
    /// Files above this many bytes get no thumbnails (their original is served).
    pub max_thumb_source_bytes: u64,
    /// How long shared caches and browsers may keep a file of an unprotected field.
    pub public_max_age: Duration,
}

impl Default for DownloadsConfig {
    fn default() -> Self {
        DownloadsConfig {
            max_thumb_source_bytes: DEFAULT_MAX_SOURCE_BYTES,
            public_max_age: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// The downloads service: one per server (clone freely).
#[derive(Clone)]
pub struct Downloads {
    inner: Arc<Inner>,
}

struct Inner {
    resources: Resources,
    auth: AuthService,
    store: BlobStore,
    thumbnails: Thumbnails,
    tokens: StandIns,
    metrics: DownloadsMetrics,
    /// `Cache-Control` of unprotected files (made once from the configuration).
    public_cache_control: String,
}

impl Downloads {
    pub fn new(
        resources: Resources,
        auth: AuthService,
        store: BlobStore,
        thumbnailer: Thumbnailer,
        metrics: DownloadsMetrics,
        config: DownloadsConfig,
    ) -> Downloads {
        let public_cache_control = format!("public, max-age={}", config.public_max_age.as_secs());
        Downloads {
            inner: Arc::new(Inner {
                thumbnails: Thumbnails::new(
                    store.clone(),
                    thumbnailer,
                    metrics.clone(),
                    config.max_thumb_source_bytes,
                ),
                resources,
                auth,
                store,
                tokens: tokens::file_tokens(),
                metrics,
                public_cache_control,
            }),
        }
    }

    pub fn metrics(&self) -> &DownloadsMetrics {
        &self.inner.metrics
    }

    /// Ends every file token issued so far (they are in memory only; a restart does
    /// the same).
    pub fn revoke_file_tokens(&self) {
        self.inner.tokens.expire_all();
    }
}
