//! Holding deletions while a backup copies the local store.
//!
//! A backup snapshots the database at a moment T, then copies the blobs. A blob the
//! snapshot references was in place before T (a put completes before the commit that
//! names it), so the copy finds it unless it is deleted between T and the copy: the
//! deletion worker (after a later commit stopped referencing it), the orphan sweep, or
//! anything else calling `delete`. So every local delete takes a permit, and a backup
//! holds them off (`DeletionHold`) from before its snapshot until its copy is done.
//! Nothing else waits: uploads and record writes go on, and what they add after T is
//! either copied too (unreferenced by the snapshot: the sweep removes it after a
//! restore) or not.
//!
//! Two `flock`s in the store's root, so that `hearth backup` (another process) and a
//! scheduled backup (this one) hold off the same deleters:
//! - `.backup-gate.lock`: a backup takes it exclusively; a deleter takes it shared
//!   only for the moment of entering. Once a backup holds it, no deletion can start.
//! - `.deleting.lock`: a deleter holds it shared while it deletes; the backup then
//!   takes it exclusively, which waits for the deletions already under way (each one
//!   unlink) and no longer.
//!
//! With the gate, a stream of overlapping deletions cannot starve a backup (a shared
//! `flock` is granted while an exclusive one waits). Neither name is a valid key (a
//! segment cannot start with `.`), so no blob can collide with them and listing skips
//! them. The locks are released by the OS when their holder exits, however it exits.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::Path;
use std::time::Duration;

const GATE: &str = ".backup-gate.lock";
const DELETING: &str = ".deleting.lock";

/// How often a deleter held off by a backup tries again.
const RETRY_EVERY: Duration = Duration::from_millis(20);

/// While it lives, no blob of the local store under `root` is deleted, by this process
/// or any other. Dropping it lets the waiting deletions go on.
#[must_use = "deletions resume as soon as the hold is dropped"]
pub struct DeletionHold {
    _gate: File,
    _deleting: File,
}

impl std::fmt::Debug for DeletionHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeletionHold")
    }
}

impl DeletionHold {
    /// Holds off deletions in the local store whose root is `root` (the app's
    /// `<data_dir>/files`, created 0700 if missing). Blocking: waits for another
    /// backup's hold, then for the deletions already under way. Does not open the
    /// store (which would clear a running server's unfinished uploads).
    pub fn acquire(root: &Path) -> io::Result<DeletionHold> {
        storage::private_files::private_dir(root)?;
        let gate = open_lock(&root.join(GATE))?;
        gate.lock()?;
        let deleting = open_lock(&root.join(DELETING))?;
        deleting.lock()?;
        Ok(DeletionHold {
            _gate: gate,
            _deleting: deleting,
        })
    }
}

/// Held by one local delete while it removes its file.
pub(super) struct DeletePermit {
    _deleting: File,
}

/// Waits (without holding a thread) until no backup holds deletions, then returns a
/// permit that keeps any new backup from starting its snapshot until it is dropped.
/// Each call opens its own lock files: `flock`s belong to an open file, so permits
/// sharing one would release each other's.
pub(super) async fn delete_permit(root: &Path) -> io::Result<DeletePermit> {
    let (gate_path, deleting_path) = (root.join(GATE), root.join(DELETING));
    loop {
        if let Some(permit) = try_permit(&gate_path, &deleting_path)? {
            return Ok(permit);
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

fn try_permit(gate_path: &Path, deleting_path: &Path) -> io::Result<Option<DeletePermit>> {
    let gate = open_lock(gate_path)?;
    if !try_shared(&gate)? {
        return Ok(None);
    }
    // A backup holds `.deleting.lock` only while it holds the gate, which it cannot
    // while this shared gate lock is held: this does not wait (WouldBlock is a
    // retry all the same).
    let deleting = open_lock(deleting_path)?;
    if !try_shared(&deleting)? {
        return Ok(None);
    }
    drop(gate);
    Ok(Some(DeletePermit {
        _deleting: deleting,
    }))
}

fn try_shared(file: &File) -> io::Result<bool> {
    match file.try_lock_shared() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(err)) => Err(err),
    }
}

fn open_lock(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, storage::private_files::FILE_MODE);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hold_keeps_deletions_waiting_until_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let hold = DeletionHold::acquire(&root).unwrap();
        let waiting = tokio::spawn({
            let root = root.clone();
            async move { delete_permit(&root).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(!waiting.is_finished(), "a delete got a permit under a hold");
        drop(hold);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the delete goes on once the hold is dropped")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn a_hold_waits_for_the_deletion_under_way() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let permit = delete_permit(&root).await.unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let backup = std::thread::spawn({
            let root = root.clone();
            move || {
                let hold = DeletionHold::acquire(&root).unwrap();
                tx.send(()).unwrap();
                drop(hold);
            }
        });
        assert!(rx.recv_timeout(Duration::from_millis(150)).is_err());
        // A new deletion cannot start while the backup waits at the gate.
        assert!(try_permit(&root.join(GATE), &root.join(DELETING))
            .unwrap()
            .is_none());
        drop(permit);
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        backup.join().unwrap();
    }
}
