//! Power loss, not only a killed process: the real writer (group commit, its own
//! background checkpointer, and a second connection checkpointing alongside, as
//! Litestream or the background thread would) runs through a fault-injection VFS that
//! models the disk (see power_loss/fault_vfs.rs). Then, for many random points of that
//! run, the files a power cut at that point leaves behind (power_loss/disk.rs) are
//! reopened with `Db::open`, Hearth's own recovery, and checked:
//!
//! - `PRAGMA integrity_check` is ok;
//! - the rows are a consistent prefix of the commit order: sequence numbers 1..=n with
//!   no gap, each row's payload intact, the counter every write bumps equal to n;
//! - with synchronous=FULL, every write acknowledged before the cut is there.
//!
//! Modes: synchronous NORMAL and FULL × powersafe overwrite on and off × with and
//! without Hearth's WAL-gathering VFS; each cut point is checked both with the disk's
//! cache lost and with part of it written back and the next write torn.
//!
//! `HEARTH_POWER_LOSS_CUTS` (default 200 per mode) and `HEARTH_POWER_LOSS_JOBS`
//! (default 400 writes per mode) make it a longer soak; `HEARTH_POWER_LOSS_SEED`
//! replays a run. Every mode runs in this one test: the VFS choice is process-wide
//! (`fault_vfs::make_default`), which is also why this process has no page cache
//! wrapper (registering a VFS initialises SQLite before `Db::open` could install it;
//! SQLite's own cache is used, which is correct, only slower).

mod power_loss {
    pub mod disk;
    pub mod fault_vfs;
    mod forwarding;
}

use hearth_storage::rusqlite::{params, Connection};
use hearth_storage::{Db, Migration, StorageConfig, StorageError, Synchronous};
use power_loss::disk::{self, Loss};
use power_loss::fault_vfs;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SCHEMA: &[Migration] = &[Migration {
    version: 1,
    name: "rows",
    sql: "CREATE TABLE rows (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE,
                             k INTEGER NOT NULL, payload BLOB NOT NULL);
          CREATE INDEX rows_k ON rows (k);
          CREATE TABLE counter (one INTEGER PRIMARY KEY CHECK (one = 1), n INTEGER NOT NULL);
          INSERT INTO counter VALUES (1, 0);",
}];

/// Writes in each of the longer runs checked after a clean close only.
const ROUND_JOBS: u64 = 4000;

/// Concurrent writers: enough that the writer thread commits several jobs at once.
const WRITERS: u64 = 3;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Row `id`'s payload: mostly small (a small database reopens fast), every 16th
/// past a page, so some rows overflow.
fn payload(id: u64) -> Vec<u8> {
    let len = if id.is_multiple_of(16) {
        5000
    } else {
        40 + (id * 7919 % 400) as usize
    };
    (0..len).map(|i| (id as usize * 31 + i) as u8).collect()
}

/// Spreads index entries over the whole b-tree, so commits touch several pages.
fn key(id: u64) -> i64 {
    (id.wrapping_mul(2_654_435_761) % 1_000_003) as i64
}

#[derive(Clone, Copy, Debug)]
struct Mode {
    synchronous: Synchronous,
    powersafe_overwrite: bool,
    gathering: bool,
}

impl Mode {
    fn name(self) -> String {
        format!(
            "{}-psow{}-{}",
            self.synchronous.as_str(),
            u8::from(self.powersafe_overwrite),
            if self.gathering { "gather" } else { "plain" }
        )
    }
}

fn config(path: &Path, synchronous: Synchronous) -> StorageConfig {
    StorageConfig {
        synchronous,
        readers: 1,
        ..StorageConfig::new(path)
    }
}

