//! The downloads series at `/metrics`: body bytes sent, and thumbnails made or failed.
//! The app registers them next to the other modules' (`DownloadsMetrics::register`).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

/// Cheap to clone; clones share the counters.
#[derive(Clone, Debug, Default)]
pub struct DownloadsMetrics {
    bytes_served: Counter,
    thumbs_generated: Counter,
    thumbs_failed: Counter,
}

impl DownloadsMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "hearth_files_download_bytes",
            "Bytes of file bodies sent by downloads (originals and thumbnails)",
            self.bytes_served.clone(),
        );
        registry.register(
            "hearth_files_thumbnails_generated",
            "Thumbnails generated and stored (each size of each file once)",
            self.thumbs_generated.clone(),
        );
        registry.register(
            "hearth_files_thumbnails_failed",
            "Thumbnails that could not be made (the original was served instead)",
            self.thumbs_failed.clone(),
        );
    }

    pub(crate) fn served(&self, bytes: u64) {
        self.bytes_served.inc_by(bytes);
    }

    pub(crate) fn thumb_generated(&self) {
        self.thumbs_generated.inc();
    }

    pub(crate) fn thumb_failed(&self) {
        self.thumbs_failed.inc();
    }

    pub fn bytes_served(&self) -> u64 {
        self.bytes_served.get()
    }

    pub fn thumbnails_generated(&self) -> u64 {
        self.thumbs_generated.get()
    }

    pub fn thumbnails_failed(&self) -> u64 {
        self.thumbs_failed.get()
    }
}
