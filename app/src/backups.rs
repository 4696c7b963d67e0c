//! Scheduled online backups: every `interval`, a backup in the format of
//! `backup_format` (the database by `VACUUM INTO`, safe while serving, checked with
//! `PRAGMA integrity_check`, and the local files) is written under a temporary name and
//! only then renamed to `hearth-<time>/`; after that, backups beyond `keep` are
//! deleted, oldest first (older single-file backups, `hearth-<time>.db`, count too). A
//! failed backup never removes a good one.

use crate::config::BackupConfig;
use std::path::{Path, PathBuf};
use storage::Db;

const PREFIX: &str = "hearth-";
/// The single-file backups of earlier versions, pruned like the directories.
const OLD_SUFFIX: &str = ".db";

/// Runs until the database closes.
pub async fn run(db: Db, config: BackupConfig) {
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate; the first backup waits an interval
    loop {
        ticker.tick().await;
        match take(&db, &config).await {
            Ok(path) => {
                tracing::info!(path = %path.display(), "scheduled backup written and verified")
            }
            Err(storage::StorageError::Closed) => return,
            Err(e) => tracing::error!(error = %e, "scheduled backup failed; older backups kept"),
        }
    }
}

/// One backup now; returns its path.
pub async fn take(db: &Db, config: &BackupConfig) -> Result<PathBuf, storage::StorageError> {
    // 0700: backups hold everything the database does (each file is created 0600).
    storage::private_files::private_dir(&config.dir)?;
    // Fixed-width UTC timestamps sort by name in time order.
    let stamp = kernel::clock::now()
        .replace([':', '.'], "")
        .replace('-', "");
    let final_path = config.dir.join(format!("{PREFIX}{stamp}"));
    remove_unfinished(&config.dir);
    let db_path = db.path().to_path_buf();
    // The database is `<data_dir>/hearth.db`, the local store `<data_dir>/files`.
    let data_dir = db_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let files_root = crate::backup_format::files_root(&data_dir);
    let out = final_path.clone();
    // `write` leaves nothing behind when it fails.
    tokio::task::spawn_blocking(move || crate::backup_format::write(&db_path, &files_root, &out))
        .await
        .map_err(|e| storage::StorageError::Panicked(e.to_string()))??;
    prune(&config.dir, config.keep)?;
    Ok(final_path)
}

/// Removes `.hearth-<time>.partial` directories: backups of this schedule that a crash
/// or a kill interrupted (scheduled backups run one at a time, in the one server the
/// data directory's lock allows, so none of them is being written now).
fn remove_unfinished(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&format!(".{PREFIX}")) && name.ends_with(".partial") {
            let path = entry.path();
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Ok(()) => tracing::info!(path = %path.display(), "removed an unfinished backup"),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "could not remove an unfinished backup")
                }
            }
        }
    }
}

fn prune(dir: &Path, keep: usize) -> std::io::Result<()> {
    // `hearth-<time>` directories and `hearth-<time>.db` files; the staging
    // directories (`.hearth-….partial`) do not start with the prefix.
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                return false;
            };
            name.starts_with(PREFIX)
                && ((p.is_dir() && !name.contains('.'))
                    || (p.is_file() && name.ends_with(OLD_SUFFIX)))
        })
        .collect();
    // Names sort in time order, with or without the old suffix.
    backups.sort_by(|a, b| stem(a).cmp(stem(b)));
    let excess = backups.len().saturating_sub(keep);
    for old in &backups[..excess] {
        if old.is_dir() {
            std::fs::remove_dir_all(old)?;
        } else {
            std::fs::remove_file(old)?;
        }
        tracing::info!(path = %old.display(), "old backup removed");
    }
    Ok(())
}

fn stem(path: &Path) -> &str {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.strip_suffix(OLD_SUFFIX).unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest_of_directories_and_older_single_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("hearth-20261101T000000000Z.db"), b"old").unwrap();
        std::fs::write(d.join("hearth-20261102T000000000Z.db"), b"old").unwrap();
        std::fs::create_dir(d.join("hearth-20261103T000000000Z")).unwrap();
        std::fs::write(d.join("hearth-20261103T000000000Z/hearth.db"), b"x").unwrap();
        std::fs::create_dir(d.join("hearth-20261104T000000000Z")).unwrap();
        // Not backups: a staging directory and someone else's file.
        std::fs::create_dir(d.join(".hearth-20261105T000000000Z.partial")).unwrap();
        std::fs::write(d.join("notes.txt"), b"mine").unwrap();
        prune(d, 2).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".hearth-20261105T000000000Z.partial",
                "hearth-20261103T000000000Z",
                "hearth-20261104T000000000Z",
                "notes.txt"
            ]
        );
    }
}
