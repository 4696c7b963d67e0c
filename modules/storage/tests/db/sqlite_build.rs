//! The bundled SQLite is built with the options Hearth relies on (.cargo/config.toml's
//! LIBSQLITE3_FLAGS on top of libsqlite3-sys's own): if they silently fell away, this
//! fails instead of the server quietly changing behaviour.

use crate::common::{open, ITEMS};
use hearth_storage::rusqlite::Connection;
use hearth_storage::{Db, StorageError};

fn compile_options() -> Vec<String> {
    hearth_storage::prepare_sqlite();
    let conn = Connection::open_in_memory().unwrap();
    let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn sqlite_is_built_with_every_option_hearth_relies_on() {
    let options = compile_options();
    for wanted in [
        // Double-quoted text is always an identifier, never a string literal.
        "DQS=0",
        // No global mutex around every allocation for unused statistics.
        "DEFAULT_MEMSTATUS=0",
        // `file:` names are URIs (connection.rs opens plain paths knowing this).
        "USE_URI",
        "THREADSAFE=1",
    ] {
        assert!(
            options.iter().any(|o| o == wanted),
            "{wanted} missing from {options:?}"
        );
    }
    // One shared page-cache group behind one global mutex: must stay off.
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "{options:?}"
    );
}

/// With DQS on, `"b"` naming a column that is gone (a read racing a schema change that
/// dropped it) is taken as the string 'b': every row would read `b = 'b'`.
#[tokio::test(flavor = "multi_thread")]
async fn a_double_quoted_missing_column_is_an_error_not_a_string() {
    let dir = tempfile::tempdir().unwrap();
    let db: Db = open(&dir);
    assert!(!ITEMS.is_empty());
    db.write(|c| {
        c.execute("INSERT INTO items (id, title, n) VALUES ('x', 't', 1)", [])
            .map_err(StorageError::from)
    })
    .await
    .unwrap();
    let read = db
        .read(|c| {
            c.query_row("SELECT \"gone\" FROM items", [], |r| r.get::<_, String>(0))
                .map_err(StorageError::from)
        })
        .await;
    let err = read.expect_err("a missing column must not read as a string");
    assert!(err.to_string().contains("no such column"), "{err}");
    let filtered = db
        .read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM items WHERE \"gone\" = 'gone'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(StorageError::from)
        })
        .await;
    assert!(
        filtered.is_err(),
        "a filter on a missing column matched {filtered:?}"
    );
}
