//! Unit tests of the gathering rules in `wal_writes` (kept apart: the module is long).
use super::*;

/// Records the writes that reach the file.
#[derive(Default)]
struct File {
    writes: Vec<(i64, usize)>,
    fail: bool,
}

impl File {
    fn sink(&mut self) -> impl FnMut(&[u8], i64) -> c_int + '_ {
        move |bytes, offset| {
            if self.fail {
                return ffi::SQLITE_FULL;
            }
            self.writes.push((offset, bytes.len()));
            ffi::SQLITE_OK
        }
    }
}

fn header(commit: bool) -> [u8; FRAME_HEADER] {
    let mut h = [0; FRAME_HEADER];
    if commit {
        h[4..8].copy_from_slice(&42u32.to_be_bytes());
    }
    h
}

const PAGE: usize = 4096;
const FRAME: i64 = (FRAME_HEADER + PAGE) as i64;

/// Frames `first..` of a commit of `n` frames, the last one a commit frame.
fn commit(g: &mut Gathered, file: &mut File, first: i64, n: i64) -> Vec<c_int> {
    let page = [7u8; PAGE];
    let mut codes = Vec::new();
    for i in 0..n {
        let at = 32 + (first + i) * FRAME;
        codes.push(g.write(&header(i == n - 1), at, &mut file.sink()));
        codes.push(g.write(&page, at + FRAME_HEADER as i64, &mut file.sink()));
    }
    codes
}

#[test]
fn installing_makes_it_the_default_vfs() {
    assert!(install());
    // SAFETY: a null name asks for the default VFS, whose name is a C string.
    let name =
        unsafe { std::ffi::CStr::from_ptr((*ffi::sqlite3_vfs_find(std::ptr::null())).zName) };
    assert_eq!(name, c"hearth");
}

#[test]
fn a_commit_reaches_the_file_as_one_write_when_its_last_frame_is_complete() {
    let (mut g, mut file) = (Gathered::default(), File::default());
    let codes = commit(&mut g, &mut file, 0, 13);
    assert!(codes.iter().all(|&rc| rc == ffi::SQLITE_OK));
    assert_eq!(file.writes, vec![(32, 13 * FRAME as usize)]);
    // The next commit continues where this one ended, in one write again.
    commit(&mut g, &mut file, 13, 2);
    assert_eq!(file.writes[1], (32 + 13 * FRAME, 2 * FRAME as usize));
    // A commit longer than one call is written in consecutive pieces.
    commit(&mut g, &mut file, 15, 20);
    let mut end = 32 + 15 * FRAME;
    for &(offset, len) in &file.writes[2..] {
        assert!(offset == end && len <= MAX_CALL, "{:?}", file.writes);
        end += len as i64;
    }
    assert_eq!(end, 32 + 35 * FRAME);
}

#[test]
fn a_write_out_of_sequence_writes_out_the_gathered_frames_first() {
    let (mut g, mut file) = (Gathered::default(), File::default());
    let page = [1u8; PAGE];
    g.write(&header(false), 32, &mut file.sink());
    g.write(&page, 56, &mut file.sink());
    assert!(file.writes.is_empty());
    // Overwriting an earlier frame's page (SQLite does, within a transaction).
    g.write(&page, 10_000, &mut file.sink());
    assert_eq!(file.writes, vec![(32, FRAME as usize)]);
    assert_eq!(g.flush(&mut file.sink()), ffi::SQLITE_OK);
    assert_eq!(file.writes[1], (10_000, PAGE));
}

#[test]
fn a_header_rewritten_right_after_reading_its_frame_goes_straight_to_the_file() {
    let (mut g, mut file) = (Gathered::default(), File::default());
    commit(&mut g, &mut file, 0, 3);
    g.write_next_straight();
    // The checksum rewrite of the last (commit) frame: nothing follows it.
    g.write(&header(true), 32 + 2 * FRAME, &mut file.sink());
    assert_eq!(file.writes.last(), Some(&(32 + 2 * FRAME, FRAME_HEADER)));
}

