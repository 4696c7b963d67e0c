//! Thumbnails per second for the benchmark table: a 1600x1200 photo-like JPEG and
//! PNG (gradient plus noise, so that they compress like photographs, not like flat
//! colour) at `100x100` (crop) and `400x0` (keep ratio). Each cell is timed on one
//! thread (`generate`) and through a `Thumbnailer` with one slot per CPU, fed by as many
//! concurrent requests as there are slots.
//!
//! Measured (2 shared cores, other work running): 13-17 ms a thumbnail on one thread
//! (60-75/s), 105-122/s with two slots; decoding is most of it (JPEG 8 ms, PNG 12 ms).
//!
//! Prints a markdown table. `BENCH_QUICK=1` runs a quarter of the thumbnails. Run with
//! `cargo bench -p hearth-thumbs --bench thumbs`.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use thumbs::{generate, ThumbLimits, ThumbSpec, Thumbnailer, ThumbnailerConfig};

fn photo(width: u32, height: u32) -> DynamicImage {
    // xorshift noise of ±8 on a diagonal gradient: at q90 about as many bytes as a
    // phone photo of this size.
    let mut state = 0x2545_f491_u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 17) as i32 - 8
    };
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        let base = [
            x * 255 / width,
            y * 255 / height,
            (x + y) * 255 / (width + height),
        ];
        Rgb(base.map(|c| (c as i32 + noise()).clamp(0, 255) as u8))
    }))
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => image
            .write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, 90))
            .unwrap(),
        _ => image.write_to(&mut bytes, format).unwrap(),
    }
    bytes.into_inner()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let single_runs: u32 = if quick { 10 } else { 40 };
    let photo = photo(1600, 1200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let thumbnailer = Thumbnailer::new(ThumbnailerConfig::default());
    let slots = thumbnailer.config().concurrency;
    let pooled_runs = single_runs as usize * slots;

    println!("| source (1600x1200) | size | input | thumbnail | ms each, 1 thread | thumbs/s, 1 thread | thumbs/s, {slots} slots |");
    println!("|---|---|---|---|---|---|---|");
    for (name, format) in [("JPEG q90", ImageFormat::Jpeg), ("PNG", ImageFormat::Png)] {
        let input: Arc<[u8]> = encode(&photo, format).into();
        for size in ["100x100", "400x0"] {
            let spec: ThumbSpec = size.parse()?;
            let limits = ThumbLimits::default();
            let thumb = generate(&input, spec, &limits)?; // warm-up, and the output size
            let started = Instant::now();
            for _ in 0..single_runs {
                generate(&input, spec, &limits)?;
            }
            let single = started.elapsed().as_secs_f64() / f64::from(single_runs);

            let started = Instant::now();
            runtime.block_on(async {
                let requests: Vec<_> = (0..pooled_runs)
                    .map(|_| {
                        let (thumbnailer, input) = (thumbnailer.clone(), Arc::clone(&input));
                        tokio::spawn(async move { thumbnailer.generate(input, spec).await })
                    })
                    .collect();
                for request in requests {
                    request.await.expect("task").expect("thumbnail");
                }
            });
            let pooled = pooled_runs as f64 / started.elapsed().as_secs_f64();
            println!(
                "| {name} | {size} | {} KB | {}x{} {}, {} KB | {:.1} | {:.0} | {:.0} |",
                input.len() / 1000,
                thumb.width,
                thumb.height,
                thumb.mime,
                thumb.bytes.len() / 1000,
                single * 1000.0,
                1.0 / single,
                pooled,
            );
        }
    }
    Ok(())
}
