//! Why a thumbnail could not be made. Every variant is about the input or the limits
//! except `Encode` and `Interrupted`; callers typically serve the original (as
//! PocketBase does) or answer 422/503, and log the message.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    /// The content is not JPEG, PNG, WebP or GIF (judged by its magic bytes), or uses a
    /// feature of one of them that the decoder does not implement.
    #[error("not a supported image format (JPEG, PNG, WebP or GIF): {reason}")]
    UnsupportedFormat { reason: String },
    /// The header claims more pixels than allowed; nothing was decoded.
    #[error("image of {width}x{height} pixels is over the limit of {max_pixels} pixels")]
    TooLarge {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    /// The requested size, applied to this image's ratio, gives a thumbnail over the
    /// pixel limit or a side over 65,535 (e.g. `4096x0` of a 1-pixel-wide strip).
    #[error("a thumbnail of {width}x{height} pixels is over the limits")]
    ThumbnailTooLarge { width: u64, height: u64 },
    /// Decoding would allocate more than `max_alloc` bytes.
    #[error("decoding this image needs more than the {max_alloc}-byte memory limit")]
    MemoryLimit { max_alloc: u64 },
    /// The data is damaged or truncated.
    #[error("corrupt image: {reason}")]
    Corrupt { reason: String },
    /// No thumbnailing slot became free within the configured wait.
    #[error("all thumbnailing slots stayed busy for {waited:?}")]
    Busy { waited: Duration },
    /// The thumbnail could not be encoded (an encoder's own limit).
    #[error("could not encode the thumbnail: {reason}")]
    Encode { reason: String },
    /// The blocking task did not finish (the runtime is shutting down).
    #[error("thumbnailing was interrupted: {reason}")]
    Interrupted { reason: String },
}
