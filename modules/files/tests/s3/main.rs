//! The S3 backend against a real S3 API on loopback: moto's server, started here on a
//! free port (or the one HEARTH_TEST_S3_URL names, e.g. from `ops/files/moto.sh
//! start`). Skipped, loudly, only when neither is there. Run by `ops/files/s3_test.sh`
//! (in `./test.sh`).

mod cases;
mod server;

use server::S3Server;
use std::time::{Duration, Instant};

/// One test that owns the server and runs every case in order (each in a bucket of
/// its own), so that the server is stopped even when a case fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_backend_against_a_real_s3_server() {
    let Some(server) = S3Server::start() else {
        return;
    };
    cases::run_all(&server).await;
}

/// Needs no server: a closed port on loopback must be `Unavailable` (a 503), quickly.
#[tokio::test]
async fn an_unreachable_service_is_unavailable_within_seconds() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}"); // the listener is dropped: nothing listens there
    let store = server::store_at(&url, "no-such-bucket");
    let started = Instant::now();
    let key = files::BlobKey::parse("p/r/x").unwrap();
    let err = store
        .put(&key, cases::chunked(b"hello", 2), 100)
        .await
        .unwrap_err();
    assert!(matches!(err, files::StoreError::Unavailable(_)), "{err:?}");
    assert!(err.is_transient());
    let err = store.get(&key, None).await.unwrap_err();
    assert!(matches!(err, files::StoreError::Unavailable(_)), "{err:?}");
    let err = store.probe().await.unwrap_err();
    assert!(matches!(err, files::StoreError::Unavailable(_)), "{err:?}");
    let err = store.delete(&key).await.unwrap_err();
    assert!(matches!(err, files::StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
