//! Scheduled online backups: every `interval`, a consistent copy (`VACUUM INTO`, safe
//! while serving) is written under a temporary name, checked with
//! `PRAGMA integrity_check`, and only then renamed into place; after that, backups beyond
//! `keep` are deleted, oldest first. A failed backup never removes a good one.

use crate::config::BackupConfig;
use std::path::{Path, PathBuf};
use storage::Db;

const PREFIX: &str = "hearth-";
const SUFFIX: &str = ".db";

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
    let final_path = config.dir.join(format!("{PREFIX}{stamp}{SUFFIX}"));
    let temp = config.dir.join(format!(".{PREFIX}{stamp}{SUFFIX}.partial"));
    let _ = std::fs::remove_file(&temp);
    // backup_to runs integrity_check on the copy before returning Ok.
    if let Err(e) = db.backup_to(&temp).await {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    std::fs::rename(&temp, &final_path)?;
    prune(&config.dir, config.keep)?;
    Ok(final_path)
}

fn prune(dir: &Path, keep: usize) -> std::io::Result<()> {
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(keep);
    for old in &backups[..excess] {
        std::fs::remove_file(old)?;
        tracing::info!(path = %old.display(), "old backup removed");
    }
    Ok(())
}