#[test]
fn a_commit_frame_written_right_after_a_read_is_still_written_out_with_its_page() {
    let (mut g, mut file) = (Gathered::default(), File::default());
    g.write_next_straight();
    let codes = commit(&mut g, &mut file, 0, 1);
    assert_eq!(codes, vec![ffi::SQLITE_OK; 2]);
    assert_eq!(file.writes, vec![(32, FRAME_HEADER), (56, PAGE)]);
}

#[test]
fn the_rest_of_a_frame_written_after_a_sync_goes_straight_to_the_file() {
    let (mut g, mut file) = (Gathered::default(), File::default());
    // SQLite's split at the sync point: part of the commit frame, sync, the rest.
    g.write(&header(true), 32, &mut file.sink());
    g.write(&[7u8; 1000], 56, &mut file.sink());
    assert_eq!(g.flush(&mut file.sink()), ffi::SQLITE_OK);
    g.write_next_straight();
    g.write(&[7u8; PAGE - 1000], 1056, &mut file.sink());
    assert_eq!(file.writes.last(), Some(&(1056, PAGE - 1000)));
}

#[test]
fn the_tail_of_a_header_split_by_a_sync_and_its_page_go_straight_to_the_file() {
    let (mut g, mut file) = (Gathered::default(), File::default());
    g.write(&header(true), 32, &mut file.sink());
    g.write(&[7u8; PAGE], 56, &mut file.sink());
    g.write(&header(true)[..10], 32 + FRAME, &mut file.sink());
    assert_eq!(g.flush(&mut file.sink()), ffi::SQLITE_OK);
    g.write_next_straight();
    // Nothing else follows these two in the commit: neither may stay gathered.
    g.write(&header(true)[10..], 32 + FRAME + 10, &mut file.sink());
    g.write(&[7u8; PAGE], 56 + FRAME, &mut file.sink());
    assert_eq!(file.writes.last(), Some(&(56 + FRAME, PAGE)));
}

#[test]
fn a_file_without_powersafe_overwrite_gathers_nothing() {
    let (mut g, mut file) = (Gathered::passing_through(), File::default());
    commit(&mut g, &mut file, 0, 2);
    assert_eq!(file.writes.len(), 4, "{:?}", file.writes);
}

#[test]
fn a_failed_write_is_reported_by_the_write_that_completes_the_commit() {
    let (mut g, mut file) = (Gathered::default(), File::default());
    file.fail = true;
    let codes = commit(&mut g, &mut file, 0, 4);
    assert!(codes[..7].iter().all(|&rc| rc == ffi::SQLITE_OK));
    assert_eq!(codes[7], ffi::SQLITE_FULL);
    // Dropped, not retried: the next commit starts clean.
    file.fail = false;
    commit(&mut g, &mut file, 0, 1);
    assert_eq!(file.writes, vec![(32, FRAME as usize)]);
}

#[test]
fn a_large_transaction_is_written_out_in_pieces() {
    let (mut g, mut file) = (Gathered::default(), File::default());
    let page = [0u8; PAGE];
    for i in 0..200 {
        let at = 32 + i * FRAME;
        g.write(&header(false), at, &mut file.sink());
        g.write(&page, at + FRAME_HEADER as i64, &mut file.sink());
    }
    assert_eq!(g.flush(&mut file.sink()), ffi::SQLITE_OK);
    assert!(file.writes.len() >= 3, "{:?}", file.writes);
    assert!(file.writes.iter().all(|&(_, len)| len <= MAX_CALL));
    // Contiguous and complete: every byte written once, in order.
    let mut end = 32;
    for &(offset, len) in &file.writes {
        assert_eq!(offset, end);
        end += len as i64;
    }
    assert_eq!(end, 32 + 200 * FRAME);
}
