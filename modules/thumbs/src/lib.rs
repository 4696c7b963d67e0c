//! Thumbnails for Hearth's file fields.
//!
//! - [`ThumbSpec`]: the sizes `WxH` (crop), `WxHf` (fit), `Wx0` / `0xH` (keep ratio), as
//!   `?thumb=` and a field's `thumbs` option spell them; canonical text, so the string
//!   is also a cache key.
//! - [`generate`]: one thumbnail of a JPEG, PNG, WebP or GIF (first frame), bounded by
//!   [`ThumbLimits`] against decompression bombs. Output is the source's format; WebP,
//!   which image cannot write lossy, becomes JPEG (lossy, opaque) or PNG (lossless or
//!   transparent) ([`Thumb::mime`] says which).
//! - [`Thumbnailer`]: the same on tokio's blocking pool, at most N at once, with a wait
//!   limit and a count for metrics.
//!
//! Sizes, enlargement and the output formats follow PocketBase's `CreateThumb` so that
//! clients see the same thumbnails; the differences (no `t`/`b` crop anchors, JPEG
//! quality 85 instead of 95, opaque lossy WebP as JPEG instead of PNG, the limits) are
//! documented where they are made.

mod decode;
mod encode;
mod error;
mod generate;
mod geometry;
mod scale;
mod spec;
mod thumbnailer;

pub use decode::SUPPORTED_MIME_TYPES;
pub use error::ThumbError;
pub use generate::{generate, Thumb, ThumbLimits};
pub use spec::{SpecError, ThumbMode, ThumbSpec, MAX_SIDE};
pub use thumbnailer::{Thumbnailer, ThumbnailerConfig};
