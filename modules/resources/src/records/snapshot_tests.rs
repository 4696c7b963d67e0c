//! A snapshot renders byte for byte as GET renders the record: for every field type,
//! for awkward values, for deletes, and after the definition changed under it.

use super::record_from_snapshot;
use crate::collections::migrate;
use crate::ddl;
use crate::registry::Collection;
use crate::repo::records;
use crate::rules::Access;
use crate::schema::{CollectionDef, CollectionSpec};
use rusqlite::Connection;
use serde_json::{json, Value};

/// When the test collections were created: no later than their records.
const CREATED: &str = "2026-01-01T00:00:00.000Z";

const FEED_SQL: &str = include_str!("../../../../migrations/0009_change_feed.sql");
/// The queue the file fields' triggers write to.
const FILES_SQL: &str = include_str!("../../../../migrations/0010_file_deletions.sql");

/// `def`'s table with its feed triggers, in a fresh in-memory database with user `u1`.
fn database(def: &CollectionDef) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE users (id TEXT PRIMARY KEY); INSERT INTO users VALUES ('u1');",
    )
    .unwrap();
    conn.execute_batch(FEED_SQL).unwrap();
    conn.execute_batch(FILES_SQL).unwrap();
    conn.execute_batch(&ddl::create_table(def, &def.table()))
        .unwrap();
    ddl::install_feed_triggers(&conn, def).unwrap();
    conn
}

/// Every snapshot the feed holds, oldest first.
fn snapshots(conn: &Connection) -> Vec<(String, String)> {
    feed::read_after(conn, 0, 10_000)
        .unwrap()
        .into_iter()
        .map(|c| (c.record_id.unwrap(), c.data.unwrap()))
        .collect()
}

/// GET's body and record map for `id`.
fn get(conn: &Connection, col: &Collection, id: &str) -> (Vec<u8>, serde_json::Map<String, Value>) {
    let (_, bytes) = records::get_json(conn, col, id, &Access::All)
        .unwrap()
        .unwrap();
    let map = records::get(conn, col, id, &Access::All)
        .unwrap()
        .unwrap()
        .json;
    (bytes, map)
}

fn assert_renders_as_get(
    col: &Collection,
    data: &str,
    get: &(Vec<u8>, serde_json::Map<String, Value>),
) {
    let (map, bytes) = record_from_snapshot(col, data).unwrap_or_else(|| panic!("{data}"));
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        String::from_utf8(get.0.clone()).unwrap(),
        "snapshot {data}"
    );
    assert_eq!(map, get.1, "snapshot {data}");
}

