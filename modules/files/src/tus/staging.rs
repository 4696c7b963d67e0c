//! The staged bytes of unfinished and not yet attached uploads: one file per upload,
//! `<data_dir>/uploads/<id>`, on the local disk whatever the blob store is.
//!
//! Why local even with S3: a tus upload grows by appending chunks at offsets, and S3
//! objects cannot be appended to (multipart parts must be at least 5 MiB and the
//! upload only exists once completed), so a chunk of a few KiB, an interrupted PATCH
//! and a HEAD that must report every acknowledged byte all need a file. The finished
//! file is streamed into the store once, by `Uploads::take`.

use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub(crate) struct Staging {
    dir: PathBuf,
}

impl Staging {
    /// The directory, made private (0700) if missing. Blocking: call at start-up.
    pub fn open(dir: PathBuf) -> io::Result<Staging> {
        std::fs::create_dir_all(&dir)?;
        storage::private_files::private_dir(&dir)?;
        Ok(Staging { dir })
    }

    /// `id` is a UUID (checked by every caller before it gets here), so it names a
    /// file in the directory and nothing else.
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// A new empty file for `id`, durable (the directory is fsynced).
    pub async fn create(&self, id: &str) -> io::Result<()> {
        let path = self.path(id);
        let dir = self.dir.clone();
        blocking(move || {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(storage::private_files::FILE_MODE);
            }
            options.open(&path)?.sync_all()?;
            sync_dir(&dir)
        })
        .await
    }

    /// Makes the file hold exactly the acknowledged bytes, `0..offset` if it can, and
    /// returns how many it holds: bytes past `offset` (written by a PATCH whose
    /// offset never committed) are cut off; a missing file is made again (empty).
    /// Less than `offset` only if the disk lost acknowledged bytes.
    pub async fn reconcile(&self, id: &str, offset: u64) -> io::Result<u64> {
        let path = self.path(id);
        blocking(move || {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            let len = file.metadata()?.len();
            if len > offset {
                file.set_len(offset)?;
                file.sync_all()?;
                return Ok(offset);
            }
            Ok(len)
        })
        .await
    }

    /// Opens the file for writing at `offset`.
    pub async fn open_at(&self, id: &str, offset: u64) -> io::Result<tokio::fs::File> {
        use tokio::io::AsyncSeekExt;
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(self.path(id))
            .await?;
        file.seek(io::SeekFrom::Start(offset)).await?;
        Ok(file)
    }

    pub async fn open_read(&self, id: &str) -> io::Result<tokio::fs::File> {
        tokio::fs::File::open(self.path(id)).await
    }

    /// Removes the file; a missing one is fine.
    pub async fn remove(&self, id: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(id)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// SHA-256 of the whole file, lowercase hex (read 1 MiB at a time).
    pub async fn sha256_hex(&self, id: &str) -> io::Result<String> {
        let path = self.path(id);
        blocking(move || {
            let mut file = std::fs::File::open(path)?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    return Ok(hex(&hasher.finalize()));
                }
                hasher.update(&buf[..n]);
            }
        })
        .await
    }

    /// The names of the files there (for the sweep of files without a row).
    pub async fn names(&self) -> io::Result<Vec<String>> {
        let dir = self.dir.clone();
        blocking(move || {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(dir)? {
                if let Some(name) = entry?.file_name().to_str() {
                    names.push(name.to_owned());
                }
            }
            Ok(names)
        })
        .await
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    out
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e.to_string())))
}
