//! Revocations other processes must see at once. The token cache lives in the server's
//! memory, so when another process revokes credentials in the shared database
//! (`hearth admin create` resetting an account while the server runs), the server must
//! learn of it before its next cache hit. The writer of such a revocation appends one
//! byte to a small file beside the database, `hearth.revocations`, after its
//! transaction commits; every cache lookup compares the file's identity (inode and
//! size: one `stat` call) with the one it last saw and drops every cached entry when it
//! changed. Appending makes the size grow with every revocation, so no two versions
//! look alike (modification times are too coarse for that); past [`COMPACT_AT`] bytes
//! the file is replaced by a one-byte file under a new inode.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The file is started afresh (under a new inode) once it is this long.
const COMPACT_AT: u64 = 64 * 1024;

/// What identifies one version of the file; `None` from [`Revocations::stamp`] means the
/// file does not exist (yet), which is a version too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    ino: u64,
    len: u64,
}

#[derive(Clone, Debug)]
pub struct Revocations {
    file: PathBuf,
}

impl Revocations {
    /// The file beside the database at `db_path` (`hearth.db` → `hearth.revocations`).
    pub fn beside(db_path: &Path) -> Revocations {
        Revocations {
            file: db_path.with_extension("revocations"),
        }
    }

    /// The file's current version.
    pub fn stamp(&self) -> Option<Stamp> {
        let meta = std::fs::metadata(&self.file).ok()?;
        Some(Stamp {
            ino: inode(&meta),
            len: meta.len(),
        })
    }

    /// Tells every process that credentials were revoked. A failure is logged; this
    /// process's own cache is cleared by the caller either way, and cached entries of
    /// other processes still expire after the cache's TTL.
    pub fn bump(&self) {
        if let Err(e) = self.append_or_compact() {
            tracing::warn!(
                error = %e,
                file = %self.file.display(),
                "could not signal a revocation to other processes"
            );
        }
    }

    fn append_or_compact(&self) -> std::io::Result<()> {
        let len = std::fs::metadata(&self.file).map(|m| m.len()).unwrap_or(0);
        if len < COMPACT_AT {
            // O_APPEND: writers in several processes never overwrite each other's byte.
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.file)?;
            return file.write_all(b"\n");
        }
        // Written aside, then renamed over the old file: the new inode differs from the
        // old one (both exist at the rename), so the stamp changes.
        let tmp = self
            .file
            .with_extension(format!("revocations.{}", std::process::id()));
        let result = std::fs::write(&tmp, b"\n").and_then(|()| std::fs::rename(&tmp, &self.file));
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bump_changes_the_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let r = Revocations::beside(&dir.path().join("hearth.db"));
        assert_eq!(r.stamp(), None);
        let mut seen = vec![r.stamp()];
        for _ in 0..20 {
            r.bump();
            let stamp = r.stamp();
            assert!(stamp.is_some());
            assert_ne!(seen.last(), Some(&stamp), "a bump went unnoticed");
            seen.push(stamp);
        }
        // Compaction starts a new, short file that still reads as a change.
        std::fs::write(&r.file, vec![b'\n'; COMPACT_AT as usize]).unwrap();
        let before = r.stamp();
        r.bump();
        assert_ne!(r.stamp(), before);
        assert_eq!(std::fs::metadata(&r.file).unwrap().len(), 1);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files left behind");
    }
}
