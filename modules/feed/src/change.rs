//! The `changes` table's rows, and the SQL that reads and appends them. Functions here
//! take a connection, so callers run them inside their own job (a schema change's
//! write job, a reader's read).

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Row};

/// What happened to the record (or, for `Schema`, to the collection's definition).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
    Schema,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 4] = [
        ChangeKind::Created,
        ChangeKind::Updated,
        ChangeKind::Deleted,
        ChangeKind::Schema,
    ];

    /// The stored (and published) name: `created`, `updated`, `deleted`, `schema`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Schema => "schema",
        }
    }

    pub fn parse(name: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One row of the feed.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Strictly increasing, never reused (see `migrations/0009_change_feed.sql`).
    pub seq: i64,
    pub collection: String,
    /// `None` for `Schema`.
    pub record_id: Option<String>,
    pub kind: ChangeKind,
    /// The record's owner (after the change; before it for a delete).
    pub owner: Option<String>,
    /// The JSON object text the trigger wrote: the record after the change for
    /// created/updated, before it for deleted (decode with `snapshot_values`); for
    /// `Schema` a JSON description of the definition change (see `append_schema`).
    pub data: Option<String>,
    /// When it was written: `YYYY-MM-DDTHH:MM:SS.sssZ`, UTC.
    pub at: String,
}

const COLUMNS: &str = "seq, collection, record_id, kind, owner, data, at";

/// Text read leniently: the feed must not stop at a row whose text is not UTF-8 (a
/// record table edited behind Hearth's back); such bytes become U+FFFD, as GET shows
/// them.
fn text(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    Ok(match row.get_ref(i)? {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Null => None,
        other => Some(format!("{other:?}")),
    })
}

fn change_from_row(row: &Row<'_>) -> rusqlite::Result<Change> {
    let kind: String = row.get(3)?;
    let kind = ChangeKind::parse(&kind).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown change kind {kind:?}").into(),
        )
    })?;
    Ok(Change {
        seq: row.get(0)?,
        collection: text(row, 1)?.unwrap_or_default(),
        record_id: text(row, 2)?,
        kind,
        owner: text(row, 4)?,
        data: text(row, 5)?,
        at: text(row, 6)?.unwrap_or_default(),
    })
}

/// Up to `limit` changes with `seq > after`, in ascending order. A range seek on the
/// rowid: as cheap for an old position as for the newest.
pub fn read_after(conn: &Connection, after: i64, limit: usize) -> rusqlite::Result<Vec<Change>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after, limit], change_from_row)?;
    rows.collect()
}

/// The feed's range. A reader positioned before `oldest - 1` has missed pruned changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// The oldest seq still held; `None` when the feed has no rows.
    pub oldest: Option<i64>,
    /// The newest seq ever written; 0 when the feed never had rows (pruning keeps the
    /// newest row, so it never goes back).
    pub newest: i64,
}

/// Two rowid seeks (one `min` and one `max` in the same SELECT would scan the table).
pub fn bounds(conn: &Connection) -> rusqlite::Result<Bounds> {
    conn.prepare_cached("SELECT (SELECT min(seq) FROM changes), (SELECT max(seq) FROM changes)")?
        .query_row([], |r| {
            Ok(Bounds {
                oldest: r.get(0)?,
                newest: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
            })
        })
}

/// Appends a `schema` change for `collection` (created, changed or dropped) and returns
/// its seq. Call it inside the schema change's own write job, so the row commits (or
/// rolls back, as a dry run does) with the change.
pub fn append_schema(
    conn: &Connection,
    collection: &str,
    data: &serde_json::Value,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO changes (collection, record_id, kind, owner, data, at)
         VALUES (?1, NULL, 'schema', NULL, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    )?
    .execute(params![collection, data.to_string()])?;
    Ok(conn.last_insert_rowid())
}
