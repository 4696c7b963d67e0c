//! The observer hook: batches and reader waits are reported to the registered observer.

use crate::common::{count, open, wait_until, write_item};
use hearth_storage::StorageObserver;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<(usize, Duration)>>,
    reads: AtomicU64,
}

impl StorageObserver for Recorder {
    fn batch_finished(&self, jobs: usize, took: Duration) {
        self.batches.lock().unwrap().push((jobs, took));
    }

    fn read_waited(&self, _waited: Duration) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test]
async fn batches_and_reads_are_reported_to_the_one_observer() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let recorder = Arc::new(Recorder::default());
    assert!(db.set_observer(recorder.clone()));
    assert!(
        !db.set_observer(Arc::new(Recorder::default())),
        "only the first observer is kept"
    );
    write_item(&db, "a").await.unwrap();
    write_item(&db, "b").await.unwrap();
    assert_eq!(count(&db).await, 2);
    // A batch is reported just after its callers hear back.
    let jobs = || -> usize {
        recorder
            .batches
            .lock()
            .unwrap()
            .iter()
            .map(|(j, _)| j)
            .sum()
    };
    wait_until("both writes are reported", || jobs() == 2).await;
    assert!(recorder
        .batches
        .lock()
        .unwrap()
        .iter()
        .all(|(j, _)| *j >= 1));
    assert_eq!(recorder.reads.load(Ordering::Relaxed), 1);
    db.close().await.unwrap();
}
