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
    /// WebP whose (first) image is lossy VP8 data rather than lossless VP8L.
    pub(crate) lossy_webp: bool,
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
    // Reads the header only: PNG up to the first IDAT chunk, GIF up to the first frame,
    // WebP its chunk headers; the JPEG decoder copies the input and parses its markers.
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
    Ok(Decoded {
        image,
        format,
        lossy_webp: format == ImageFormat::WebP && webp_is_lossy(input),
    })
}

/// Walks a WebP's RIFF chunks to its first image data: `VP8 ` is lossy, `VP8L` lossless;
/// an animation's first `ANMF` frame holds its own such chunk after a 16-byte header.
/// The decoder has already accepted the file, so the walk only needs to stop safely.
fn webp_is_lossy(input: &[u8]) -> bool {
    let mut at: usize = 12; // after "RIFF", the file size and "WEBP"
    while let Some(header) = input.get(at..at.saturating_add(8)) {
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        match &header[..4] {
            b"VP8 " => return true,
            b"VP8L" => return false,
            b"ANMF" => at = at.saturating_add(8 + 16),
            // Chunks are padded to an even size.
            _ => {
                at = at
                    .saturating_add(8)
                    .saturating_add(size)
                    .saturating_add(size & 1)
            }
        }
    }
    false
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

#[cfg(test)]
mod tests {
    use super::webp_is_lossy;

    #[test]
    fn webp_kind_is_read_from_the_first_image_chunk() {
        // "VP8 " straight after the header.
        assert!(webp_is_lossy(include_bytes!(
            "../tests/fixtures/lossy-64x48.webp"
        )));
        // VP8X, then ALPH, then "VP8 ".
        assert!(webp_is_lossy(include_bytes!(
            "../tests/fixtures/lossy-alpha-64x48.webp"
        )));
        let riff = |chunks: &[u8]| [b"RIFF\0\0\0\0WEBP".as_slice(), chunks].concat();
        assert!(!webp_is_lossy(&riff(b"VP8L\x05\0\0\0\x2f")));
        // An animation: VP8X, ANIM, then a frame whose data is lossy.
        let frame = [b"ANMF\x20\0\0\0".as_slice(), &[0; 16], b"VP8 \0\0\0\0"].concat();
        let animated = [
            b"VP8X\x0a\0\0\0".as_slice(),
            &[0; 10],
            b"ANIM\x06\0\0\0",
            &[0; 6],
            &frame,
        ];
        assert!(webp_is_lossy(&riff(&animated.concat())));
        // Odd sizes are padded; sizes running past the end stop the walk.
        assert!(webp_is_lossy(&riff(b"EXIF\x01\0\0\0x\0VP8 \0\0\0\0")));
        assert!(!webp_is_lossy(&riff(b"EXIF\xff\xff\xff\xffVP8 \0\0\0\0")));
        assert!(!webp_is_lossy(b"RIFF"));
    }
}
