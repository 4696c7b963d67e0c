//! What the triggers write: one row per row changed, in the change's transaction, with
//! a snapshot that decodes to exactly the values the table holds.

use crate::common::{count_changes, insert_item, memory, ITEM_COLUMNS};
use feed::{read_after, snapshot_values, ChangeKind};
use proptest::prelude::*;
use rusqlite::types::Value as Sql;
use rusqlite::{params, Connection};

/// The row as the table returns it (what GET renders), column by column.
fn row_values(conn: &Connection, id: &str) -> Vec<(String, Sql)> {
    let sql = format!(
        "SELECT {} FROM rec_items WHERE id = ?1",
        ITEM_COLUMNS.join(", ")
    );
    conn.query_row(&sql, [id], |r| {
        ITEM_COLUMNS
            .iter()
            .enumerate()
            .map(|(i, name)| Ok((name.to_string(), r.get::<_, Sql>(i)?)))
            .collect()
    })
    .unwrap()
}

/// Equal values, REALs compared bit for bit (== would take -0.0 for 0.0).
fn assert_same(snapshot: &[(String, Sql)], table: &[(String, Sql)]) {
    assert_eq!(snapshot.len(), table.len(), "{snapshot:?} vs {table:?}");
    for ((sn, sv), (tn, tv)) in snapshot.iter().zip(table) {
        assert_eq!(sn, tn);
        match (sv, tv) {
            (Sql::Real(a), Sql::Real(b)) => {
                assert_eq!(a.to_bits(), b.to_bits(), "{sn}: {a:e} vs {b:e}")
            }
            _ => assert_eq!(sv, tv, "{sn}"),
        }
    }
}

