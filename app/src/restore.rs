//! `hearth restore BACKUP.db`: make a backup the database, safely.
//! 1. refuse while a server holds the data directory's lock;
//! 2. check the backup (integrity_check, and that it is a Hearth database);
//! 3. copy it next to the database and fsync it;
//! 4. move the current database (and any -wal/-shm) aside as
//!    `hearth.db.before-restore-<time>`, then rename the copy into place.
//!
//! Migrations newer than the backup run at the next start.

use crate::data_lock::DataDirLock;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

pub fn restore(
    backup: &Path,
    data_dir: &Path,
    db_path: &Path,
) -> Result<Option<PathBuf>, RestoreError> {
    storage::private_files::private_dir(data_dir)
        .map_err(|e| RestoreError::Refused(format!("cannot create {}: {e}", data_dir.display())))?;
    let _lock = DataDirLock::acquire(data_dir).map_err(|e| RestoreError::Refused(e.to_string()))?;
    storage::verify_database(backup).map_err(|e| {
        RestoreError::Refused(format!("{} cannot be restored: {e}", backup.display()))
    })?;
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
