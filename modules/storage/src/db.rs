//! `Db`: the handle the app builds once and passes down. It ties the writer thread, the
//! reader pool and the file together, and owns their order of start-up and shutdown.

use crate::backup::backup_file;
use crate::config::StorageConfig;
use crate::connection::open_writer;
use crate::error::StorageError;
use crate::migrations::{self, Migration};
use crate::readers::Readers;
use crate::writer::{Writer, WriterStats};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    readers: Readers,
    writer: Writer,
}

impl Db {
    /// Opens (creating the file and its directory if needed), sets pragmas, applies
    /// pending migrations, opens the reader pool and starts the writer thread.
    ///
    /// Blocks on file I/O and migrations; call it at start-up, or from
    /// `spawn_blocking` inside a running server.
    pub fn open(config: StorageConfig, migrations: &[Migration]) -> Result<Db, StorageError> {
        let mut conn = open_writer(&config)?;
        migrations::apply(&mut conn, migrations)?;
        // Readers after migrations, so none of them caches a schema about to change.
        let fail_stop = Arc::default();
        let readers = Readers::open(&config, Arc::clone(&fail_stop))?;
        let writer = Writer::start(conn, &config, fail_stop)?;
        tracing::info!(
            path = %config.path.display(),
            readers = readers.size(),
            max_batch = config.effective_max_batch(),
            "database open"
        );
        Ok(Db {
            inner: Arc::new(Inner {
                path: config.path,
                readers,
                writer,
            }),
        })
    }

    pub fn readers(&self) -> &Readers {
        &self.inner.readers
    }

    pub fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    /// `self.readers().run(f)`.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        self.inner.readers.run(f).await
    }

    /// `self.writer().run(f)`.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        self.inner.writer.run(f).await
    }

    /// `self.writer().run_one_statement(f)`.
    pub async fn write_one_statement<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        self.inner.writer.run_one_statement(f).await
    }

    /// Proves the database is writable now (disk not full, file not read-only, writer
    /// thread alive) by rewriting the one heartbeat row through the writer.
    pub async fn check_writable(&self) -> Result<(), StorageError> {
        self.write(|conn| {
            conn.execute(
                "INSERT INTO _hearth_health (id, checked_at) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                [kernel::clock::now()],
            )?;
            Ok(())
        })
        .await
    }

    /// Online, consistent copy while serving (see `backup_file`), on a blocking thread.
    /// Refuses if `out` exists.
    pub async fn backup_to(&self, out: &Path) -> Result<(), StorageError> {
        let (db_path, out) = (self.inner.path.clone(), out.to_path_buf());
        tokio::task::spawn_blocking(move || backup_file(&db_path, &out))
            .await
            .map_err(|err| StorageError::Panicked(err.to_string()))?
    }

    /// Stops accepting work, lets reads in flight and queued writes finish, checkpoints
    /// the WAL into the database file and closes every connection. Idempotent; later
    /// `read`/`write` calls get `StorageError::Closed`.
    pub async fn close(&self) -> Result<(), StorageError> {
        self.inner.writer.stop_accepting();
        // The writer thread starts its final TRUNCATE checkpoint as soon as its queue
        // is drained, concurrently with this (it waits up to half a second for read
        // transactions still open). Whichever connection closes last, often a reader,
        // removes the -wal file; after a failed sync none checkpoints (`fail_stop`).
        self.inner.readers.close().await;
        self.inner.writer.join().await
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn stats(&self) -> WriterStats {
        self.inner.writer.stats()
    }

    /// `self.writer().commits()`: changes after every commit that may have changed rows.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.writer.commits()
    }

    /// Registers the observer the writer thread and the reader pool report to (batch
    /// sizes and durations, reader waits). Only the first call has an effect; later
    /// ones return `false`.
    pub fn set_observer(&self, observer: Arc<dyn crate::StorageObserver>) -> bool {
        let readers = self.inner.readers.set_observer(Arc::clone(&observer));
        self.inner.writer.set_observer(observer) && readers
    }
}

/// Applies pending migrations to the file without starting anything (`hearth migrate`)
/// and returns the versions applied.
pub fn migrate_file(
    config: &StorageConfig,
    migrations: &[Migration],
) -> Result<Vec<u32>, StorageError> {
    let mut conn = open_writer(config)?;
    let applied = migrations::apply(&mut conn, migrations)?;
    conn.close().map_err(|(_, err)| StorageError::from(err))?;
    Ok(applied)
}
