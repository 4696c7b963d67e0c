//! The page-cache wrapper (src/page_cache.rs) in a test process of its own, so that it
//! is installed before SQLite starts: heavy b-tree churn (random index keys, deletes
//! that free pages for reuse, rolled-back growth) leaves the database intact and the
//! writer's cache in agreement with it, while end-of-transaction truncates that could
//! drop nothing are skipped.

use hearth_storage::rusqlite::params;
use hearth_storage::{page_cache_truncates_skipped, Db, Migration, StorageConfig, StorageError};
use std::collections::BTreeMap;

const CHURN: &[Migration] = &[Migration {
    version: 1,
    name: "churn",
    sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, v TEXT NOT NULL);
          CREATE INDEX t_k ON t(k);",
}];

/// A fixed xorshift sequence: the same churn on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

type Rows = BTreeMap<i64, (i64, String)>;

async fn all_rows_as_the_writer_sees_them(db: &Db) -> (String, Rows) {
    db.write(|c| {
        let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        let mut stmt = c.prepare("SELECT id, k, v FROM t ORDER BY id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
            .collect::<Result<Rows, _>>()?;
        Ok::<_, StorageError>((check, rows))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn random_index_churn_with_rollbacks_stays_intact_and_skips_needless_truncates() {
    let dir = tempfile::tempdir().unwrap();
    let config = StorageConfig {
        // A small cache, so pages are also evicted and fetched again.
        cache_size_kib: 256,
        ..StorageConfig::new(dir.path().join("churn.db"))
    };
    let db = Db::open(config, CHURN).unwrap();
    assert!(
        page_cache_truncates_skipped().is_some(),
        "the wrapper is installed before SQLite starts"
    );
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut expected = Rows::new();
    for round in 0..40_i64 {
        let rows: Vec<(i64, i64, String)> = (0..150)
            .map(|i| {
                let k = (rng.next() % 100_000) as i64;
                let v = "v".repeat((rng.next() % 400) as usize);
                (round * 1_000 + i, k, v)
            })
            .collect();
        expected.extend(rows.iter().map(|(id, k, v)| (*id, (*k, v.clone()))));
        db.write(move |c| {
            for (id, k, v) in &rows {
                c.execute("INSERT INTO t VALUES (?1, ?2, ?3)", params![id, k, v])?;
            }
            Ok::<_, StorageError>(())
        })
        .await
        .unwrap();

        // Deletes free pages, which later inserts reuse out of order.
        let victims: Vec<i64> = expected
            .keys()
            .copied()
            .filter(|_| rng.next().is_multiple_of(3))
            .collect();
        for id in &victims {
            expected.remove(id);
        }
        db.write(move |c| {
            for id in &victims {
                c.execute("DELETE FROM t WHERE id = ?1", [id])?;
            }
            Ok::<_, StorageError>(())
        })
        .await
        .unwrap();

        // Growth that is rolled back: the cache must really drop the pages past the end.
        let grown = db
            .write(move |c| {
                for i in 0..200_i64 {
                    c.execute(
                        "INSERT INTO t VALUES (?1, ?2, ?3)",
                        params![10_000_000 + round * 1_000 + i, i, "g".repeat(900)],
                    )?;
                }
                Err::<(), _>(StorageError::Corrupt("deliberate".into()))
            })
            .await;
        assert!(grown.is_err());
    }
    let (check, rows) = all_rows_as_the_writer_sees_them(&db).await;
    assert_eq!(check, "ok");
    assert_eq!(rows.len(), expected.len());
    assert!(
        rows == expected,
        "the writer's view differs from what was written"
    );
    let from_a_reader: i64 = db
        .read(|c| {
            c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                .map_err(StorageError::from)
        })
        .await
        .unwrap();
    assert_eq!(from_a_reader as usize, expected.len());
    assert!(page_cache_truncates_skipped().unwrap() > 0);
    db.close().await.unwrap();
}
