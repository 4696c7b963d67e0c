//! Exclusive jobs: alone on the writer thread, outside any transaction.

use hearth_storage::{Db, StorageConfig, StorageError};

#[tokio::test(flavor = "multi_thread")]
async fn exclusive_jobs_run_outside_transactions_and_restore_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(StorageConfig::new(dir.path().join("x.db")), &[]).unwrap();
    db.write(|c| {
        c.execute_batch("CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE ch(p INTEGER REFERENCES p(id) ON DELETE CASCADE); INSERT INTO p VALUES (1); INSERT INTO ch VALUES (1);")
            .map_err(StorageError::from)
    })
    .await
    .unwrap();
    // Rebuild the parent table with foreign keys off: the child row must survive.
    let autocommit = db
        .writer()
        .run_exclusive(|c| {
            let was_autocommit = c.is_autocommit();
            c.execute_batch(
                "PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE;
                 CREATE TABLE p_new(id INTEGER PRIMARY KEY, extra TEXT);
                 INSERT INTO p_new(id) SELECT id FROM p; DROP TABLE p; ALTER TABLE p_new RENAME TO p;
                 COMMIT;",
            )?;
            Ok::<_, StorageError>(was_autocommit)
        })
        .await
        .unwrap();
    assert!(autocommit, "exclusive jobs start outside any transaction");
    let (children, fk): (i64, i64) = db
        .write(|c| {
            let n = c.query_row("SELECT count(*) FROM ch", [], |r| r.get(0))?;
            let fk = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            Ok::<_, StorageError>((n, fk))
        })
        .await
        .unwrap();
    assert_eq!(children, 1, "no cascade happened");
    assert_eq!(fk, 1, "foreign keys are back on for batched jobs");
    // A job that leaves a transaction open is rolled back and told so (not "done"),
    // and the writer carries on.
    let left_open = db
        .writer()
        .run_exclusive(|c| {
            c.execute_batch("BEGIN; INSERT INTO p(id) VALUES (2);")
                .map_err(StorageError::from)
        })
        .await;
    let err = left_open.expect_err("a rolled-back job must not be reported as committed");
    assert!(
        err.to_string().contains("left its transaction open"),
        "{err}"
    );
    let n: i64 = db
        .read(|c| {
            c.query_row("SELECT count(*) FROM p", [], |r| r.get(0))
                .map_err(StorageError::from)
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    db.close().await.unwrap();
}
