//! Files only Hearth's own user may read: the database holds password hashes, token
//! digests and every record, and backups are copies of it. Directories Hearth creates
//! are 0700 and files 0600; ones found wider (created by an older version, or under a
//! loose umask) are narrowed when opened. SQLite gives `-wal` and `-shm` the mode of the
//! database file, so creating that one 0600 covers them too (existing ones are fixed
//! here as well). On other systems than Unix these are no-ops.

use std::io;
use std::path::Path;

/// Owner only.
pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Sets the process's umask to 077, so anything created later (by SQLite, or by code
/// that forgets) is private too. For the binary's start: it is process-wide.
pub fn restrict_umask() {
    #[cfg(unix)]
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates `dir` (and missing parents) 0700, or narrows an existing one to 0700.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)?;
        }
        narrow(dir, DIR_MODE)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Creates `path` empty with mode 0600 if it does not exist, else narrows it to 0600.
pub fn private_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(path)
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => narrow(path, FILE_MODE),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Narrows the database file and its companions (`-wal`, `-shm`, `-journal`) that exist.
pub fn narrow_database_files(db_path: &Path) -> io::Result<()> {
    let name = db_path.as_os_str();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut path = name.to_owned();
        path.push(suffix);
        let path = Path::new(&path);
        if path.exists() {
            narrow(path, FILE_MODE)?;
        }
    }
    Ok(())
}

/// Takes group and other bits away from `path` when it has any (`mode`: what it gets).
pub fn narrow(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let current = std::fs::metadata(path)?.permissions().mode();
        if current & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            tracing::info!(path = %path.display(), from = format!("{:o}", current & 0o777), to = format!("{mode:o}"), "narrowed permissions");
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_private_and_existing_ones_narrowed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("x.db");
        private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let wal = dir.join("x.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o664)).unwrap();
        private_dir(&dir).unwrap();
        narrow_database_files(&file).unwrap();
        assert_eq!((mode(&dir), mode(&file), mode(&wal)), (0o700, 0o600, 0o600));
        // Narrower than that stays as it is.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
        private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o400);
    }
}
