//! Fail-stop after a failed sync. When fsync reports an error, the kernel may already
//! have dropped the pages it could not write and marked them clean, so a later fsync
//! that succeeds proves nothing about them ("fsyncgate"). Retrying would acknowledge
//! writes built on data the disk may not have, and a checkpoint could then empty the
//! WAL, the one intact copy. So the first failed sync (of a commit, of a checkpoint)
//! stops every write for the life of the process: jobs are refused with
//! `StorageError::FailStopped` (503, and /readyz not ready, since its probe is a
//! write), the shutdown checkpoint is skipped, and reads go on. A restart reopens the
//! database and SQLite's recovery reads the WAL afresh.

use crate::error::StorageError;
use rusqlite::ffi;
use std::sync::OnceLock;

/// Set once, by the first failed sync; never cleared.
#[derive(Default)]
pub(crate) struct FailStop {
    reason: OnceLock<String>,
}

impl FailStop {
    /// Why writes stopped, if they did.
    pub(crate) fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }

    /// The error every write gets from now on, if writes stopped.
    pub(crate) fn refusal(&self) -> Option<StorageError> {
        self.reason()
            .map(|r| StorageError::FailStopped(r.to_string()))
    }

    /// Before `conn` closes: after a failed sync, SQLite's own checkpoint when the last
    /// connection closes must not run either (whichever connection that is: the
    /// writer, a reader or the checkpoint thread's).
    pub(crate) fn before_close(&self, conn: &rusqlite::Connection) {
        if self.reason().is_none() {
            return;
        }
        let no_checkpoint = rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE;
        if let Err(err) = conn.set_db_config(no_checkpoint, true) {
            tracing::error!(error = %err, "could not stop SQLite's checkpoint on close");
        }
    }

    /// Stops writes if `err` is a failed sync (returns whether it is); `during` says
    /// what was syncing, for the log and the error.
    pub(crate) fn check(&self, err: &rusqlite::Error, during: &str) -> bool {
        if !is_sync_failure(err) {
            return false;
        }
        self.stop(format!("{during}: {err}"));
        true
    }

    /// Stops writes for good, with `reason` for the log and the error.
    pub(crate) fn stop(&self, reason: String) {
        if self.reason.set(reason).is_ok() {
            tracing::error!(
                reason = self.reason().unwrap_or_default(),
                "an fsync of the database failed; refusing every write from now on (restart after checking the disk)"
            );
        }
    }
}

/// SQLite's codes for a failed fsync of a file or of its directory. A full disk
/// (SQLITE_FULL) is not one: nothing was acknowledged, and writes recover once
/// space returns.
pub(crate) fn is_sync_failure(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(code, _)
            if code.extended_code == ffi::SQLITE_IOERR_FSYNC
                || code.extended_code == ffi::SQLITE_IOERR_DIR_FSYNC
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::os::raw::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn only_a_failed_sync_stops_writes_and_the_first_reason_is_kept() {
        let stop = FailStop::default();
        assert!(!stop.check(&failure(ffi::SQLITE_FULL), "commit"));
        assert!(!stop.check(&failure(ffi::SQLITE_IOERR_WRITE), "commit"));
        assert!(stop.refusal().is_none());
        assert!(stop.check(&failure(ffi::SQLITE_IOERR_FSYNC), "commit"));
        assert!(stop.check(&failure(ffi::SQLITE_IOERR_DIR_FSYNC), "checkpoint"));
        assert!(stop.reason().unwrap().starts_with("commit"));
        assert!(matches!(stop.refusal(), Some(StorageError::FailStopped(_))));
    }
}
