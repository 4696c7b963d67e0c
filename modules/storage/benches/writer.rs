//! Storage throughput: single-row inserts through the writer thread, unbatched
//! (max_batch = 1, one transaction per insert) against group commit (max_batch = 256),
//! at 1, 16 and 64 concurrent submitting tasks; then point reads by primary key through
//! the reader pool. Each insert cell uses a fresh database in a temporary directory.
//! Inserts run with synchronous=NORMAL (the default: no fsync per commit in WAL mode)
//! and again with synchronous=FULL (an fsync per commit).
//!
//! Prints a markdown table. `BENCH_QUICK=1` runs a tenth of the operations. The files
//! go to the system temp directory, or to `BENCH_DIR` (fsync cost depends on the file
//! system: tmpfs makes synchronous=FULL look free).
//! Run with `ops/bench/storage.sh` (or `cargo bench -p hearth-storage --bench writer`).

use hearth_storage::rusqlite::params;
use hearth_storage::{Db, Migration, StorageConfig, StorageError, Synchronous};
use std::error::Error;
use std::time::Instant;

const SCHEMA: &[Migration] = &[Migration {
    version: 1,
    name: "bench",
    sql: "CREATE TABLE bench (id TEXT PRIMARY KEY, title TEXT NOT NULL, n INTEGER NOT NULL);",
}];
const CONCURRENCY: [usize; 3] = [1, 16, 64];

struct Cell {
    workload: String,
    concurrency: usize,
    ops: u64,
    seconds: f64,
    avg_batch: Option<f64>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let (inserts, reads) = if quick {
        (2_000, 5_000)
    } else {
        (20_000, 50_000)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cells = runtime.block_on(run_all(inserts, reads))?;
    print_table(&cells, quick);
    Ok(())
}

async fn run_all(inserts: u64, reads: u64) -> Result<Vec<Cell>, StorageError> {
    let mut cells = Vec::new();
    // synchronous=FULL fsyncs every commit, which is what group commit amortises; it is
    // slow unbatched, so those cells run a tenth of the inserts.
    let workloads = [
        (
            "insert, unbatched (max_batch=1)",
            1,
            Synchronous::Normal,
            inserts,
        ),
        (
            "insert, group commit (max_batch=256)",
            256,
            Synchronous::Normal,
            inserts,
        ),
        (
            "insert, unbatched, synchronous=FULL",
            1,
            Synchronous::Full,
            inserts / 10,
        ),
        (
            "insert, group commit, synchronous=FULL",
            256,
            Synchronous::Full,
            inserts / 10,
        ),
    ];
    for (label, max_batch, synchronous, ops) in workloads {
        for concurrency in CONCURRENCY {
            cells.push(insert_cell(label, max_batch, synchronous, concurrency, ops).await?);
        }
    }
    let dir = temp_dir()?;
    let db = Db::open(StorageConfig::new(dir.path().join("bench.db")), SCHEMA)?;
    seed(&db, inserts).await?;
    for concurrency in CONCURRENCY {
        cells.push(read_cell(&db, concurrency, reads, inserts).await?);
    }
    db.close().await?;
    Ok(cells)
}

async fn insert_cell(
    label: &str,
    max_batch: usize,
    synchronous: Synchronous,
    concurrency: usize,
    total: u64,
) -> Result<Cell, StorageError> {
    let dir = temp_dir()?;
    let config = StorageConfig {
        max_batch,
        synchronous,
        ..StorageConfig::new(dir.path().join("bench.db"))
    };
    let db = Db::open(config, SCHEMA)?;
    let per_task = total / concurrency as u64;
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move {
                for i in 0..per_task {
                    let id = format!("t{task}-{i}");
                    db.write(move |c| {
                        c.prepare_cached("INSERT INTO bench (id, title, n) VALUES (?1, ?2, ?3)")?
                            .execute(params![id, "a title of typical length", i as i64])?;
                        Ok::<_, StorageError>(())
                    })
                    .await?;
                }
                Ok::<_, StorageError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|e| StorageError::Panicked(e.to_string()))??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = db.stats();
    db.close().await?;
    Ok(Cell {
        workload: label.to_string(),
        concurrency,
        ops: per_task * concurrency as u64,
        seconds,
        avg_batch: Some(stats.jobs as f64 / stats.batches.max(1) as f64),
    })
}

/// Fills the table in one transaction; ids are `seed-0` .. `seed-{n-1}`.
async fn seed(db: &Db, n: u64) -> Result<(), StorageError> {
    db.write(move |c| {
        let mut stmt = c.prepare("INSERT INTO bench (id, title, n) VALUES (?1, ?2, ?3)")?;
        for i in 0..n {
            stmt.execute(params![
                format!("seed-{i}"),
                "a title of typical length",
                i as i64
            ])?;
        }
        Ok(())
    })
    .await
}

async fn read_cell(
    db: &Db,
    concurrency: usize,
    total: u64,
    rows: u64,
) -> Result<Cell, StorageError> {
    let per_task = total / concurrency as u64;
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ (task as u64 + 1));
                for _ in 0..per_task {
                    let id = format!("seed-{}", rng.next() % rows);
                    let n: i64 = db
                        .read(move |c| {
                            Ok::<_, StorageError>(
                                c.prepare_cached("SELECT n FROM bench WHERE id = ?1")?
                                    .query_row([id], |r| r.get(0))?,
                            )
                        })
                        .await?;
                    std::hint::black_box(n);
                }
                Ok::<_, StorageError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|e| StorageError::Panicked(e.to_string()))??;
    }
    Ok(Cell {
        workload: format!("point read by id ({} readers)", db.readers().size()),
        concurrency,
        ops: per_task * concurrency as u64,
        seconds: started.elapsed().as_secs_f64(),
        avg_batch: None,
    })
}

/// A fresh directory on the file system under test.
fn temp_dir() -> std::io::Result<tempfile::TempDir> {
    match std::env::var_os("BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
}

/// Enough randomness to spread reads over the table; no extra crate needed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn print_table(cells: &[Cell], quick: bool) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "\nhearth-storage writer/reader bench ({cores} cores, WAL, synchronous=NORMAL unless noted{})\n",
        if quick { ", BENCH_QUICK" } else { "" }
    );
    println!("| workload | concurrency | ops | seconds | ops/s | avg batch |");
    println!("|---|---:|---:|---:|---:|---:|");
    for c in cells {
        let batch = c.avg_batch.map_or("-".to_string(), |b| format!("{b:.1}"));
        println!(
            "| {} | {} | {} | {:.3} | {:.0} | {} |",
            c.workload,
            c.concurrency,
            c.ops,
            c.seconds,
            c.ops as f64 / c.seconds,
            batch
        );
    }
}
