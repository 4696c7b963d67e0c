//! Decompression bombs: tiny files whose headers claim enormous images are refused with
//! a clean error, and the refusal allocates next to nothing. A counting allocator
//! measures the peak of live heap bytes during each call; one test function, so that no
//! other test allocates meanwhile.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use image::DynamicImage;
use thumbs::{generate, ThumbError, ThumbLimits};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters move.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The result of thumbnailing `input`, and the most heap it had live at once.
fn measured(input: &[u8]) -> (Result<thumbs::Thumb, ThumbError>, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = generate(input, "100x100".parse().unwrap(), &ThumbLimits::default());
    (result, PEAK.load(Ordering::Relaxed) - before)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&[kind.as_slice(), data].concat()).to_be_bytes());
    chunk
}

/// A well-formed PNG header for `width` × `height` RGBA, with a few bytes of deflate.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, no interlace
                                              // zlib: a stored block with a filter byte and a few zero bytes.
    let idat = [0x78, 0x01, 0x01, 0x05, 0x00, 0xfa, 0xff, 0, 0, 0, 0, 0];
    [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        png_chunk(b"IHDR", &ihdr),
        png_chunk(b"IDAT", &idat),
        png_chunk(b"IEND", &[]),
    ]
    .concat()
}

/// A real 1x1 GIF whose logical screen is patched to `width` × `height`.
fn gif_screen_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = gif(&[solid(1, 1, [1, 2, 3, 255])]);
    bytes[6..8].copy_from_slice(&width.to_le_bytes());
    bytes[8..10].copy_from_slice(&height.to_le_bytes());
    bytes
}

/// A 16x16 screen holding one frame whose descriptor claims 65,535 × 65,535.
fn gif_frame_claiming_huge() -> Vec<u8> {
    // Screen 16x16 with a two-colour global palette.
    let mut bytes = b"GIF89a\x10\x00\x10\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff".to_vec();
    bytes.extend_from_slice(b"\x2c\x00\x00\x00\x00\xff\xff\xff\xff\x00");
    // LZW minimum code size 2, one data sub-block (clear, end), then the trailer.
    bytes.extend_from_slice(b"\x02\x02\x44\x01\x00\x3b");
    bytes
}

/// A real 8x8 baseline JPEG whose SOF0 claims `side` × `side`.
fn jpeg_claiming(side: u16) -> Vec<u8> {
    let mut bytes = jpeg(&DynamicImage::ImageRgb8(gradient(8, 8)));
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("a baseline JPEG has SOF0");
    // FFC0, length (2), precision (1), height (2), width (2)
    bytes[sof + 5..sof + 7].copy_from_slice(&side.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&side.to_be_bytes());
    bytes
}

/// A real lossless WebP whose VP8L header claims 16383 × 16383 (image-webp reads the
/// format's maximum, 16384, as 0, which is refused as corrupt).
fn webp_lossless_claiming_max() -> Vec<u8> {
    let mut bytes = webp(&solid(4, 4, [9, 9, 9, 255]));
    assert_eq!(&bytes[12..16], b"VP8L");
    // After the 0x2f signature: 14 bits width - 1, 14 bits height - 1, alpha, version.
    let header = u32::from_le_bytes(bytes[21..25].try_into().unwrap());
    let header = (header & !0x0fff_ffff) | 0x3ffe | (0x3ffe << 14);
    bytes[21..25].copy_from_slice(&header.to_le_bytes());
    bytes
}

/// The lossy fixture with its VP8X canvas set to `side` × `side` (at most 2^24).
fn webp_canvas_claiming(side: u32) -> Vec<u8> {
    let mut bytes = LOSSY_ALPHA_WEBP.to_vec();
    assert_eq!(&bytes[12..16], b"VP8X");
    let stored = (side - 1).to_le_bytes();
    bytes[24..27].copy_from_slice(&stored[..3]);
    bytes[27..30].copy_from_slice(&stored[..3]);
    bytes
}

const SMALL: usize = 4 << 20;

#[test]
fn headers_claiming_huge_images_are_refused_without_allocating() {
    // The meter works: a real 1000x1000 thumbnail holds its 3 MB decoded image.
    let real = png(&DynamicImage::ImageRgb8(gradient(1000, 1000)));
    let (result, peak) = measured(&real);
    assert!(result.is_ok());
    assert!(peak >= 3_000_000, "peak {peak}");

    let too_large = |expected: (u32, u32)| {
        move |error: &ThumbError| {
            matches!(error, ThumbError::TooLarge { width, height, .. }
                if (*width, *height) == expected)
        }
    };
    type Check = Box<dyn Fn(&ThumbError) -> bool>;
    let cases: Vec<(&str, Vec<u8>, Check)> = vec![
        (
            "png 100000x100000",
            png_claiming(100_000, 100_000),
            Box::new(too_large((100_000, 100_000))),
        ),
        (
            "png 7000x7000 (49 Mpx)",
            png_claiming(7_000, 7_000),
            Box::new(too_large((7_000, 7_000))),
        ),
        (
            "gif screen 65535x65535",
            gif_screen_claiming(u16::MAX, u16::MAX),
            Box::new(too_large((65_535, 65_535))),
        ),
        (
            "gif frame 65535x65535 on a 16x16 screen",
            gif_frame_claiming_huge(),
            Box::new(|e: &ThumbError| matches!(e, ThumbError::MemoryLimit { .. })),
        ),
        (
            "jpeg 65500x65500",
            jpeg_claiming(65_500),
            Box::new(too_large((65_500, 65_500))),
        ),
        (
            "webp lossless 16383x16383",
            webp_lossless_claiming_max(),
            Box::new(too_large((16_383, 16_383))),
        ),
        (
            "webp canvas 10000x10000",
            webp_canvas_claiming(10_000),
            Box::new(too_large((10_000, 10_000))),
        ),
        (
            // image-webp itself refuses canvases over 2^32 bytes.
            "webp canvas 2^24 x 2^24",
            webp_canvas_claiming(1 << 24),
            Box::new(|e: &ThumbError| matches!(e, ThumbError::Corrupt { .. })),
        ),
    ];
    for (name, bytes, expected) in cases {
        assert!(bytes.len() < 2_000, "{name}: {} bytes", bytes.len());
        let (result, peak) = measured(&bytes);
        let error = result.expect_err(name);
        assert!(expected(&error), "{name}: {error:?}");
        assert!(peak < SMALL, "{name}: {peak} bytes live at the peak");
    }
}
