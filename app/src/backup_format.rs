//! The backup format, written by `hearth backup OUT` and by scheduled backups: a
//! directory (0700) holding
//!
//! ```text
//! OUT/hearth.db       the database (VACUUM INTO: one consistent snapshot, no -wal)
//! OUT/files/…         the local file store's blobs, same layout as <data_dir>/files/
//!                     (<collection>/<record id>/<stored name>, thumbnails beside them)
//! OUT/backup.json     {"format": 1, "created_at": …, "files": N, "file_bytes": N}
//! ```
//!
//! It appears under its name only complete: it is written as `.OUT.partial` beside it,
//! every file fsynced, then renamed.
//!
//! # Why the database and the files agree
//!
//! Every blob the snapshot references is in `files/`. The database is copied first,
//! then the files, while every deletion in the local store is held off
//! (`files::DeletionHold`, taken before the snapshot, dropped after the copy):
//! - a blob is in place before the commit that references it (uploads finish, durable,
//!   before their record is written), so one the snapshot references exists when the
//!   snapshot is taken;
//! - it is deleted only after a later commit stops referencing it (the deletion queue),
//!   by the orphan sweep, or by a failed upload's clean-up, and all of these go through
//!   the store's `delete`, which waits while a hold exists, in this process or in a
//!   server's (the hold is a pair of `flock`s in `<data_dir>/files/`).
//!
//! So it is still there when the copy reaches it. Uploads and record writes go on
//! during the backup; what they add after the snapshot may be copied too, unreferenced
//! by the snapshot: after a restore the orphan sweep removes it. Unfinished uploads
//! (`files/.tmp/`) are never copied.
//!
//! With `files_backend = "s3"` the bucket is the file store and nothing is copied
//! (`files/` is empty): see the README for backing up the bucket.

use crate::file_tree::{copy_blobs, sync_dir, Copied, Write};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use storage::StorageError;

pub const DATABASE: &str = "hearth.db";
pub const FILES: &str = "files";
pub const MANIFEST: &str = "backup.json";
/// Bumped when the layout changes in a way an older restore would misread.
pub const FORMAT: u64 = 1;

/// The local file store's root in a data directory (where `files::BlobStore::open`
/// puts it).
pub fn files_root(data_dir: &Path) -> PathBuf {
    data_dir.join(FILES)
}

/// What a backup holds.
#[derive(Clone, Copy, Debug)]
pub struct Written {
    pub files: u64,
    pub file_bytes: u64,
}

/// Writes a backup of the database at `db_path` and the local file store under
/// `files_root` to the new directory `out`. Blocking. Safe while a server runs on the
/// data directory. Fails with `BackupTargetExists` if `out` exists; on any failure
/// nothing is left at `out`.
pub fn write(db_path: &Path, files_root: &Path, out: &Path) -> Result<Written, StorageError> {
    if out.symlink_metadata().is_ok() {
        return Err(StorageError::BackupTargetExists(out.to_path_buf()));
    }
    if !db_path.is_file() {
        return Err(StorageError::Io(io::Error::new(
            io::ErrorKind::NotFound,
            format!("database file {} does not exist", db_path.display()),
        )));
    }
    let staging = staging_path(out)?;
    if staging.symlink_metadata().is_ok() {
        // An earlier backup to the same name that did not finish (a crash).
        fs::remove_dir_all(&staging)?;
    }
    storage::private_files::private_dir(&staging)?;
    let result = write_into(db_path, files_root, &staging).and_then(|written| {
        fs::rename(&staging, out)?;
        // The rename is the backup's commit: make it durable.
        match out.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => sync_dir(parent)?,
            None => sync_dir(Path::new("."))?,
        }
        Ok(written)
    });
    if result.is_err() {
        if let Err(err) = fs::remove_dir_all(&staging) {
            if err.kind() != io::ErrorKind::NotFound {
                tracing::warn!(error = %err, path = %staging.display(), "could not remove a failed backup");
            }
        }
    }
    result
}

fn write_into(db_path: &Path, files_root: &Path, staging: &Path) -> Result<Written, StorageError> {
    // Held from before the snapshot to the end of the copy (see the module comment).
    let hold = files::DeletionHold::acquire(files_root)?;
    // backup_file runs integrity_check on the copy before returning Ok.
    storage::backup_file(db_path, &staging.join(DATABASE))?;
    let Copied { files, bytes, .. } = copy_blobs(files_root, &staging.join(FILES), Write::Direct)?;
    drop(hold);
    let manifest = serde_json::json!({
        "format": FORMAT,
        "created_at": kernel::clock::now(),
        "files": files,
        "file_bytes": bytes,
    });
    let manifest_path = staging.join(MANIFEST);
    storage::private_files::private_file(&manifest_path)?;
    fs::write(&manifest_path, format!("{manifest:#}\n"))?;
    fs::File::open(&manifest_path)?.sync_all()?;
    sync_dir(staging)?;
    Ok(Written {
        files,
        file_bytes: bytes,
    })
}

/// `.NAME.partial` beside `out`.
fn staging_path(out: &Path) -> Result<PathBuf, StorageError> {
    let name = out.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        StorageError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a new directory", out.display()),
        ))
    })?;
    let parent = out.parent().unwrap_or(Path::new(""));
    if !parent.as_os_str().is_empty() && !parent.is_dir() {
        storage::private_files::private_dir(parent)?;
    }
    Ok(parent.join(format!(".{name}.partial")))
}

/// Whether `dir` is a backup in this format (what `hearth restore` accepts besides a
/// plain database file), and if not why. A directory without a manifest but with
/// `hearth.db` is accepted (assembled by hand: a Litestream restore and a copy of the
/// files); a manifest of a newer format is refused.
pub fn check_directory(dir: &Path) -> Result<(), String> {
    if !dir.join(DATABASE).is_file() {
        return Err(format!(
            "{} is not a Hearth backup: it has no {DATABASE}",
            dir.display()
        ));
    }
    let manifest = dir.join(MANIFEST);
    if !manifest.exists() {
        return Ok(());
    }
    let text = fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", manifest.display()))?;
    match value.get("format").and_then(|f| f.as_u64()) {
        Some(FORMAT) => Ok(()),
        Some(other) => Err(format!(
            "{} is in backup format {other}; this version of hearth restores format {FORMAT} (use a newer hearth)",
            dir.display()
        )),
        None => Err(format!("{} has no \"format\"", manifest.display())),
    }
}
