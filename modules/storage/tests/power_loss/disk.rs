//! What a power cut leaves on disk, rebuilt from the fault VFS's log.
//!
//! Per file, everything written before its last completed sync survives; what was
//! written after it is the disk's cache. `Loss::Discard` loses all of that cache;
//! `Loss::Tear` lets the disk have written back a random part of it, in order, and
//! cuts power in the middle of the next write: of that write's last sector only the
//! first half reaches the platter (the sectors before it do, the bytes outside the
//! write keep their old contents).

use super::fault_vfs::{Log, Op};
use rand::rngs::StdRng;
use rand::Rng;
use std::path::Path;

/// The sector size SQLite's unix VFS reports (SQLITE_DEFAULT_SECTOR_SIZE).
const SECTOR: u64 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    Discard,
    Tear,
}

/// One file's history since it was last (re)created, before the cut.
#[derive(Default)]
struct History<'a> {
    /// Writes and truncates, in order.
    changes: Vec<&'a Op>,
    /// How many of them a sync covers.
    synced: usize,
}

/// `Vec::resize` fills byte by byte in a debug build (most of the test's time);
/// appending slices of zeros is a memcpy.
fn set_len(content: &mut Vec<u8>, len: usize) {
    static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
    content.truncate(len);
    while content.len() < len {
        let n = (len - content.len()).min(ZEROS.len());
        content.extend_from_slice(&ZEROS[..n]);
    }
}

fn apply(content: &mut Vec<u8>, op: &Op, upto: Option<u64>) {
    match op {
        Op::Write { offset, data, .. } => {
            let len = match upto {
                Some(end) => end.saturating_sub(*offset).min(data.len() as u64) as usize,
                None => data.len(),
            };
            let (start, end) = (*offset as usize, *offset as usize + len);
            if content.len() < end {
                set_len(content, end);
            }
            content[start..end].copy_from_slice(&data[..len]);
        }
        Op::Truncate { size, .. } => set_len(content, *size as usize),
        _ => unreachable!("only writes and truncates change contents"),
    }
}

/// Where a torn write stops: half way into the sector holding its last byte.
fn torn_end(op: &Op) -> Option<u64> {
    match op {
        Op::Write { offset, data, .. } if !data.is_empty() => {
            let last = offset + data.len() as u64 - 1;
            Some((last / SECTOR * SECTOR + SECTOR / 2).max(*offset))
        }
        _ => None,
    }
}

/// Writes into `dir` the files as they are after power is cut just before
/// `log.ops[cut]`; returns the number of writes the cut lost or tore.
pub fn survivors(log: &Log, cut: usize, loss: Loss, rng: &mut StdRng, dir: &Path) -> usize {
    let mut histories: Vec<Option<History>> = (0..log.names.len())
        .map(|_| Some(History::default()))
        .collect();
    for op in &log.ops[..cut] {
        match op {
            Op::Write { file, .. } | Op::Truncate { file, .. } => histories[*file]
                .get_or_insert_with(History::default)
                .changes
                .push(op),
            Op::Sync { file } => {
                if let Some(h) = &mut histories[*file] {
                    h.synced = h.changes.len();
                }
            }
            // A file deleted and written again starts empty.
            Op::Delete { file } => histories[*file] = None,
            Op::Acked(_) => {}
        }
    }
    let mut lost = 0;
    for (name, history) in log.names.iter().zip(histories) {
        let Some(history) = history else { continue };
        let mut content = Vec::new();
        let synced = history.synced;
        for op in &history.changes[..synced] {
            apply(&mut content, op, None);
        }
        let cached = &history.changes[synced..];
        lost += cached.len();
        if loss == Loss::Tear && !cached.is_empty() {
            let written_back = rng.random_range(0..cached.len());
            for op in &cached[..written_back] {
                apply(&mut content, op, None);
            }
            let torn = cached[written_back];
            if let Some(end) = torn_end(torn) {
                apply(&mut content, torn, Some(end));
            }
            lost -= written_back;
        }
        std::fs::write(dir.join(name), content).expect("write a surviving file");
    }
    lost
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    fn write(file: usize, offset: u64, len: usize, byte: u8) -> Op {
        Op::Write {
            file,
            offset,
            data: vec![byte; len],
        }
    }

    /// A WAL with 8 KiB synced, then two cached writes; a database file deleted.
    fn log() -> Log {
        let mut log = Log::default();
        log.names = vec!["hearth.db-wal".into(), "gone".into()];
        log.ops = vec![
            write(0, 0, 8192, 1),
            write(1, 0, 100, 9),
            Op::Sync { file: 0 },
            Op::Sync { file: 1 },
            Op::Acked(0),
            write(0, 8192, 8192, 2),
            write(0, 16384, 4096, 3),
            Op::Delete { file: 1 },
        ];
        log
    }

    fn wal_after(cut: usize, loss: Loss, seed: u64) -> (Vec<u8>, usize, bool) {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let lost = survivors(&log(), cut, loss, &mut rng, dir.path());
        let wal = std::fs::read(dir.path().join("hearth.db-wal")).unwrap();
        (wal, lost, dir.path().join("gone").exists())
    }

    #[test]
    fn a_cut_keeps_only_what_a_sync_covered() {
        assert_eq!(wal_after(2, Loss::Discard, 0), (vec![], 2, true));
        let (wal, lost, gone_exists) = wal_after(8, Loss::Discard, 0);
        assert_eq!((wal, lost, gone_exists), (vec![1; 8192], 2, false));
    }

    #[test]
    fn a_torn_cut_writes_back_a_prefix_of_the_cache_and_half_a_sector_of_the_next_write() {
        let mut seen = BTreeSet::new();
        for seed in 0..32 {
            let (wal, _, _) = wal_after(8, Loss::Tear, seed);
            assert_eq!(&wal[..8192], &[1; 8192][..]);
            match wal.len() {
                // The first cached write torn half way into its last sector.
                14336 => assert_eq!(&wal[8192..], &[2; 6144][..]),
                // The first written back whole, the second torn.
                18432 => {
                    assert_eq!(&wal[8192..16384], &[2; 8192][..]);
                    assert_eq!(&wal[16384..], &[3; 2048][..]);
                }
                other => panic!("unexpected WAL length {other}"),
            }
            seen.insert(wal.len());
        }
        assert_eq!(seen.len(), 2, "both outcomes over 32 seeds: {seen:?}");
    }
}
