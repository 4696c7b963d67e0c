//! The orphan sweep on the local backend: only old, unclaimed blobs go.

use crate::common::*;
use files::{sweep_orphans, BlobKey, BoxError, OrphanSweeper, SweepConfig, SweepReport};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tempfile::TempDir;

/// Backdates the blob's file by `age`.
fn age(dir: &TempDir, k: &BlobKey, age: Duration) {
    let file = std::fs::File::options()
        .write(true)
        .open(root(dir).join(k.as_str()))
        .unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

/// Keys the "records" reference; `errors` are keys whose check fails.
fn check(referenced: &[&str], errors: &[&str]) -> Arc<dyn files::ReferenceCheck> {
    let referenced: HashSet<String> = referenced.iter().map(|s| s.to_string()).collect();
    let errors: HashSet<String> = errors.iter().map(|s| s.to_string()).collect();
    Arc::new(move |k: BlobKey| {
        let answer: Result<bool, BoxError> = if errors.contains(k.as_str()) {
            Err("database unavailable".into())
        } else {
            Ok(referenced.contains(k.as_str()))
        };
        async move { answer }
    })
}

#[tokio::test]
async fn old_unreferenced_blobs_are_deleted_and_young_referenced_or_doubtful_ones_kept() {
    let (dir, store) = local();
    let hour = Duration::from_secs(3600);
    let names = [
        "p/r1/referenced_x",
        "p/r1/orphan_x",
        "p/r2/young_x",
        "p/r3/doubt_x",
    ];
    for n in names {
        store.put(&key(n), chunked(b"data", 2), 10).await.unwrap();
    }
    for n in ["p/r1/referenced_x", "p/r1/orphan_x", "p/r3/doubt_x"] {
        age(&dir, &key(n), 2 * hour);
    }
    let check = check(&["p/r1/referenced_x"], &["p/r3/doubt_x"]);
    let report = sweep_orphans(&store, hour, check.as_ref()).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            examined: 4,
            young: 1,
            referenced: 1,
            deleted: 1,
            failed: 1
        }
    );
    let left: Vec<String> = files_under(&root(&dir))
        .into_iter()
        .filter(|f| !f.starts_with(".tmp"))
        .collect();
    assert_eq!(left, ["p/r1/referenced_x", "p/r2/young_x", "p/r3/doubt_x"]);
    assert_eq!(store.metrics().snapshot().orphans_deleted, 1);
}

#[tokio::test]
async fn the_background_sweeper_runs_at_start() {
    let (dir, store) = local();
    let k = key("p/r1/orphan_x");
    store.put(&k, chunked(b"data", 2), 10).await.unwrap();
    age(&dir, &k, Duration::from_secs(7200));
    let sweeper = OrphanSweeper::start(store.clone(), SweepConfig::default(), check(&[], &[]));
    eventually(5, "the orphan is swept", async || {
        store.head(&k).await.is_err()
    })
    .await;
    sweeper.stop();
}
