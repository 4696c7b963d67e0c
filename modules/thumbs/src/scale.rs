//! Cropping and resampling to the plan's size.
//!
//! The filter is the triangle (bilinear) one, PocketBase's `imaging.Linear`; image's
//! `resize` widens it by the scale factor when shrinking, so every source pixel
//! contributes (no aliasing from skipped pixels). The crop is a view: only the window is
//! read, nothing is copied before resampling.

use image::imageops::{self, FilterType};
use image::{DynamicImage, GenericImageView, ImageBuffer, Pixel};

use crate::geometry::Plan;

/// Scales `image` as `plan` says; `width`/`height` are the plan's, already checked to
/// fit in u32. 8-bit images keep their channels; 16-bit and float ones (only PNG has
/// them here) become 8-bit, which every output format wants anyway.
pub(crate) fn scale(image: DynamicImage, plan: &Plan, width: u32, height: u32) -> DynamicImage {
    let job = Job {
        plan,
        width,
        height,
    };
    match image {
        DynamicImage::ImageLuma8(b) => DynamicImage::ImageLuma8(scale_buffer(&b, job)),
        DynamicImage::ImageLumaA8(b) => DynamicImage::ImageLumaA8(scale_buffer(&b, job)),
        DynamicImage::ImageRgb8(b) => DynamicImage::ImageRgb8(scale_buffer(&b, job)),
        DynamicImage::ImageRgba8(b) => DynamicImage::ImageRgba8(scale_buffer(&b, job)),
        other if other.color().has_alpha() => {
            DynamicImage::ImageRgba8(scale_buffer(&other.to_rgba8(), job))
        }
        other if other.color().has_color() => {
            DynamicImage::ImageRgb8(scale_buffer(&other.to_rgb8(), job))
        }
        other => DynamicImage::ImageLuma8(scale_buffer(&other.to_luma8(), job)),
    }
}

#[derive(Clone, Copy)]
struct Job<'a> {
    plan: &'a Plan,
    width: u32,
    height: u32,
}

fn scale_buffer<P>(source: &ImageBuffer<P, Vec<u8>>, job: Job<'_>) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8> + 'static,
{
    let Plan {
        x,
        y,
        crop_width,
        crop_height,
        ..
    } = *job.plan;
    let window = source.view(x, y, crop_width, crop_height);
    if window.dimensions() == (job.width, job.height) {
        return window.to_image();
    }
    imageops::resize(&*window, job.width, job.height, FilterType::Triangle)
}
