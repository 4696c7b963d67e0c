//! One local upload, on the blocking pool: the temporary file, written as chunks
//! arrive, then fsynced, renamed into place and made durable in its directory.

use super::{WriteMsg, RENAME_ATTEMPTS};
use crate::key::BlobKey;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// One upload on the blocking pool: the temporary file and where it goes.
pub(super) struct WriteJob {
    pub(super) root: PathBuf,
    pub(super) tmp: PathBuf,
    pub(super) key: BlobKey,
}

impl WriteJob {
    /// `Ok(true)` once the blob is in place and durable; `Ok(false)` when the channel
    /// closed without a Commit (the upload failed or was dropped). Anything but
    /// `Ok(true)` leaves no temporary file.
    pub(super) fn run(self, rx: mpsc::Receiver<WriteMsg>) -> io::Result<bool> {
        let result = self.write(rx);
        if !matches!(result, Ok(true)) {
            if let Err(err) = fs::remove_file(&self.tmp) {
                if err.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %self.tmp.display(), error = %err, "could not remove a temporary upload file");
                }
            }
        }
        result
    }

    fn write(&self, mut rx: mpsc::Receiver<WriteMsg>) -> io::Result<bool> {
        let mut file = create_private(&self.tmp)?;
        loop {
            match rx.blocking_recv() {
                Some(WriteMsg::Chunk(chunk)) => file.write_all(&chunk)?,
                Some(WriteMsg::Commit) => break,
                None => return Ok(false),
            }
        }
        file.sync_all()?;
        drop(file);
        self.move_into_place()?;
        Ok(true)
    }

    fn move_into_place(&self) -> io::Result<()> {
        let segments: Vec<&str> = self.key.segments().collect();
        let (name, dirs) = segments.split_last().expect("a key has a segment");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let dir = make_dirs(&self.root, dirs)?;
            match fs::rename(&self.tmp, dir.join(name)) {
                Ok(()) => return sync_dir(&dir),
                Err(err) if err.kind() == io::ErrorKind::NotFound && attempt < RENAME_ATTEMPTS => {}
                Err(err) => return Err(err),
            }
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

fn create_private(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(storage::private_files::FILE_MODE);
    }
    options.open(path)
}

/// Makes a directory's entries (a rename, a new subdirectory) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}
