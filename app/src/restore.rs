//! `hearth restore BACKUP`: make a backup the database (and its files), safely.
//! BACKUP is a backup directory (`backup_format`) or a plain database file (an older
//! backup, a Litestream restore).
//! 1. refuse while a server holds the data directory's lock;
//! 2. check the backup (integrity_check, and that it is a Hearth database);
//! 3. a directory's files are copied into `<data_dir>/files/` (each through the store's
//!    `.tmp/` and renamed into place, fsynced); blobs already there are kept, so the
//!    store then holds the backup's blobs and the current ones;
//! 4. the database is copied next to the current one and fsynced, the current database
//!    (and any -wal/-shm) moved aside as `hearth.db.before-restore-<time>`, and the
//!    copy renamed into place.
//!
//! Files first, the database last: whenever the restore stops (a crash, a full disk),
//! whichever database is in place has every blob it references, and running the
//! restore again finishes it. Blobs the restored database does not reference (the
//! replaced database's) are removed by the orphan sweep after its grace period.
//! Migrations newer than the backup run at the next start.

use crate::backup_format;
use crate::data_lock::DataDirLock;
use crate::file_tree::{copy_blobs, Copied, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// Where the replaced database was moved, if there was one.
    pub kept: Option<PathBuf>,
    /// `None` for a plain database file (the files directory was left as it is).
    pub files: Option<Copied>,
}

pub fn restore(backup: &Path, data_dir: &Path, db_path: &Path) -> Result<Restored, RestoreError> {
    storage::private_files::private_dir(data_dir)
        .map_err(|e| RestoreError::Refused(format!("cannot create {}: {e}", data_dir.display())))?;
    let _lock = DataDirLock::acquire(data_dir).map_err(|e| RestoreError::Refused(e.to_string()))?;
    let (database, files) = if backup.is_dir() {
        backup_format::check_directory(backup).map_err(RestoreError::Refused)?;
        (
            backup.join(backup_format::DATABASE),
            Some(backup.join(backup_format::FILES)),
        )
    } else {
        (backup.to_path_buf(), None)
    };
    storage::verify_database(&database).map_err(|e| {
        RestoreError::Refused(format!("{} cannot be restored: {e}", backup.display()))
    })?;
    let files = match files {
        Some(from) => {
            let root = backup_format::files_root(data_dir);
            // The store's own temporary directory: cleared at the server's next start
            // if the restore stops midway.
            let tmp = root.join(".tmp");
            Some(copy_blobs(&from, &root, Write::ViaTemp(&tmp)).map_err(|e| {
                RestoreError::Failed(format!("cannot copy the backup's files: {e}"))
            })?)
        }
        None => None,
    };
    let kept = restore_database(&database, data_dir, db_path)?;
    Ok(Restored { kept, files })
}

fn restore_database(
    backup: &Path,
    data_dir: &Path,
    db_path: &Path,
) -> Result<Option<PathBuf>, RestoreError> {
    let temp = db_path.with_extension("db.restoring");
    std::fs::copy(backup, &temp)
        .map_err(|e| RestoreError::Failed(format!("cannot copy the backup: {e}")))?;
    // The copy has the backup file's mode; the database is owner-only whatever that was.
    storage::private_files::narrow(&temp, storage::private_files::FILE_MODE)
        .map_err(|e| RestoreError::Failed(format!("cannot restrict the copy: {e}")))?;
    std::fs::File::open(&temp)
        .and_then(|f| f.sync_all())
        .map_err(|e| RestoreError::Failed(format!("cannot flush the copy: {e}")))?;
    let mut kept = None;
    if db_path.exists() {
        let stamp = kernel::clock::now()
            .replace([':', '.'], "")
            .replace('-', "");
        let aside = db_path.with_extension(format!("db.before-restore-{stamp}"));
        std::fs::rename(db_path, &aside).map_err(|e| {
            RestoreError::Failed(format!("cannot move the current database aside: {e}"))
        })?;
        for ext in ["db-wal", "db-shm"] {
            let side = db_path.with_extension(ext);
            if side.exists() {
                let to = aside.with_extension(format!(
                    "{}-{ext}",
                    aside.extension().and_then(|e| e.to_str()).unwrap_or("db")
                ));
                let _ = std::fs::rename(&side, to);
            }
        }
        kept = Some(aside);
    }
    std::fs::rename(&temp, db_path)
        .map_err(|e| RestoreError::Failed(format!("cannot put the backup in place: {e}")))?;
    if let Ok(dir) = std::fs::File::open(data_dir) {
        let _ = dir.sync_all();
    }
    Ok(kept)
}
