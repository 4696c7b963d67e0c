//! What the change feed's triggers cost a write: creates and updates of a record table
//! shaped like Hearth's (system columns, eight fields of mixed types, the two sort
//! indexes), through the writer thread as the API writes them (one-statement jobs,
//! group commit, 64 submitting tasks), with and without the feed's triggers. Each cell
//! uses a fresh database; cells alternate, twice each, to spread out noise.
//!
//! Measured (2 shared cores, tmpfs-less /tmp, synchronous=NORMAL): creates 12 → 19 µs
//! per write on the writer thread, updates 12 → 19 µs. About 4.5 µs of that is any
//! trigger at all (a statement with a trigger takes a statement journal, copying every
//! page it touches, plus the `changes` insert), 2.5 µs the snapshot's `json_object`;
//! the exact printing of REAL columns costs under 0.5 µs.
//!
//! Prints a markdown table. `BENCH_QUICK=1` runs a tenth of the operations; `BENCH_DIR`
//! picks the file system. Run with `cargo bench -p hearth-feed --bench triggers`.

use rusqlite::params;
use std::time::Instant;
use storage::{Db, Migration, StorageConfig, StorageError};

const FEED_SQL: &str = include_str!("../../../migrations/0009_change_feed.sql");
const TABLE_SQL: &str = "CREATE TABLE users (id TEXT PRIMARY KEY);
CREATE TABLE rec_posts (
  id TEXT PRIMARY KEY NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1, owner TEXT REFERENCES users(id) ON DELETE SET NULL,
  title TEXT NOT NULL, slug TEXT, views INTEGER, status TEXT, rating REAL,
  featured INTEGER, published_at TEXT, meta TEXT) STRICT;
CREATE INDEX rec_posts__created_at ON rec_posts (created_at, id);
CREATE INDEX rec_posts__updated_at ON rec_posts (updated_at, id);";
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "feed",
        sql: FEED_SQL,
    },
    Migration {
        version: 2,
        name: "posts",
        sql: TABLE_SQL,
    },
];
const COLUMNS: [&str; 13] = [
    "id",
    "created_at",
    "updated_at",
    "version",
    "owner",
    "title",
    "slug",
    "views",
    "status",
    "rating",
    "featured",
    "published_at",
    "meta",
];
const TASKS: u64 = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let ops: u64 = if quick { 3_200 } else { 32_000 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!("| workload | triggers | ops | ops/s | µs/op |");
    println!("| --- | --- | ---: | ---: | ---: |");
    for round in 0..2 {
        for triggers in [false, true] {
            let (create, update) = runtime.block_on(cell(triggers, ops))?;
            for (label, seconds) in [("create", create), ("update", update)] {
                println!(
                    "| {label} (round {}) | {} | {ops} | {:.0} | {:.1} |",
                    round + 1,
                    if triggers { "yes" } else { "no" },
                    ops as f64 / seconds,
                    seconds * 1e6 / ops as f64
                );
            }
        }
    }
    Ok(())
}

/// Seconds for `ops` creates, then `ops` updates of those records.
async fn cell(triggers: bool, ops: u64) -> Result<(f64, f64), StorageError> {
    let dir = match std::env::var_os("BENCH_DIR") {
        Some(base) => tempfile::tempdir_in(base)?,
        None => tempfile::tempdir()?,
    };
    let db = Db::open(StorageConfig::new(dir.path().join("bench.db")), MIGRATIONS)?;
    if triggers {
        db.write(|c| {
            for sql in feed::trigger_sql("rec_posts", "posts", &COLUMNS) {
                c.execute_batch(&sql)?;
            }
            Ok::<_, StorageError>(())
        })
        .await?;
    }
    let create = run(&db, ops, |c, id, i| {
        c.prepare_cached(
            "INSERT INTO rec_posts (id, created_at, updated_at, version, owner, title, slug, views, status, rating, featured, published_at, meta)
             VALUES (?1, ?2, ?2, 1, NULL, ?3, ?1, ?4, 'draft', ?5, 0, ?2, '{\"tags\":[\"a\",\"b\"]}')",
        )?
        .execute(params![id, "2026-01-01T00:00:00.000Z", "a title of typical length", i, i as f64 / 3.0])?;
        Ok(())
    })
    .await?;
    let update = run(&db, ops, |c, id, i| {
        c.prepare_cached(
            "UPDATE rec_posts SET updated_at = ?2, version = version + 1, views = ?3, rating = ?4 WHERE id = ?1",
        )?
        .execute(params![id, "2026-01-02T00:00:00.000Z", i + 1, i as f64 / 7.0])?;
        Ok(())
    })
    .await?;
    db.close().await?;
    Ok((create, update))
}

type Write = fn(&rusqlite::Connection, String, i64) -> Result<(), StorageError>;

async fn run(db: &Db, ops: u64, write: Write) -> Result<f64, StorageError> {
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move {
                for i in 0..ops / TASKS {
                    let id = format!("t{task}-{i}");
                    db.write_one_statement(move |c| write(c, id, i as i64))
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
    Ok(started.elapsed().as_secs_f64())
}
