//! Copying the local file store's blobs between a data directory and a backup: every
//! regular file under one root to the same relative path under another, each one
//! fsynced, and each directory that gained an entry fsynced, so that a copy that
//! finished is durable.
//!
//! Only blobs are copied: names starting with `.` are skipped at every level (the
//! store's `.tmp/` of unfinished uploads and its lock files; no blob key has such a
//! segment), and so are symlinks and other special files (the store makes none).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What a copy did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// Files written.
    pub files: u64,
    pub bytes: u64,
    /// Files already at the target with the same size (blobs are immutable and their
    /// names unique, so the same name and size is the same blob), left alone.
    pub present: u64,
}

/// How files reach the target.
#[derive(Clone, Copy, Debug)]
pub enum Write<'a> {
    /// Straight to their place: the target is a staging directory nobody reads yet.
    Direct,
    /// Into this directory first (on the target's file system), then renamed into
    /// place: the target is live, and a crash must not leave a partial file under a
    /// blob's name.
    ViaTemp(&'a Path),
}

/// Copies every blob under `from` that `to` lacks (or has with another size) to `to`.
/// A missing `from` is an empty store. A file that vanishes while the walk reaches it
/// is skipped (nothing of Hearth's deletes while a backup holds deletions; see
/// `backup_format`).
pub fn copy_blobs(from: &Path, to: &Path, how: Write<'_>) -> io::Result<Copied> {
    let mut copied = Copied::default();
    if !from.is_dir() {
        return Ok(copied);
    }
    storage::private_files::private_dir(to)?;
    let mut pending: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let entries = match fs::read_dir(from.join(&relative)) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        let target_dir = to.join(&relative);
        let mut gained = false;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                make_dir(&target_dir, &target_dir.join(&name))?;
                pending.push(relative.join(&name));
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let target = target_dir.join(&name);
            let size = match entry.metadata() {
                Ok(meta) => meta.len(),
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if fs::metadata(&target).is_ok_and(|t| t.is_file() && t.len() == size) {
                copied.present += 1;
                continue;
            }
            match copy_one(&entry.path(), &target, how) {
                Ok(bytes) => {
                    copied.files += 1;
                    copied.bytes += bytes;
                    gained = true;
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound && !entry.path().exists() => {
                    tracing::warn!(path = %entry.path().display(), "a file vanished while it was copied; skipped");
                }
                Err(err) => return Err(err),
            }
        }
        if gained {
            sync_dir(&target_dir)?;
        }
    }
    Ok(copied)
}

/// Creates `dir` 0700 if missing, making its entry in `parent` durable.
fn make_dir(parent: &Path, dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    storage::private_files::private_dir(dir)?;
    sync_dir(parent)
}

fn copy_one(source: &Path, target: &Path, how: Write<'_>) -> io::Result<u64> {
    let written_at = match how {
        Write::Direct => target.to_path_buf(),
        Write::ViaTemp(tmp) => {
            storage::private_files::private_dir(tmp)?;
            // Unique within this process; a restore runs alone under the data
            // directory's lock, and the store clears `.tmp/` when it opens.
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            tmp.join(format!("restore-{}-{n}", std::process::id()))
        }
    };
    let result = (|| {
        // copy_file_range where the kernel has it: no bytes pass through user space.
        let bytes = fs::copy(source, &written_at)?;
        // Blobs are owner-only in the store and in a backup, whatever the source's mode.
        storage::private_files::narrow(&written_at, storage::private_files::FILE_MODE)?;
        fs::File::open(&written_at)?.sync_all()?;
        if !matches!(how, Write::Direct) {
            fs::rename(&written_at, target)?;
        }
        Ok(bytes)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&written_at);
    }
    result
}

/// Makes a directory's new entries durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_copied_and_dot_names_and_present_files_are_not() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        let f = from.path();
        fs::create_dir_all(f.join("posts/r1")).unwrap();
        fs::create_dir_all(f.join(".tmp")).unwrap();
        fs::write(f.join("posts/r1/a.png"), b"aaaa").unwrap();
        fs::write(f.join("posts/r1/b.txt"), b"bb").unwrap();
        fs::write(f.join(".tmp/unfinished"), b"x").unwrap();
        fs::write(f.join(".deleting.lock"), b"").unwrap();
        fs::create_dir_all(to.path().join("posts/r1")).unwrap();
        fs::write(to.path().join("posts/r1/b.txt"), b"bb").unwrap();
        let tmp = to.path().join(".tmp");
        let copied = copy_blobs(f, to.path(), Write::ViaTemp(&tmp)).unwrap();
        assert_eq!(
            copied,
            Copied {
                files: 1,
                bytes: 4,
                present: 1
            }
        );
        assert_eq!(fs::read(to.path().join("posts/r1/a.png")).unwrap(), b"aaaa");
        assert!(!to.path().join(".deleting.lock").exists());
        assert_eq!(
            fs::read_dir(&tmp).unwrap().count(),
            0,
            "temporary files left"
        );
        // A missing source is an empty store.
        let none = copy_blobs(&f.join("nothing"), to.path(), Write::Direct).unwrap();
        assert_eq!(none, Copied::default());
    }
}
