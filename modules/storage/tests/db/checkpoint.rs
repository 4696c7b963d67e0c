//! WAL checkpoints: a background thread copies the WAL into the database file while
//! writes go on, and the WAL still starts over, so its file stays bounded.

use crate::common::{config, count, open, wait_until, ITEMS};
use hearth_storage::rusqlite::Connection;
use hearth_storage::{verify_database, Db, StorageError, StorageObserver};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
struct Checkpoints {
    background: AtomicU64,
    on_writer: AtomicU64,
}

impl StorageObserver for Checkpoints {
    fn checkpoint_finished(&self, on_writer: bool, _took: Duration) {
        let n = if on_writer {
            &self.on_writer
        } else {
            &self.background
        };
        n.fetch_add(1, Ordering::Relaxed);
    }
}

const PAGE: u64 = 512;
/// WalPolicy::default().inline_at: past it the writer checkpoints itself.
const INLINE_AT: u64 = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_checkpoints_run_and_the_wal_starts_over_under_continuous_writes() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    // Small pages, so the test writes many WAL frames without writing much data.
    std::fs::create_dir_all(config.path.parent().unwrap()).unwrap();
    Connection::open(&config.path)
        .unwrap()
        .execute_batch(&format!("PRAGMA page_size = {PAGE}; VACUUM;"))
        .unwrap();
    let db = Db::open(config.clone(), ITEMS).unwrap();
    let seen = Arc::new(Checkpoints::default());
    assert!(db.set_observer(seen.clone()));

    // 16 writers × 750 rows of 1,000 bytes: at least 3 frames a row (overflow pages),
    // so over 36,000 frames in all, more than three times the size at which the writer
    // checkpoints itself.
    let (tasks, rows) = (16, 750);
    let mut handles = Vec::new();
    for t in 0..tasks {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..rows {
                db.write(move |c| {
                    c.execute(
                        "INSERT INTO items (id, title, n) VALUES (?1, ?2, ?3)",
                        (format!("{t}-{i}"), "x".repeat(1_000), i),
                    )
                    .map(|_| ())
                    .map_err(StorageError::from)
                })
                .await
                .unwrap();
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(count(&db).await, tasks * rows);
    assert!(
        seen.background.load(Ordering::Relaxed) > 0,
        "the background thread checkpointed"
    );
    let mut wal = config.path.clone().into_os_string();
    wal.push("-wal");
    let wal_bytes = std::fs::metadata(&wal).unwrap().len();
    // The file keeps its high-water mark: the WAL started over at some point past
    // INLINE_AT frames (each a 24-byte header and a page). Not at once: the writer's
    // checkpoint waits for nobody, so while the background thread holds the checkpoint
    // lock it is skipped and retried after the next commit, and frames keep coming
    // (up to ~14,000 seen here). 36,000 frames never restarted would be 19 MB.
    let bound = 2 * INLINE_AT * (PAGE + 24);
    assert!(
        wal_bytes < bound,
        "WAL is {wal_bytes} bytes, over {bound}: it never started over"
    );
    db.close().await.unwrap();
    assert!(
        !std::path::Path::new(&wal).exists(),
        "the final checkpoint still empties and removes the WAL"
    );
    verify_database(&config.path).unwrap();
}

/// The nice value of every live thread called `name` (as `/proc` shows it, 15 bytes).
#[cfg(target_os = "linux")]
fn nice_of_threads(name: &str) -> Vec<i32> {
    let mut nice = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        // A thread can end between the listing and the reads: skip it.
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(task.path().join("comm")),
            std::fs::read_to_string(task.path().join("stat")),
        ) else {
            continue;
        };
        if comm.trim_end() != name {
            continue;
        }
        // After "pid (comm) ", fields start at 3 (state); nice is field 19.
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        nice.push(after_comm.split(' ').nth(16).unwrap().parse().unwrap());
    }
    nice
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn the_checkpoint_thread_runs_at_a_lower_priority_than_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let _db = open(&dir);
    // Other tests' databases have checkpoint threads too; each lowers its own
    // priority as its first step, so wait for all of them rather than race one. A new
    // thread names itself once it runs, so wait for the writer's name too.
    wait_until("every checkpoint thread runs at nice 10", || {
        let nice = nice_of_threads("hearth-checkpoi");
        !nice.is_empty()
            && nice.iter().all(|&n| n == 10)
            && !nice_of_threads("hearth-writer").is_empty()
    })
    .await;
    let writers = nice_of_threads("hearth-writer");
    assert!(
        !writers.is_empty() && writers.iter().all(|&n| n == 0),
        "{writers:?}"
    );
}
