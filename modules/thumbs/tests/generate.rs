//! Thumbnails of real images in each format and each kind of size: exact dimensions, the
//! output format, which part of the source ends up in them.

mod common;

use common::*;
use image::{DynamicImage, GenericImageView, ImageFormat, Rgb, RgbImage};
use thumbs::{generate, ThumbLimits, ThumbSpec};

fn spec(text: &str) -> ThumbSpec {
    text.parse().unwrap()
}

/// (name, source bytes, the format thumbnails come out in, its MIME type)
fn sources(width: u32, height: u32) -> Vec<(&'static str, Vec<u8>, ImageFormat, &'static str)> {
    let rgb = DynamicImage::ImageRgb8(gradient(width, height));
    let rgba = rgb.to_rgba8();
    vec![
        ("jpeg", jpeg(&rgb), ImageFormat::Jpeg, "image/jpeg"),
        ("png", png(&rgb), ImageFormat::Png, "image/png"),
        ("webp", webp(&rgba), ImageFormat::Png, "image/png"),
        ("gif", gif(&[rgba]), ImageFormat::Gif, "image/gif"),
    ]
}

#[test]
fn every_format_and_size_kind_gives_the_exact_size() {
    // (spec, expected size) for a 160x120 source.
    let cases = [
        ("100x100", (100, 100)),
        ("50x80", (50, 80)),
        ("300x200", (300, 200)), // crops enlarge, as PocketBase's Fill
        ("100x100f", (100, 75)),
        ("90x120f", (90, 68)),    // 67.5 rounds up
        ("200x200f", (160, 120)), // a fit never enlarges
        ("80x0", (80, 60)),
        ("0x30", (40, 30)),
        ("320x0", (320, 240)), // keep-ratio enlarges, as PocketBase's Resize
        ("160x120", (160, 120)),
    ];
    for (name, bytes, format, mime) in sources(160, 120) {
        for (text, (width, height)) in cases {
            let thumb = generate(&bytes, spec(text), &ThumbLimits::default())
                .unwrap_or_else(|e| panic!("{name} {text}: {e}"));
            assert_eq!(
                (thumb.width, thumb.height),
                (width, height),
                "{name} {text}"
            );
            assert_eq!(thumb.mime, mime, "{name} {text}");
            let (actual_format, image) = open(&thumb.bytes);
            assert_eq!(actual_format, format, "{name} {text}");
            assert_eq!(image.dimensions(), (width, height), "{name} {text}");
        }
    }
}

/// Three vertical bands, red | green | blue: a centred square crop sees only green.
fn bands(width: u32, height: u32, vertical: bool) -> DynamicImage {
    let colours = [Rgb([255, 0, 0]), Rgb([0, 255, 0]), Rgb([0, 0, 255])];
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        let band = if vertical {
            x * 3 / width
        } else {
            y * 3 / height
        };
        colours[band as usize]
    }))
}

#[test]
fn crops_keep_the_centre() {
    let wide = png(&bands(300, 100, true));
    let thumb = generate(&wide, spec("50x50"), &ThumbLimits::default()).unwrap();
    let (_, image) = open(&thumb.bytes);
    for (x, y, pixel) in image.to_rgba8().enumerate_pixels() {
        assert_eq!(pixel.0, [0, 255, 0, 255], "({x}, {y})");
    }
    let tall = png(&bands(90, 270, false));
    let thumb = generate(&tall, spec("30x30"), &ThumbLimits::default()).unwrap();
    let (_, image) = open(&thumb.bytes);
    assert!(image.to_rgba8().pixels().all(|p| p.0 == [0, 255, 0, 255]));
}

#[test]
fn fits_and_keep_ratio_keep_the_whole_picture() {
    let wide = png(&bands(300, 100, true));
    for text in ["60x60f", "60x0", "0x20"] {
        let thumb = generate(&wide, spec(text), &ThumbLimits::default()).unwrap();
        assert_eq!((thumb.width, thumb.height), (60, 20), "{text}");
        let image = open(&thumb.bytes).1.to_rgba8();
        assert_eq!(image.get_pixel(2, 10).0, [255, 0, 0, 255], "{text}");
        assert_eq!(image.get_pixel(30, 10).0, [0, 255, 0, 255], "{text}");
        assert_eq!(image.get_pixel(57, 10).0, [0, 0, 255, 255], "{text}");
    }
}

