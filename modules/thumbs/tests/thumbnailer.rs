//! The async thumbnailer: slots, the wait limit, counters.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use image::DynamicImage;
use thumbs::{ThumbError, ThumbLimits, ThumbSpec, Thumbnailer, ThumbnailerConfig};

fn spec() -> ThumbSpec {
    "64x64".parse().unwrap()
}

fn small() -> Arc<[u8]> {
    png(&DynamicImage::ImageRgb8(gradient(80, 60))).into()
}

/// Big enough to keep a slot busy for a good while in a debug build (about 0.3 s
/// optimised, seconds unoptimised) while the test looks at it.
fn slow() -> Arc<[u8]> {
    png(&DynamicImage::ImageRgb8(gradient(3000, 2000))).into()
}

fn one_slot(max_wait: Option<Duration>) -> Thumbnailer {
    Thumbnailer::new(ThumbnailerConfig {
        concurrency: 1,
        max_wait,
        limits: ThumbLimits::default(),
    })
}

async fn until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn thumbnails_and_failures_are_counted() {
    let thumbnailer = Thumbnailer::new(ThumbnailerConfig::default());
    assert!(thumbnailer.config().concurrency >= 1);
    let thumb = thumbnailer.generate(small(), spec()).await.unwrap();
    assert_eq!(
        (thumb.width, thumb.height, thumb.mime),
        (64, 64, "image/png")
    );
    let error = thumbnailer
        .generate(b"\x89PNG\r\n\x1a\nnot really".to_vec(), spec())
        .await
        .unwrap_err();
    assert!(matches!(error, ThumbError::Corrupt { .. }), "{error:?}");
    assert_eq!((thumbnailer.generated(), thumbnailer.failed()), (1, 1));
    assert_eq!(thumbnailer.in_progress(), 0);
}

#[tokio::test]
async fn zero_concurrency_means_one() {
    let thumbnailer = Thumbnailer::new(ThumbnailerConfig {
        concurrency: 0,
        ..ThumbnailerConfig::default()
    });
    assert_eq!(thumbnailer.config().concurrency, 1);
    assert!(thumbnailer.generate(small(), spec()).await.is_ok());
}

#[tokio::test]
async fn a_request_that_finds_no_slot_in_time_is_busy() {
    let thumbnailer = one_slot(Some(Duration::ZERO));
    let first = tokio::spawn({
        let thumbnailer = thumbnailer.clone();
        async move { thumbnailer.generate(slow(), spec()).await }
    });
    until("the slow one runs", || thumbnailer.in_progress() == 1).await;

    let error = thumbnailer.generate(small(), spec()).await.unwrap_err();
    assert!(
        matches!(error, ThumbError::Busy { waited } if waited == Duration::ZERO),
        "{error:?}"
    );
    assert!(first.await.unwrap().is_ok());
    // The slot is free again.
    assert!(thumbnailer.generate(small(), spec()).await.is_ok());
    assert_eq!((thumbnailer.generated(), thumbnailer.failed()), (2, 1));
}

#[tokio::test]
async fn without_a_wait_limit_requests_queue_for_the_slot() {
    let thumbnailer = one_slot(None);
    let input = small();
    let requests: Vec<_> = (0..4)
        .map(|_| {
            let (thumbnailer, input) = (thumbnailer.clone(), Arc::clone(&input));
            tokio::spawn(async move { thumbnailer.generate(input, spec()).await })
        })
        .collect();
    for request in requests {
        assert!(request.await.unwrap().is_ok());
    }
    assert_eq!(thumbnailer.generated(), 4);
}

#[tokio::test]
async fn abandoned_work_keeps_its_slot_until_it_ends() {
    let thumbnailer = one_slot(Some(Duration::ZERO));
    let abandoned = tokio::spawn({
        let thumbnailer = thumbnailer.clone();
        async move { thumbnailer.generate(slow(), spec()).await }
    });
    until("the slow one runs", || thumbnailer.in_progress() == 1).await;
    abandoned.abort();
    assert!(abandoned.await.unwrap_err().is_cancelled());

    // The caller is gone, the decoding is not: still no free slot.
    assert_eq!(thumbnailer.in_progress(), 1);
    let error = thumbnailer.generate(small(), spec()).await.unwrap_err();
    assert!(matches!(error, ThumbError::Busy { .. }), "{error:?}");

    until("the abandoned work ends", || thumbnailer.in_progress() == 0).await;
    assert!(thumbnailer.generate(small(), spec()).await.is_ok());
    // The abandoned thumbnail was made all the same, and counted.
    assert_eq!((thumbnailer.generated(), thumbnailer.failed()), (2, 1));
}
