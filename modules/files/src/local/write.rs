//! The two halves of a local upload around the streaming: the temporary file (removed
//! unless the upload succeeds) and the durable move into place.

use crate::key::BlobKey;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A rename can find its directory just removed by a `delete` that emptied it: the
/// directories are made again this many times before giving up.
const RENAME_ATTEMPTS: usize = 5;

/// A temporary upload file, removed when dropped unless `keep` was called (after it
/// was renamed into place).
pub(super) struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    /// Creates the file, new and private (0600), and opens it for writing.
    ///
    /// The open is done here, not on the blocking pool: an upload dropped while a
    /// pooled open was in flight would leave the file made after its guard was gone (a
    /// leftover until the next start). One `open(2)` of a local file is microseconds.
    pub(super) async fn create(path: PathBuf) -> io::Result<(TempFile, tokio::fs::File)> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(storage::private_files::FILE_MODE);
        }
        let file = options.open(&path)?;
        Ok((
            TempFile { path, keep: false },
            tokio::fs::File::from_std(file),
        ))
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for TempFile {
    /// One unlink, done here rather than spawned so that a failed `put` has removed
    /// its file by the time it returns. A write still in flight on the blocking pool
    /// lands in the unlinked inode, which is freed when it closes.
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Err(err) = fs::remove_file(&self.path) {
            if err.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %self.path.display(), error = %err, "could not remove a temporary upload file");
            }
        }
    }
}

/// Renames the (fsynced) temporary file to the key's path, creating missing
/// directories, and fsyncs the directory that gained the entry. Blocking.
pub(super) fn move_into_place(root: &Path, tmp: &Path, key: &BlobKey) -> io::Result<()> {
    let segments: Vec<&str> = key.segments().collect();
    let (name, dirs) = segments.split_last().expect("a key has a segment");
    let mut attempt = 0;
    loop {
        attempt += 1;
        // A parent made (or found) a moment ago can be gone by the time its child is
        // made, too: that is retried like the rename.
        let dir = match make_dirs(root, dirs) {
            Ok(dir) => dir,
            Err(err) if err.kind() == io::ErrorKind::NotFound && attempt < RENAME_ATTEMPTS => {
                continue
            }
            Err(err) => return Err(err),
        };
        match fs::rename(tmp, dir.join(name)) {
            Ok(()) => return sync_dir(&dir),
            Err(err) if err.kind() == io::ErrorKind::NotFound && attempt < RENAME_ATTEMPTS => {}
            Err(err) => return Err(err),
        }
    }
}

/// Creates the missing directories of `dirs` under `root`, fsyncing each parent that
/// gained one, and returns the last.
fn make_dirs(root: &Path, dirs: &[&str]) -> io::Result<PathBuf> {
    let mut path = root.to_path_buf();
    for dir in dirs {
        let parent = path.clone();
        path.push(dir);
        match private_dir_once(&path) {
            Ok(()) => sync_dir(&parent)?,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
    }
    Ok(path)
}

fn private_dir_once(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(storage::private_files::DIR_MODE);
    }
    builder.create(path)
}

/// Makes a directory's entries (a rename, a new subdirectory) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}
