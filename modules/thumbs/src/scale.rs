//! Cropping and resampling to the plan's size.
//!
//! Shrinking by 2× or more on both sides (the usual thumbnail) averages each output
//! pixel's box of source pixels (image's `thumbnail`, integer arithmetic): every source
//! pixel counts once, so nothing aliases, and it takes about half the time of a filter
//! (3 ms against 5 ms for 1200x1200 → 100x100, 8 against 11-15 ms for 1600x1200 →
//! 400x300). Closer to the source size, or enlarging, box averaging shows its steps and
//! the triangle filter takes over, PocketBase's `imaging.Linear`. The crop is a view:
//! only the window is read, nothing is copied before resampling.

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
    if crop_width / 2 >= job.width && crop_height / 2 >= job.height {
        imageops::thumbnail(&*window, job.width, job.height)
    } else {
        imageops::resize(&*window, job.width, job.height, FilterType::Triangle)
    }
}
