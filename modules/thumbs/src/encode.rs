//! The thumbnail's format: the source's, as in PocketBase, except WebP.
//!
//! PocketBase writes JPEG as JPEG, GIF as GIF and everything else as PNG ("this includes
//! webp!", `tools/filesystem`), because Go's imaging has no WebP encoder. image has none
//! for lossy WebP either; its lossless one makes files about PNG's size. So:
//! - a lossy WebP without transparency (photographs) becomes JPEG: a 400x300 thumbnail of
//!   a photo is about 10 KB as JPEG and over 100 KB as PNG or lossless WebP;
//! - any other WebP (lossless, or with an alpha channel) becomes PNG, as in PocketBase,
//!   keeping sharp edges and transparency.
//!
//! [`crate::Thumb::mime`] says which came out.

use std::io::Cursor;

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ExtendedColorType, ImageFormat};

use crate::decode::from_image_error;
use crate::error::ThumbError;
use crate::ThumbLimits;

/// JPEG quality of thumbnails. PocketBase uses imaging's default, 95; 85 is visually the
/// same at thumbnail sizes and about half the bytes.
const JPEG_QUALITY: u8 = 85;

/// NeuQuant's sampling factor for GIF palettes: 10 is the gif crate's suggested balance
/// (1, image's default, is several times slower for no visible gain at these sizes).
const GIF_SPEED: i32 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    Jpeg,
    Png,
    Gif,
}

impl Output {
    /// `lossy_webp`: the source is WebP whose (first) image is VP8 data.
    pub(crate) fn for_source(format: ImageFormat, lossy_webp: bool, has_alpha: bool) -> Output {
        match format {
            ImageFormat::Jpeg => Output::Jpeg,
            ImageFormat::Gif => Output::Gif,
            ImageFormat::WebP if lossy_webp && !has_alpha => Output::Jpeg,
            _ => Output::Png,
        }
    }

    pub(crate) fn mime(self) -> &'static str {
        match self {
            Output::Jpeg => "image/jpeg",
            Output::Png => "image/png",
            Output::Gif => "image/gif",
        }
    }
}

pub(crate) fn encode(
    image: &DynamicImage,
    output: Output,
    limits: &ThumbLimits,
) -> Result<Vec<u8>, ThumbError> {
    let mut bytes = Cursor::new(Vec::new());
    let written = match output {
        Output::Jpeg => {
            let encoder = JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY);
            // JPEG has no alpha channel; a JPEG source has none either, short of an odd
            // Adobe RGBA variant, whose alpha is dropped.
            match image {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => {
                    image.write_with_encoder(encoder)
                }
                other if other.color().has_color() => {
                    DynamicImage::ImageRgb8(other.to_rgb8()).write_with_encoder(encoder)
                }
                other => DynamicImage::ImageLuma8(other.to_luma8()).write_with_encoder(encoder),
            }
        }
        Output::Png => image.write_with_encoder(PngEncoder::new_with_quality(
            &mut bytes,
            // fdeflate: 0.8 ms for a 400x300 photo-like thumbnail against 42 ms at
            // zlib's default level, for files at most a tenth larger.
            CompressionType::Fast,
            FilterType::Adaptive,
        )),
        Output::Gif => {
            let rgba = image.to_rgba8();
            GifEncoder::new_with_speed(&mut bytes, GIF_SPEED).encode(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                ExtendedColorType::Rgba8,
            )
        }
    };
    written.map_err(|e| from_image_error(e, limits))?;
    Ok(bytes.into_inner())
}