/// Another connection checkpointing while the writer writes (PASSIVE, as Hearth's
/// background checkpointer does), so the log holds database-file writes and syncs
/// and WAL restarts, not only appends.
fn checkpoint_alongside(path: &Path, synchronous: Synchronous, seed: u64, stop: Arc<AtomicBool>) {
    let conn = Connection::open(path).expect("checkpoint connection");
    conn.pragma_update(None, "synchronous", synchronous.as_str())
        .unwrap();
    conn.busy_timeout(Duration::from_millis(50)).unwrap();
    // Random pauses: some let the WAL grow long before a checkpoint copies it (so a
    // restarted WAL is written over old frames), some catch the writer mid-stream.
    // A stalled write (see fault_vfs::stall) cuts a pause short.
    let mut rng = StdRng::seed_from_u64(seed);
    let (count, woken) = fault_vfs::stalls();
    while !stop.load(Ordering::SeqCst) {
        // BUSY (the writer holds a lock the checkpoint needs) is expected now and then.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        let pause = Duration::from_micros(rng.random_range(0..30_000));
        let seen = *count.lock().unwrap();
        let guard = count.lock().unwrap();
        let (guard, timeout) = woken
            .wait_timeout_while(guard, pause, |n| *n == seen)
            .unwrap();
        drop(guard);
        if !timeout.timed_out() {
            // Half way through the stalled write.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Runs `jobs` acknowledged writes through a recorded Db; returns the log and what
/// went wrong, if anything, with no power cut at all.
async fn record_run(mode: Mode, jobs: u64, seed: u64) -> (fault_vfs::Log, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = std::fs::canonicalize(dir.path()).unwrap().join("hearth.db");
    fault_vfs::set_powersafe_overwrite(mode.powersafe_overwrite);
    fault_vfs::make_default(if mode.gathering {
        c"hearth"
    } else {
        fault_vfs::NAME
    });
    fault_vfs::start_recording(dir.path());
    let db = Db::open(config(&path, mode.synchronous), SCHEMA).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let checkpointer = {
        let (path, stop) = (path.clone(), Arc::clone(&stop));
        std::thread::spawn(move || checkpoint_alongside(&path, mode.synchronous, seed, stop))
    };
    let next = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let (db, next) = (db.clone(), Arc::clone(&next));
        writers.push(tokio::spawn(async move {
            loop {
                let id = next.fetch_add(1, Ordering::SeqCst);
                if id >= jobs {
                    break;
                }
                db.write(move |c| {
                    // The writer thread runs jobs one after another: this is the
                    // commit order.
                    let seq: i64 =
                        c.query_row("SELECT coalesce(max(seq), 0) + 1 FROM rows", [], |r| {
                            r.get(0)
                        })?;
                    c.execute(
                        "INSERT INTO rows (seq, id, k, payload) VALUES (?1, ?2, ?3, ?4)",
                        params![seq, id as i64, key(id), payload(id)],
                    )?;
                    c.execute("UPDATE counter SET n = n + 1", [])?;
                    Ok::<_, StorageError>(())
                })
                .await
                // No power cut yet: a failed write (a corrupt page read back) is a
                // finding, reported with the others rather than a panic.
                .map_err(|e| format!("write {id} failed: {e}"))?;
                fault_vfs::mark_acked(id);
            }
            Ok::<_, String>(())
        }));
    }
    let mut failed = None;
    for w in writers {
        failed = failed.or(w.await.unwrap().err());
    }
    stop.store(true, Ordering::SeqCst);
    checkpointer.join().unwrap();
    // Group commit did commit several writes at once (the cut points fall between
    // and inside such commits).
    let stats = db.stats();
    assert!(
        stats.largest_batch > 1,
        "{mode:?}: no group commit ({stats:?})"
    );
    let closed = db.close().await.map_err(|e| format!("close: {e}"));
    let log = fault_vfs::take_log();
    // Without a power cut, everything is there.
    let clean = match (failed, closed) {
        (Some(why), _) | (None, Err(why)) => Some(why),
        (None, Ok(())) => match recover(&path, mode.synchronous).await {
            Ok(got) if got.ids.len() as u64 == jobs => None,
            Ok(got) => Some(format!("{} of {jobs} writes", got.ids.len())),
            Err(why) => Some(why),
        },
    };
    let clean = clean.map(|why| format!("{mode:?} without a power cut: {why}"));
    (log, clean)
}

/// What a reopened database holds.
struct Recovered {
    ids: BTreeSet<u64>,
}

/// Opens the files with Hearth's own recovery and checks they are a consistent prefix.
async fn recover(path: &Path, synchronous: Synchronous) -> Result<Recovered, String> {
    let db = Db::open(config(path, synchronous), SCHEMA).map_err(|e| format!("open: {e}"))?;
    let read = db
        .read(|c| {
            let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            let counter: i64 = c.query_row("SELECT n FROM counter", [], |r| r.get(0))?;
            let mut stmt = c.prepare("SELECT seq, id, k, payload FROM rows ORDER BY seq")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StorageError>((check, counter, rows))
        })
        .await;
    db.close().await.map_err(|e| format!("close: {e}"))?;
    let (check, counter, rows) = read.map_err(|e| format!("read: {e}"))?;
    if check != "ok" {
        return Err(format!("integrity_check: {check}"));
    }
    if counter != rows.len() as i64 {
        return Err(format!("counter {counter} but {} rows", rows.len()));
    }
    let mut ids = BTreeSet::new();
    for (i, (seq, id, k, data)) in rows.into_iter().enumerate() {
        let id = id as u64;
        if seq != i as i64 + 1 {
            return Err(format!("not a prefix: row {} has seq {seq}", i + 1));
        }
        if k != key(id) || data != payload(id) {
            return Err(format!("row seq {seq} (id {id}) is damaged"));
        }
        ids.insert(id);
    }
    Ok(Recovered { ids })
}

/// Cuts power at `cuts` random points of one recorded run; returns the failures.
async fn cut_power(mode: Mode, log: &fault_vfs::Log, cuts: u64, rng: &mut StdRng) -> Vec<String> {
    let mut failures = Vec::new();
    for _ in 0..cuts {
        let cut = rng.random_range(0..=log.ops.len());
        let acked: BTreeSet<u64> = log.ops[..cut]
            .iter()
            .filter_map(|op| match op {
                fault_vfs::Op::Acked(id) => Some(*id),
                _ => None,
            })
            .collect();
        for loss in [Loss::Discard, Loss::Tear] {
            let dir = tempfile::tempdir().unwrap();
            let lost = disk::survivors(log, cut, loss, rng, dir.path());
            let result = recover(&dir.path().join("hearth.db"), mode.synchronous)
                .await
                .and_then(|got| match mode.synchronous {
                    Synchronous::Full => match acked.difference(&got.ids).next() {
                        Some(id) => Err(format!(
                            "acknowledged write {id} lost ({} acknowledged, {} recovered)",
                            acked.len(),
                            got.ids.len()
                        )),
                        None => Ok(()),
                    },
                    // NORMAL may lose the last commits: the prefix check is all.
                    Synchronous::Normal => Ok(()),
                });
            if let Err(why) = result {
                failures.push(format!(
                    "{mode:?} cut at op {cut}/{} ({loss:?}, {lost} cached writes lost or torn): {why}",
                    log.ops.len()
                ));
            }
        }
    }
    failures
}

/// The stack is what the mode says: with gathering, the VFS below sees whole commits
/// written at once; without, one frame header or page per write. And SQLite pads
/// commits exactly when the mode says it must.
fn assert_stack(mode: Mode, log: &fault_vfs::Log) {
    let wal = log.names.iter().position(|n| n.ends_with("-wal"));
    let largest = log
        .ops
        .iter()
        .filter_map(|op| match op {
            fault_vfs::Op::Write { file, data, .. } if Some(*file) == wal => Some(data.len()),
            _ => None,
        })
        .max()
        .expect("the run wrote to the WAL");
    // The gathering VFS may choose to write straight through when powersafe
    // overwrite is off (one way to fix the defect of issue 15); without it nothing
    // ever writes more than a page at once.
    if mode.gathering && mode.powersafe_overwrite {
        assert!(
            largest > 4096,
            "{mode:?}: nothing gathered (largest WAL write {largest})"
        );
    } else if !mode.gathering {
        assert!(
            largest <= 4096,
            "{mode:?}: gathered without the gathering VFS ({largest})"
        );
    }
    // With synchronous=FULL and no powersafe overwrite SQLite pads each commit to a
    // sector and syncs there: most WAL syncs end on a 4 KiB boundary (a checkpoint's
    // sync may find a commit half written); otherwise hardly any do.
    let (mut end, mut syncs, mut aligned) = (0, 0, 0);
    for op in &log.ops {
        match op {
            fault_vfs::Op::Write { file, offset, data } if Some(*file) == wal => {
                end = offset + data.len() as u64
            }
            fault_vfs::Op::Sync { file } if Some(*file) == wal && end > 32 => {
                syncs += 1;
                aligned += usize::from(end % 4096 == 0);
            }
            _ => {}
        }
    }
    let padded = mode.synchronous == Synchronous::Full && !mode.powersafe_overwrite;
    assert_eq!(
        aligned * 2 > syncs,
        padded,
        "{mode:?}: {aligned} of {syncs} WAL syncs on a sector boundary"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_power_cut_at_any_point() {
    fault_vfs::install();
    // The first Db::open registers Hearth's gathering VFS over the fault VFS.
    let scratch = tempfile::tempdir().unwrap();
    Db::open(
        config(&scratch.path().join("x.db"), Synchronous::Normal),
        SCHEMA,
    )
    .unwrap()
    .close()
    .await
    .unwrap();
    let cuts = env_number("HEARTH_POWER_LOSS_CUTS", 200);
    let jobs = env_number("HEARTH_POWER_LOSS_JOBS", 600);
    let rounds = env_number("HEARTH_POWER_LOSS_ROUNDS", 3);
    let seed = env_number("HEARTH_POWER_LOSS_SEED", 15);
    // e.g. `full-psow0-gather,normal-psow1-plain`: only these modes.
    let only = std::env::var("HEARTH_POWER_LOSS_MODES").unwrap_or_default();
    let mut failures = Vec::new();
    let mut mode_index = 0;
    for synchronous in [Synchronous::Normal, Synchronous::Full] {
        for powersafe_overwrite in [true, false] {
            for gathering in [false, true] {
                let mode = Mode {
                    synchronous,
                    powersafe_overwrite,
                    gathering,
                };
                let started = std::time::Instant::now();
                let name = mode.name();
                if !only.is_empty() && !only.split(',').any(|m| m == name) {
                    continue;
                }
                mode_index += 1;
                let (log, clean) = record_run(mode, jobs, seed + mode_index).await;
                failures.extend(clean);
                assert_stack(mode, &log);
                let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(31).wrapping_add(mode_index));
                let found = cut_power(mode, &log, cuts, &mut rng).await;
                eprintln!(
                    "{name}: {} ops, {cuts} cuts, {} failures, {:?}",
                    log.ops.len(),
                    found.len(),
                    started.elapsed()
                );
                failures.extend(found.into_iter().take(5));
                // Longer runs, checked after a clean close only: a defect that needs a
                // long WAL and an unlucky checkpoint (such as the gathering VFS's with
                // powersafe overwrite off) shows up in about one run of this size out
                // of three, and reopening a larger database at every cut would take
                // too long. Three times as many where SQLite syncs inside frames (full,
                // no powersafe overwrite), the only modes where the disk stalls.
                let padded = synchronous == Synchronous::Full && !powersafe_overwrite;
                for round in 1..=if padded { 3 * rounds } else { rounds } {
                    let (_, clean) =
                        record_run(mode, ROUND_JOBS, seed + 100 * round + mode_index).await;
                    failures.extend(clean);
                }
            }
        }
    }
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
}
