//! Helpers shared by the storage tests.

use hearth_storage::rusqlite::{params, Connection};
use hearth_storage::{ConstraintKind, Db, Migration, StorageConfig, StorageError};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::task::JoinHandle;

pub const ITEMS: &[Migration] = &[Migration {
    version: 1,
    name: "items",
    sql: "CREATE TABLE items (id TEXT PRIMARY KEY, title TEXT NOT NULL, n INTEGER NOT NULL);",
}];

/// An error type of the caller's own, as modules will have: storage only needs
/// `From<StorageError>`.
#[derive(Debug)]
pub enum TestError {
    Storage(StorageError),
    Deliberate,
}

impl From<StorageError> for TestError {
    fn from(err: StorageError) -> Self {
        TestError::Storage(err)
    }
}

pub fn config(dir: &TempDir) -> StorageConfig {
    StorageConfig::new(dir.path().join("data/hearth.db"))
}

pub fn open(dir: &TempDir) -> Db {
    Db::open(config(dir), ITEMS).unwrap()
}

pub fn insert(conn: &Connection, id: &str) -> Result<(), StorageError> {
    conn.execute(
        "INSERT INTO items (id, title, n) VALUES (?1, ?2, 1)",
        params![id, format!("title {id}")],
    )?;
    Ok(())
}

/// Whether `result` is a constraint failure of `expected` kind.
pub fn is_constraint(result: &Result<(), TestError>, expected: ConstraintKind) -> bool {
    matches!(result, Err(TestError::Storage(StorageError::Constraint { kind, .. })) if *kind == expected)
}

/// Adds `kids`, whose foreign key to `parents` is checked only at COMMIT.
pub async fn create_deferred_kids(db: &Db) {
    db.write(|c| {
        Ok::<_, StorageError>(c.execute_batch(
            "CREATE TABLE parents (id TEXT PRIMARY KEY);
             CREATE TABLE kids (parent TEXT REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED);",
        )?)
    })
    .await
    .unwrap();
}

/// A job that leaves a deferred foreign key dangling (see `create_deferred_kids`).
pub fn insert_dangling_kid(c: &Connection) -> Result<(), TestError> {
    c.execute("INSERT INTO kids VALUES ('nobody')", [])
        .map_err(StorageError::from)?;
    Ok(())
}

pub async fn write_item(db: &Db, id: impl Into<String>) -> Result<(), StorageError> {
    let id = id.into();
    db.write(move |c| insert(c, &id)).await
}

pub async fn count(db: &Db) -> i64 {
    db.read(|c| {
        c.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
            .map_err(StorageError::from)
    })
    .await
    .unwrap()
}

pub async fn exists(db: &Db, id: &str) -> bool {
    let id = id.to_string();
    let n: i64 = db
        .read(move |c| {
            c.query_row("SELECT COUNT(*) FROM items WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(StorageError::from)
        })
        .await
        .unwrap();
    n == 1
}

/// Polls `cond` (tests never assert on time; this only bounds a hang).
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Occupies the writer thread until `release`, so jobs submitted meanwhile queue up and
/// are committed together as one batch: batching becomes deterministic.
pub struct Gate {
    release: std::sync::mpsc::Sender<()>,
    task: JoinHandle<()>,
}

pub async fn hold_writer(db: &Db) -> Gate {
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let before = db.stats().jobs;
    let handle = db.clone();
    let task = tokio::spawn(async move {
        handle
            .write(move |_| {
                let _ = wait.recv();
                Ok::<_, StorageError>(())
            })
            .await
            .unwrap();
    });
    wait_until("the gate job runs", || db.stats().jobs > before).await;
    Gate { release, task }
}

impl Gate {
    pub async fn release(self) {
        self.release.send(()).unwrap();
        self.task.await.unwrap();
    }
}

pub type BoxedJob = Box<dyn FnOnce(&Connection) -> Result<(), TestError> + Send>;

/// How a test job is handed to the writer.
#[derive(Clone, Copy, Debug)]
pub enum How {
    /// `Db::write`: inside a savepoint of its own.
    Savepoint,
    /// `Db::write_one_statement`: no savepoint.
    OneStatement,
}

/// Submits jobs one after another, each queued before the next is sent, so their order
/// in the batch is the order given.
pub async fn submit_in_order(
    db: &Db,
    jobs: Vec<BoxedJob>,
) -> Vec<JoinHandle<Result<(), TestError>>> {
    submit_each_in_order(db, jobs.into_iter().map(|job| (How::Savepoint, job))).await
}

/// `submit_in_order`, each job submitted the way it says.
pub async fn submit_each_in_order(
    db: &Db,
    jobs: impl IntoIterator<Item = (How, BoxedJob)>,
) -> Vec<JoinHandle<Result<(), TestError>>> {
    let mut handles = Vec::new();
    for (how, job) in jobs {
        let depth = db.stats().queue_depth;
        let handle = db.clone();
        handles.push(tokio::spawn(async move {
            match how {
                How::Savepoint => handle.write(job).await,
                How::OneStatement => handle.write_one_statement(job).await,
            }
        }));
        wait_until("the job is queued", || db.stats().queue_depth > depth).await;
    }
    handles
}

/// Every task's result, in order.
pub async fn join_all<T>(tasks: Vec<JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}
