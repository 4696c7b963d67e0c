//! Decoding with the size known and bounded before any pixel buffer exists.
//!
//! Order matters against decompression bombs (a few hundred bytes of PNG or GIF can claim
//! 65,535 × 65,535 pixels, 17 GB as RGBA): the format is sniffed from the magic bytes,
//! the decoder reads only the header, the claimed pixel count is checked against
//! `max_pixels`, and only then is the output buffer reserved against `max_alloc`, which
//! the decoders also charge their own working buffers to (the PNG decoder's inflate
//! buffers, a GIF frame that is larger than its logical screen).

use std::io::Cursor;

use image::error::LimitErrorKind;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};

use crate::error::ThumbError;
use crate::ThumbLimits;

/// The formats Hearth thumbnails, by the MIME type a sniffer gives them.
pub const SUPPORTED_MIME_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/webp", "image/gif"];

/// A decoded first frame, turned upright (EXIF orientation applied, as PocketBase's
/// `imaging.AutoOrientation(true)`), and the format it came in.
pub(crate) struct Decoded {
    pub(crate) image: DynamicImage,
    pub(crate) format: ImageFormat,
}

pub(crate) fn decode(input: &[u8], limits: &ThumbLimits) -> Result<Decoded, ThumbError> {
    let format = image::guess_format(input).map_err(|_| ThumbError::UnsupportedFormat {
        reason: "unknown magic bytes".into(),
    })?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif
    ) {
        return Err(ThumbError::UnsupportedFormat {
            reason: format!("{format:?} is not thumbnailed"),
        });
    }

    let mut budget = image::Limits::default();
    budget.max_alloc = Some(limits.max_alloc);
    let mut reader = ImageReader::with_format(Cursor::new(input), format);
    reader.limits(budget.clone());
    // Reads the header only (the PNG decoder up to the first IDAT chunk, the GIF one up
    // to the first frame, JPEG its markers).
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| from_image_error(e, limits))?;

    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ThumbError::Corrupt {
            reason: format!("the header claims {width}x{height} pixels"),
        });
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ThumbError::TooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }

    // A broken EXIF block only loses the rotation, not the thumbnail.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    // What `ImageReader::decode` does: the output buffer counts against the budget and
    // the decoder gets what is left for its own allocations.
    budget
        .reserve(decoder.total_bytes())
        .map_err(|e| from_image_error(e, limits))?;
    decoder
        .set_limits(budget)
        .map_err(|e| from_image_error(e, limits))?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| from_image_error(e, limits))?;
    image.apply_orientation(orientation);
    Ok(Decoded { image, format })
}

pub(crate) fn from_image_error(error: ImageError, limits: &ThumbLimits) -> ThumbError {
    match error {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::InsufficientMemory => ThumbError::MemoryLimit {
                max_alloc: limits.max_alloc,
            },
            _ => ThumbError::Corrupt {
                reason: limit.to_string(),
            },
        },
        ImageError::Unsupported(unsupported) => ThumbError::UnsupportedFormat {
            reason: unsupported.to_string(),
        },
        // An I/O error reading from memory can only be the data ending early.
        ImageError::IoError(io) => ThumbError::Corrupt {
            reason: format!("truncated: {io}"),
        },
        ImageError::Decoding(decoding) => ThumbError::Corrupt {
            reason: decoding.to_string(),
        },
        ImageError::Parameter(parameter) => ThumbError::Corrupt {
            reason: parameter.to_string(),
        },
        ImageError::Encoding(encoding) => ThumbError::Encode {
            reason: encoding.to_string(),
        },
    }
}
