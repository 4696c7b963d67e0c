//! One thumbnail, synchronously: decode (bounded), plan, scale, encode.

use std::panic::{self, AssertUnwindSafe};

use crate::decode::decode;
use crate::encode::{encode, Output};
use crate::error::ThumbError;
use crate::geometry::plan;
use crate::spec::ThumbSpec;

/// The largest side any output may have: JPEG and GIF cannot store more, and only a
/// keep-ratio size of an extreme strip gets near it.
const MAX_OUTPUT_SIDE: u64 = 65_535;

/// What decoding may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThumbLimits {
    /// Sources whose header claims more pixels are refused before decoding; thumbnails
    /// (a keep-ratio size of a very narrow image) are held to it too. Default 40 Mpx:
    /// every common camera and phone photo, a 160 MB RGBA buffer at most.
    pub max_pixels: u64,
    /// Bytes the decoder may allocate at once, its output buffer included. Default
    /// 256 MiB: any 8-bit image under `max_pixels`; 16-bit PNGs above about 32 Mpx
    /// (RGBA) or 44 Mpx (RGB) are refused. Scaling and encoding allocate outside it,
    /// the crop window's copy at most.
    pub max_alloc: u64,
}

impl Default for ThumbLimits {
    fn default() -> Self {
        ThumbLimits {
            max_pixels: 40_000_000,
            max_alloc: 256 * 1024 * 1024,
        }
    }
}

/// An encoded thumbnail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thumb {
    pub bytes: Vec<u8>,
    /// `image/jpeg`, `image/png` or `image/gif`: the source's format; for WebP, JPEG if
    /// it is lossy without transparency, PNG otherwise.
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Makes the `spec` thumbnail of `input` (JPEG, PNG, WebP or GIF; GIF's first frame).
/// CPU-bound (tens of milliseconds for a photo): call it off the async runtime, as
/// [`crate::Thumbnailer`] does.
pub fn generate(input: &[u8], spec: ThumbSpec, limits: &ThumbLimits) -> Result<Thumb, ThumbError> {
    // Decoders are meant never to panic, but they parse hostile input; PocketBase wraps
    // its call the same way after panics in Go's image packages. Nothing is shared, so
    // a panic leaves nothing half-updated behind.
    panic::catch_unwind(AssertUnwindSafe(|| make(input, spec, limits))).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(ThumbError::Corrupt {
            reason: format!("the decoder failed on this input: {message}"),
        })
    })
}

fn make(input: &[u8], spec: ThumbSpec, limits: &ThumbLimits) -> Result<Thumb, ThumbError> {
    let decoded = decode(input, limits)?;
    let plan = plan(decoded.image.width(), decoded.image.height(), spec);
    if plan.width > MAX_OUTPUT_SIDE
        || plan.height > MAX_OUTPUT_SIDE
        || plan.width * plan.height > limits.max_pixels
    {
        return Err(ThumbError::ThumbnailTooLarge {
            width: plan.width,
            height: plan.height,
        });
    }
    let (width, height) = (plan.width as u32, plan.height as u32);
    let has_alpha = decoded.image.color().has_alpha();
    let output = Output::for_source(decoded.format, decoded.lossy_webp, has_alpha);
    let scaled = crate::scale::scale(decoded.image, &plan, width, height);
    let bytes = encode(&scaled, output, limits)?;
    Ok(Thumb {
        bytes,
        mime: output.mime(),
        width,
        height,
    })
}