const ROWS: &str = "INSERT INTO rec_all (id, created_at, updated_at, version, owner, t, i, n, b, dt, d, e, u, en, j, r, f, fs)
     VALUES ('a', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 1, NULL,
             NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            ('b', '2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z', 7, 'u1',
             'quote \" back \\ tab 	 é 😀 ' || char(1) || char(10), -42, 0.1 + 0.2, 1,
             '2026-01-02T03:04:05.678Z', '2026-01-02', 'a@example.org', 'https://x.test/?q=\"1\"',
             'b', '{\"k\":[1,2.5,null,true,1e300],\"o\":{\"x\":\"y\"}}', 'a',
             'cat_a1b2c3d4e5.png', '[\"one.png\",\"two é.pdf\"]'),
            ('c', '2026-01-03T00:00:00.000Z', '2026-01-03T00:00:00.000Z', 2, NULL,
             '', 9223372036854775807, -1e300, 0, NULL, NULL, NULL, NULL, 'a', '\"s\"', NULL, NULL, '[]'),
            ('d', '2026-01-04T00:00:00.000Z', '2026-01-04T00:00:00.000Z', 3, NULL,
             'null', -9223372036854775808, 5e-324, 0, NULL, NULL, NULL, NULL, NULL, '[]', 'c', NULL, NULL);";

#[test]
fn every_field_type_renders_exactly_as_get() {
    let def = crate::fields::every_type_def();
    let conn = database(&def);
    let col = Collection::new(def.clone(), 1, CREATED.into(), CREATED.into());
    conn.execute_batch(ROWS).unwrap();
    conn.execute_batch(
        "UPDATE rec_all SET n = 1.0 / 3.0, version = version + 1, t = 'changed' WHERE id = 'b'",
    )
    .unwrap();
    let all = snapshots(&conn);
    assert_eq!(all.len(), 5);
    // Created and updated rows: the snapshot is the row as it is now (each id's latest).
    for (id, data) in all.iter().filter(|(id, _)| id != "b").chain(all.last()) {
        assert_renders_as_get(&col, data, &get(&conn, &col, id));
    }
    // Deleted: the snapshot is the row as it was; compare with GET just before.
    let before: Vec<_> = ["a", "b", "c", "d"]
        .iter()
        .map(|id| get(&conn, &col, id))
        .collect();
    // Referencing records first (relations restrict deletes).
    conn.execute_batch(
        "DELETE FROM rec_all WHERE id = 'b'; DELETE FROM rec_all WHERE id = 'd'; DELETE FROM rec_all;",
    )
    .unwrap();
    let deleted = &snapshots(&conn)[5..];
    assert_eq!(deleted.len(), 4);
    for (id, data) in deleted {
        let k = ["a", "b", "c", "d"].iter().position(|x| x == id).unwrap();
        assert_renders_as_get(&col, data, &before[k]);
    }
    // A record older than the collection belonged to an earlier one of the same name.
    let recreated = Collection::new(def, 1, "2026-01-02T00:00:00.000Z".into(), "x".into());
    let first = &snapshots(&conn)[0].1;
    assert!(first.contains("\"created_at\":\"2026-01-01T00:00:00.000Z\""));
    assert!(record_from_snapshot(&recreated, first).is_none());
    assert!(record_from_snapshot(&col, first).is_some());
    // Not record snapshots.
    assert!(record_from_snapshot(&col, "{\"change\":\"created\"}").is_none());
    assert!(record_from_snapshot(&col, "not json").is_none());
}

fn def_of(spec: Value) -> (CollectionSpec, CollectionDef) {
    let spec: CollectionSpec = serde_json::from_value(spec).unwrap();
    let def = spec.to_def().unwrap();
    (spec, def)
}

/// A snapshot taken before a migration renders as GET renders the migrated record:
/// fields added since show what the migration stored (the default, else null), fields
/// dropped are gone, converted fields follow. (A renamed field is not followed: the
/// definition does not remember its old name, so old snapshots show it as null.)
#[test]
fn old_snapshots_render_with_the_current_definition() {
    let (_, old_def) = def_of(json!({"name": "m", "fields": [
        {"name": "keep", "type": "text"},
        {"name": "gone", "type": "text"},
        {"name": "count", "type": "integer"},
        {"name": "score", "type": "integer"},
        {"name": "flag", "type": "boolean"}]}));
    let conn = database(&old_def);
    conn.execute_batch(
        "INSERT INTO rec_m (id, created_at, updated_at, keep, gone, count, score, flag)
         VALUES ('x', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'k', 'g', 5, 7, 1),
                ('y', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', NULL, NULL, NULL, NULL, NULL)",
    )
    .unwrap();
    let old = Collection::new(old_def.clone(), 1, CREATED.into(), CREATED.into());
    let (new_spec, new_def) = def_of(json!({"name": "m", "fields": [
        {"name": "keep", "type": "text"},
        {"name": "count", "type": "number"},
        {"name": "score", "type": "text"},
        {"name": "flag", "type": "boolean"},
        {"name": "with_default", "type": "integer", "default": 3},
        {"name": "plain", "type": "date"}]}));
    let mapping = migrate::map_fields(&old_def, &new_spec.fields).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    migrate::rebuild(&conn, &old, &new_def, &mapping).unwrap();
    let new = Collection::new(
        new_def,
        2,
        CREATED.into(),
        "2026-02-01T00:00:00.000Z".into(),
    );
    let taken_before = snapshots(&conn);
    assert_eq!(taken_before.len(), 2, "the rebuild's copy appends nothing");
    for (id, data) in &taken_before {
        let get = get(&conn, &new, id);
        assert_renders_as_get(&new, data, &get);
    }
    let (map, _) = record_from_snapshot(&new, &taken_before[0].1).unwrap();
    assert_eq!(map["with_default"], 3);
    assert_eq!(map["count"], 5.0);
    assert_eq!(map["score"], "7");
    assert!(!map.contains_key("gone"));
    // The rebuilt table feeds again, with its new columns.
    conn.execute_batch("UPDATE rec_m SET plain = '2026-05-06', version = 2 WHERE id = 'x'")
        .unwrap();
    let (id, data) = snapshots(&conn).pop().unwrap();
    assert_renders_as_get(&new, &data, &get(&conn, &new, &id));
    assert!(data.contains("\"plain\":\"2026-05-06\""), "{data}");
}