#[test]
fn animated_gif_gives_its_first_frame_as_a_still_gif() {
    let red = solid(40, 30, [255, 0, 0, 255]);
    let blue = solid(40, 30, [0, 0, 255, 255]);
    let bytes = gif(&[red, blue.clone(), blue]);
    let thumb = generate(&bytes, spec("20x0"), &ThumbLimits::default()).unwrap();
    assert_eq!(
        (thumb.width, thumb.height, thumb.mime),
        (20, 15, "image/gif")
    );
    use image::AnimationDecoder;
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&thumb.bytes)).unwrap();
    let frames = decoder.into_frames().collect_frames().unwrap();
    assert_eq!(frames.len(), 1);
    assert!(frames[0]
        .buffer()
        .pixels()
        .all(|p| near(p.0, [255, 0, 0, 255], 8)));
}

#[test]
fn transparency_survives_in_png_and_webp() {
    // Top half transparent, bottom half opaque green.
    let source = image::RgbaImage::from_fn(40, 40, |_, y| {
        image::Rgba(if y < 20 {
            [0, 0, 0, 0]
        } else {
            [0, 200, 0, 255]
        })
    });
    let inputs = [
        ("png", png(&DynamicImage::ImageRgba8(source.clone()))),
        ("webp", webp(&source)),
    ];
    for (name, bytes) in inputs {
        let thumb = generate(&bytes, spec("20x20"), &ThumbLimits::default()).unwrap();
        assert_eq!(thumb.mime, "image/png", "{name}");
        let image = open(&thumb.bytes).1.to_rgba8();
        assert_eq!(image.get_pixel(10, 2).0[3], 0, "{name}");
        assert_eq!(image.get_pixel(10, 17).0, [0, 200, 0, 255], "{name}");
    }
}

#[test]
fn opaque_lossy_webp_becomes_jpeg_and_transparent_lossy_webp_png() {
    for (text, (width, height)) in [
        ("32x32", (32, 32)),
        ("32x0", (32, 24)),
        ("0x12", (16, 12)),
        ("100x100f", (64, 48)),
    ] {
        let thumb = generate(LOSSY_WEBP, spec(text), &ThumbLimits::default()).unwrap();
        assert_eq!((thumb.width, thumb.height), (width, height), "{text}");
        assert_eq!(thumb.mime, "image/jpeg", "{text}");
        let (format, image) = open(&thumb.bytes);
        assert_eq!(
            (format, image.dimensions()),
            (ImageFormat::Jpeg, (width, height))
        );
    }
    let thumb = generate(LOSSY_WEBP, spec("32x0"), &ThumbLimits::default()).unwrap();
    let image = open(&thumb.bytes).1.to_rgba8();
    assert!(near(image.get_pixel(3, 12).0, [220, 40, 40, 255], 24));
    assert!(near(image.get_pixel(28, 12).0, [40, 40, 220, 255], 24));

    let thumb = generate(LOSSY_ALPHA_WEBP, spec("32x24"), &ThumbLimits::default()).unwrap();
    assert_eq!(thumb.mime, "image/png");
    let image = open(&thumb.bytes).1.to_rgba8();
    assert_eq!(image.get_pixel(3, 1).0[3], 0);
    assert!(near(image.get_pixel(28, 20).0, [40, 40, 220, 255], 24));
}

#[test]
fn exif_orientation_is_applied_before_sizing() {
    // 40x20, left half red: orientation 6 means "rotate 90° clockwise to view", so the
    // upright picture is 20x40 with red on top.
    let source = DynamicImage::ImageRgb8(RgbImage::from_fn(40, 20, |x, _| {
        Rgb(if x < 20 { [255, 0, 0] } else { [0, 0, 255] })
    }));
    let bytes = jpeg_with_orientation(&source, 6);
    let thumb = generate(&bytes, spec("10x0"), &ThumbLimits::default()).unwrap();
    assert_eq!((thumb.width, thumb.height), (10, 20));
    let image = open(&thumb.bytes).1.to_rgba8();
    assert!(near(image.get_pixel(5, 3).0, [255, 0, 0, 255], 40));
    assert!(near(image.get_pixel(5, 16).0, [0, 0, 255, 255], 40));
}

#[test]
fn other_colour_types_are_thumbnailed() {
    let grey = DynamicImage::ImageLuma8(image::GrayImage::from_fn(64, 32, |x, _| {
        image::Luma([(x * 4) as u8])
    }));
    let deep = DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(64, 32, |x, y| {
        Rgb([(x * 1000) as u16, (y * 2000) as u16, 40_000])
    }));
    let inputs = [
        ("grey jpeg", jpeg(&grey), "image/jpeg"),
        ("grey png", png(&grey), "image/png"),
        ("16-bit png", png(&deep), "image/png"),
    ];
    for (name, bytes, mime) in inputs {
        let thumb = generate(&bytes, spec("16x16"), &ThumbLimits::default()).unwrap();
        assert_eq!(
            (thumb.width, thumb.height, thumb.mime),
            (16, 16, mime),
            "{name}"
        );
        assert_eq!(open(&thumb.bytes).1.dimensions(), (16, 16), "{name}");
    }
}