fn last_snapshot(conn: &Connection) -> Vec<(String, Sql)> {
    let data: String = conn
        .query_row(
            "SELECT data FROM changes ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    snapshot_values(&data).unwrap_or_else(|| panic!("undecodable snapshot {data}"))
}

/// Inserts, updates to the second values, deletes; each snapshot must equal the row.
fn round_trip(conn: &Connection, id: &str, first: (&Sql, &Sql, &Sql), second: (&Sql, &Sql, &Sql)) {
    conn.execute(
        "INSERT INTO rec_items (id, created_at, updated_at, t, i, n) VALUES (?1, 'c', 'u', ?2, ?3, ?4)",
        params![id, first.0, first.1, first.2],
    )
    .unwrap();
    let created = row_values(conn, id);
    assert_same(&last_snapshot(conn), &created);
    conn.execute(
        "UPDATE rec_items SET t = ?2, i = ?3, n = ?4, version = version + 1 WHERE id = ?1",
        params![id, second.0, second.1, second.2],
    )
    .unwrap();
    let updated = row_values(conn, id);
    assert_same(&last_snapshot(conn), &updated);
    conn.execute("DELETE FROM rec_items WHERE id = ?1", [id])
        .unwrap();
    // The deleted row's snapshot is the record before the delete.
    assert_same(&last_snapshot(conn), &updated);
}

#[test]
fn awkward_values_round_trip_exactly() {
    let conn = memory();
    let reals = [
        0.1 + 0.2,
        1e300,
        -1e300,
        -0.0,
        0.0,
        5e-324,
        -2.2250738585072014e-308,
        f64::MAX,
        f64::MIN_POSITIVE,
        123456789012345678.0,
        2.0,
        1.0 / 3.0,
    ];
    let texts = [
        "",
        "quote \" apostrophe ' backslash \\ newline \n tab \t cr \r",
        "emoji 😀 é \u{1} \u{7f} \u{2028}",
        "{\"looks\": [\"like\", \"json\"]}",
        "12",
        "null",
    ];
    let ints = [0, -1, i64::MAX, i64::MIN, 9007199254740993];
    let mut n = 0;
    for (k, real) in reals.iter().enumerate() {
        let (t, i) = (texts[k % texts.len()], ints[k % ints.len()]);
        let first = (&Sql::Text(t.into()), &Sql::Integer(i), &Sql::Real(*real));
        let second = (&Sql::Null, &Sql::Null, &Sql::Null);
        round_trip(&conn, &format!("r{k}"), first, second);
        round_trip(&conn, &format!("s{k}"), second, first);
        n += 2;
    }
    // Infinity: JSON cannot hold it; GET shows null, and so does the snapshot.
    conn.execute(
        "INSERT INTO rec_items (id, created_at, updated_at, n) VALUES ('inf', 'c', 'u', 9e999)",
        [],
    )
    .unwrap();
    let snapshot = last_snapshot(&conn);
    assert_eq!(snapshot[7], ("n".to_string(), Sql::Null));
    assert_eq!(count_changes(&conn), n * 3 + 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any double (by its bits), integer and text survives the trigger exactly.
    #[test]
    fn any_values_round_trip_exactly(
        rows in proptest::collection::vec((any::<u64>(), any::<i64>(), any::<String>()), 1..40)
    ) {
        let conn = memory();
        for (k, (bits, i, t)) in rows.iter().enumerate() {
            let real = f64::from_bits(*bits);
            // NaN is stored as NULL; infinities are covered above.
            let real = if real.is_finite() { Sql::Real(real) } else { Sql::Null };
            let first = (&Sql::Text(t.clone()), &Sql::Integer(*i), &real);
            let other = f64::from_bits(bits.rotate_left(17));
            let other = if other.is_finite() { Sql::Real(other) } else { Sql::Null };
            round_trip(&conn, &format!("p{k}"), first, (&Sql::Null, &Sql::Integer(i.wrapping_neg()), &other));
        }
    }
}

#[test]
fn each_change_appends_one_row_with_its_kind_owner_and_record() {
    let conn = memory();
    conn.execute_batch("INSERT INTO users VALUES ('u1'), ('u2')")
        .unwrap();
    conn.execute(
        "INSERT INTO rec_items (id, created_at, updated_at, owner, t) VALUES ('a', 'c', 'u', 'u1', 'one')",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE rec_items SET owner = 'u2', t = 'two' WHERE id = 'a'",
        [],
    )
    .unwrap();
    conn.execute("DELETE FROM rec_items WHERE id = 'a'", [])
        .unwrap();
    let changes = read_after(&conn, 0, 10).unwrap();
    let summary: Vec<_> = changes
        .iter()
        .map(|c| {
            (
                c.collection.as_str(),
                c.record_id.as_deref(),
                c.kind,
                c.owner.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("items", Some("a"), ChangeKind::Created, Some("u1")),
            ("items", Some("a"), ChangeKind::Updated, Some("u2")),
            // A delete names the owner the record had.
            ("items", Some("a"), ChangeKind::Deleted, Some("u2")),
        ]
    );
    let texts: Vec<Sql> = changes
        .iter()
        .map(|c| {
            snapshot_values(c.data.as_deref().unwrap()).unwrap()[5]
                .1
                .clone()
        })
        .collect();
    assert_eq!(
        texts,
        [
            Sql::Text("one".into()),
            Sql::Text("two".into()),
            Sql::Text("two".into())
        ]
    );
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    for c in &changes {
        assert_eq!(c.at.len(), "2026-01-01T00:00:00.000Z".len(), "{}", c.at);
        assert!(c.at.ends_with('Z'));
    }
    // A cascade is a change too: deleting the user clears the owner of its records.
    conn.execute(
        "INSERT INTO rec_items (id, created_at, updated_at, owner) VALUES ('b', 'c', 'u', 'u1')",
        [],
    )
    .unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON; DELETE FROM users WHERE id = 'u1'")
        .unwrap();
    let last = read_after(&conn, changes[2].seq + 1, 10).unwrap();
    assert_eq!(last.len(), 1, "{last:?}");
    assert_eq!(
        (last[0].kind, last[0].owner.as_deref()),
        (ChangeKind::Updated, None)
    );
}

#[test]
fn a_rolled_back_change_leaves_no_row_and_its_seq_is_given_again() {
    let conn = memory();
    insert_item(&conn, "kept").unwrap();
    conn.execute_batch("BEGIN; INSERT INTO rec_items (id, created_at, updated_at) VALUES ('gone', 'c', 'u'); ROLLBACK;")
        .unwrap();
    // A failing statement (primary key) is undone with its trigger's row.
    assert!(insert_item(&conn, "kept").is_err());
    assert_eq!(count_changes(&conn), 1);
    insert_item(&conn, "next").unwrap();
    let seqs: Vec<i64> = read_after(&conn, 0, 10)
        .unwrap()
        .iter()
        .map(|c| c.seq)
        .collect();
    assert_eq!(seqs, [1, 2], "no seq was taken by the rolled back rows");
}

#[test]
fn triggers_are_dropped_by_name_and_recreated_without_clashing() {
    let conn = memory();
    let triggers = |conn: &Connection| -> Vec<String> {
        conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut names = feed::trigger_names("rec_items");
    names.sort();
    assert_eq!(triggers(&conn), names);
    assert_eq!(
        names,
        [
            "rec_items__feed_created",
            "rec_items__feed_deleted",
            "rec_items__feed_updated"
        ]
    );
    for sql in feed::drop_triggers_sql("rec_items") {
        conn.execute_batch(&sql).unwrap();
    }
    assert!(triggers(&conn).is_empty());
    insert_item(&conn, "quiet").unwrap();
    assert_eq!(count_changes(&conn), 0, "no triggers, no feed rows");
    // Dropping again is harmless (IF EXISTS); creating again works.
    for sql in feed::drop_triggers_sql("rec_items") {
        conn.execute_batch(&sql).unwrap();
    }
    crate::common::install_triggers(&conn);
    assert_eq!(triggers(&conn).len(), 3);
    // A table whose name needs quoting, and a collection name with a quote in it.
    conn.execute_batch("CREATE TABLE \"odd \"\"t\" (id TEXT PRIMARY KEY, v REAL) STRICT")
        .unwrap();
    for sql in feed::trigger_sql("odd \"t", "it's", &["id", "v"]) {
        conn.execute_batch(&sql).unwrap();
    }
    conn.execute("INSERT INTO \"odd \"\"t\" VALUES ('x', 0.5)", [])
        .unwrap();
    let last = read_after(&conn, 0, 10).unwrap().pop().unwrap();
    assert_eq!((last.collection.as_str(), last.owner), ("it's", None));
    assert_eq!(last.data.as_deref(), Some("{\"id\":\"x\",\"v\":0.5}"));
}
