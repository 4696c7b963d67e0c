//! The gathering rules of `wal_writes`: which frame writes wait in memory and when
//! they go to the file (see that module's comment for why these rules are safe).

use rusqlite::ffi;
use std::ffi::c_int;

/// SQLite's frame header size (WAL_FRAME_HDRSIZE); its bytes 4..8 are the database
/// size after the commit, zero in every frame but a commit's last.
pub(crate) const FRAME_HEADER: usize = 24;

fn is_commit_header(data: &[u8]) -> bool {
    data.len() == FRAME_HEADER && data[4..8] != [0; 4]
}

/// Larger transactions (migrations, imports) are written out in pieces of about this.
const WRITE_AT: usize = 64 * 1024;

/// The most one call to the default VFS writes: its unix write masks the length to 17
/// bits (`seekAndWriteFd`), so anything from 128 KiB up would be cut short.
pub(crate) const MAX_CALL: usize = 64 * 1024;

/// Frame writes waiting to be written together, and what decides when.
#[derive(Default)]
pub(crate) struct Gathered {
    bytes: Vec<u8>,
    offset: i64,
    /// The previous call on the file was a read or a sync: the next write goes
    /// straight to the file (see `wal_writes`).
    straight_next: bool,
    /// The previous write was the header of a commit frame: its page ends the commit.
    commit_header: bool,
    /// The file has no powersafe overwrite: nothing is gathered (see `wal_writes`).
    pass_through: bool,
}

impl Gathered {
    pub(crate) fn passing_through() -> Self {
        Gathered {
            pass_through: true,
            ..Gathered::default()
        }
    }

    /// A write of `data` at `offset`; `write` puts bytes in the file. Returns an
    /// SQLite result code.
    pub(crate) fn write(
        &mut self,
        data: &[u8],
        offset: i64,
        write: &mut dyn FnMut(&[u8], i64) -> c_int,
    ) -> c_int {
        if self.pass_through {
            return write(data, offset);
        }
        if std::mem::take(&mut self.straight_next) {
            let rc = match self.flush(write) {
                ffi::SQLITE_OK => write(data, offset),
                rc => rc,
            };
            // The tail of a header split by a sync: its page follows, straight too.
            self.straight_next = data.len() < FRAME_HEADER;
            // A commit's first frame can follow a read too: its page still ends it.
            self.commit_header = is_commit_header(data);
            return rc;
        }
        if !self.bytes.is_empty() && offset != self.end() {
            let rc = self.flush(write);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        if self.bytes.is_empty() {
            self.offset = offset;
        }
        self.bytes.extend_from_slice(data);
        let ends_commit = self.commit_header;
        self.commit_header = is_commit_header(data);
        if ends_commit || self.bytes.len() >= WRITE_AT {
            self.flush(write)
        } else {
            ffi::SQLITE_OK
        }
    }

    /// Writes out what is gathered. On failure the bytes are dropped: SQLite abandons
    /// the transaction, and a later one writes its frames afresh.
    pub(crate) fn flush(&mut self, write: &mut dyn FnMut(&[u8], i64) -> c_int) -> c_int {
        self.commit_header = false;
        if self.bytes.is_empty() {
            return ffi::SQLITE_OK;
        }
        let mut rc = ffi::SQLITE_OK;
        let mut offset = self.offset;
        for piece in self.bytes.chunks(MAX_CALL) {
            rc = write(piece, offset);
            if rc != ffi::SQLITE_OK {
                break;
            }
            offset += piece.len() as i64;
        }
        self.bytes.clear();
        if self.bytes.capacity() > 2 * WRITE_AT {
            self.bytes.shrink_to(WRITE_AT);
        }
        rc
    }

    /// After a read or a sync.
    pub(crate) fn write_next_straight(&mut self) {
        self.straight_next = true;
    }

    pub(crate) fn note_other_call(&mut self) {
        self.straight_next = false;
    }

    fn end(&self) -> i64 {
        self.offset + self.bytes.len() as i64
    }
}
