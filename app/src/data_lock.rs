//! One server per data directory: `serve` holds an exclusive lock on
//! `<data_dir>/hearth.lock` for as long as it runs, so a second server, or a `restore`
//! under a running server, is refused instead of corrupting data. The operating system
//! releases the lock when the process exits, however it exits.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

pub struct DataDirLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another Hearth server is using {0} (stop it first)")]
    Busy(String),
    #[error("cannot lock {0}: {1}")]
    Io(String, std::io::Error),
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock, LockError> {
        let path = data_dir.join("hearth.lock");
        let shown = data_dir.display().to_string();
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&path)
            .map_err(|e| LockError::Io(shown.clone(), e))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockError::Busy(shown)),
            Err(TryLockError::Error(e)) => Err(LockError::Io(shown, e)),
        }
    }
}
