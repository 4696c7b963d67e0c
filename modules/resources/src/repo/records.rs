//! Single-record SQL: read, insert, update, delete, with the access restriction and the
//! optimistic-concurrency check inside the statement, so both are atomic with the write.

use crate::error::ResourceError;
use crate::registry::Collection;
use crate::rules::Access;
use crate::schema::quote;
use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{params_from_iter, Connection, OptionalExtension, Row, ToSql};
use serde_json::{Map, Value};
use std::sync::Arc;
use storage::{ConstraintKind, StorageError};

pub const SYSTEM_COLUMNS: &str = "\"id\", \"created_at\", \"updated_at\", \"version\", \"owner\"";

/// A record as read: its JSON object and its version (for the ETag).
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub json: Map<String, Value>,
    pub version: i64,
}

/// The full select list: system columns, then every field in definition order.
pub fn select_list(col: &Collection) -> &str {
    &col.select_list
}

pub(crate) fn build_select_list(def: &crate::schema::CollectionDef) -> String {
    let mut s = SYSTEM_COLUMNS.to_string();
    for f in &def.fields {
        s.push_str(", ");
        s.push_str(&quote(&f.name));
    }
    s
}

/// Reads a row produced by `select_list` into a record.
pub fn record_from_row(col: &Collection, row: &Row<'_>) -> rusqlite::Result<Record> {
    let mut json = Map::with_capacity(5 + col.def.fields.len());
    let version: i64 = row.get(3)?;
    json.insert("id".into(), Value::String(row.get(0)?));
    json.insert("created_at".into(), Value::String(row.get(1)?));
    json.insert("updated_at".into(), Value::String(row.get(2)?));
    json.insert("version".into(), version.into());
    json.insert(
        "owner".into(),
        row.get::<_, Option<String>>(4)?
            .map_or(Value::Null, Value::String),
    );
    for (i, f) in col.def.fields.iter().enumerate() {
        json.insert(f.name.clone(), f.ty.to_json(row.get_ref(5 + i)?));
    }
    Ok(Record { json, version })
}

/// Writes a row produced by `select_list` as a JSON object straight into `out`: the
/// same keys, order and values as `record_from_row` gives, without the map. `only`
/// keeps just the named fields (the `fields` list parameter).
pub fn write_record_json(
    col: &Collection,
    row: &Row<'_>,
    only: Option<&[String]>,
    out: &mut Vec<u8>,
) -> rusqlite::Result<()> {
    write_json(col, |i| row.get_ref(i), only, out)
}

/// `write_record_json` over any source of the select list's values, by position.
pub(crate) fn write_json<'v>(
    col: &Collection,
    value: impl Fn(usize) -> rusqlite::Result<ValueRef<'v>>,
    only: Option<&[String]>,
    out: &mut Vec<u8>,
) -> rusqlite::Result<()> {
    const SYSTEM: [&str; 5] = ["id", "created_at", "updated_at", "version", "owner"];
    let wanted = |name: &str| only.is_none_or(|names| names.iter().any(|n| n == name));
    out.push(b'{');
    let mut first = true;
    let mut key = |out: &mut Vec<u8>, name: &str| {
        if !first {
            out.push(b',');
        }
        first = false;
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, name);
        out.push(b':');
    };
    for (i, name) in SYSTEM.iter().enumerate() {
        if !wanted(name) {
            continue;
        }
        key(out, name);
        match value(i)? {
            ValueRef::Integer(v) => {
                let _ = serde_json::to_writer(&mut *out, &v);
            }
            ValueRef::Text(t) => {
                let _ = serde_json::to_writer(&mut *out, &*String::from_utf8_lossy(t));
            }
            _ => out.extend_from_slice(b"null"),
        }
    }
    for (i, f) in col.def.fields.iter().enumerate() {
        if wanted(&f.name) {
            key(out, &f.name);
            f.ty.write_json(value(5 + i)?, out);
        }
    }
    out.push(b'}');
    Ok(())
}

/// A record as its row's values (select-list order), with the definition they belong
/// to. A create hands this back from the writer thread, which so does no JSON work;
/// the request's own thread renders it with `to_json`, byte for byte what the record
/// map would serialize to.
#[derive(Clone, Debug)]
pub struct RecordRow {
    col: Arc<Collection>,
    values: Vec<Sql>,
}

impl RecordRow {
    fn read(col: &Arc<Collection>, row: &Row<'_>) -> rusqlite::Result<RecordRow> {
        let values = (0..5 + col.def.fields.len())
            .map(|i| row.get::<_, Sql>(i))
            .collect::<rusqlite::Result<_>>()?;
        Ok(RecordRow {
            col: Arc::clone(col),
            values,
        })
    }

    pub fn id(&self) -> &str {
        match &self.values[0] {
            Sql::Text(id) => id,
            _ => "",
        }
    }

    pub fn version(&self) -> i64 {
        match self.values[3] {
            Sql::Integer(v) => v,
            _ => 0,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * self.values.len());
        // Owned values always convert, and writing into a Vec cannot fail.
        let _ = write_json(
            &self.col,
            |i| Ok(ValueRef::from(&self.values[i])),
            None,
            &mut out,
        );
        out
    }
}

/// `AND "owner" = ?` when the caller may only touch its own records.
fn access_clause(access: &Access, params: &mut Vec<Sql>) -> &'static str {
    match access {
        Access::All => "",
        Access::OwnedBy(user) => {
            params.push(Sql::Text(user.clone()));
            " AND \"owner\" = ?"
        }
    }
}

/// The SELECT of one record by id under `access`, and its parameters.
fn get_statement(col: &Collection, id: &str, access: &Access) -> (String, Vec<Sql>) {
    let mut params = vec![Sql::Text(id.to_owned())];
    let clause = access_clause(access, &mut params);
    let sql = format!(
        "SELECT {} FROM {} WHERE \"id\" = ?{clause}",
        select_list(col),
        quote(&col.table)
    );
    (sql, params)
}

pub fn get(
    conn: &Connection,
    col: &Collection,
    id: &str,
    access: &Access,
) -> Result<Option<Record>, ResourceError> {
    let (sql, params) = get_statement(col, id, access);
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(params), |r| record_from_row(col, r))
        .optional()?)
}

/// `get`, as the record's version and its JSON text (`write_record_json`).
pub fn get_json(
    conn: &Connection,
    col: &Collection,
    id: &str,
    access: &Access,
) -> Result<Option<(i64, Vec<u8>)>, ResourceError> {
    let (sql, params) = get_statement(col, id, access);
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(params), |r| {
            let mut out = Vec::with_capacity(256);
            write_record_json(col, r, None, &mut out)?;
            Ok((r.get(3)?, out))
        })
        .optional()?)
}

/// The INSERT naming the system columns, then `fields` in order.
///
/// No RETURNING: SQLite runs RETURNING as a trigger, and a statement with a trigger
/// takes a statement journal, copying every page the INSERT touches before changing it
/// (a tenth of the writer thread under a create load). The row is read back by rowid
/// instead, from pages the INSERT has just brought into the cache.
fn insert_sql<'a>(table: &str, fields: impl Iterator<Item = &'a str>) -> String {
    let mut names = String::from(SYSTEM_COLUMNS);
    let mut marks = String::from("?, ?, ?, 1, ?");
    for name in fields {
        names.push_str(", ");
        names.push_str(&quote(name));
        marks.push_str(", ?");
    }
    format!("INSERT INTO {} ({names}) VALUES ({marks})", quote(table))
}

/// The INSERT for a value of every field in definition order, which is what
/// `body::validate` gives a create: built once per definition, not per record on the
/// writer thread.
pub(crate) fn build_insert_sql(def: &crate::schema::CollectionDef) -> String {
    insert_sql(&def.table(), def.fields.iter().map(|f| f.name.as_str()))
}

/// Reads back the row an INSERT has just added.
pub(crate) fn build_inserted_sql(def: &crate::schema::CollectionDef, select_list: &str) -> String {
    format!(
        "SELECT {select_list} FROM {} WHERE rowid = ?",
        quote(&def.table())
    )
}

pub fn insert(
    conn: &Connection,
    col: &Arc<Collection>,
    id: &str,
    owner: Option<&str>,
    now: &str,
    values: &[(String, Sql)],
) -> Result<RecordRow, ResourceError> {
    let every_field = values.len() == col.def.fields.len()
        && values
            .iter()
            .zip(&col.def.fields)
            .all(|((name, _), field)| *name == field.name);
    let other;
    let sql = if every_field {
        &col.insert_sql
    } else {
        other = insert_sql(&col.table, values.iter().map(|(name, _)| name.as_str()));
        &other
    };
    let system: [&dyn ToSql; 4] = [&id, &now, &now, &owner];
    let params = system
        .into_iter()
        .chain(values.iter().map(|(_, value)| value as &dyn ToSql));
    conn.prepare_cached(sql)?
        .execute(params_from_iter(params))
        .map_err(|e| constraint_error(col, e))?;
    let rowid = conn.last_insert_rowid();
    Ok(conn
        .prepare_cached(&col.inserted_sql)?
        .query_row([rowid], |r| RecordRow::read(col, r))?)
}

/// Updates the given columns (all fields for PUT, the changed ones for PATCH). `expected`
/// is the version from `If-Match`; the check is part of the UPDATE itself.
pub fn update(
    conn: &Connection,
    col: &Collection,
    id: &str,
    access: &Access,
    expected: Option<i64>,
    now: &str,
    values: &[(String, Sql)],
) -> Result<Record, ResourceError> {
    let mut sets = String::from("\"updated_at\" = ?, \"version\" = \"version\" + 1");
    let mut params = vec![Sql::Text(now.to_owned())];
    for (name, value) in values {
        sets.push_str(&format!(", {} = ?", quote(name)));
        params.push(value.clone());
    }
    params.push(Sql::Text(id.to_owned()));
    let mut sql = format!("UPDATE {} SET {sets} WHERE \"id\" = ?", quote(&col.table));
    sql.push_str(access_clause(access, &mut params));
    if let Some(v) = expected {
        sql.push_str(" AND \"version\" = ?");
        params.push(Sql::Integer(v));
    }
    // No RETURNING, for the reason given at `insert_sql`: the row is read back instead.
    let changed = conn
        .prepare_cached(&sql)?
        .execute(params_from_iter(params))
        .map_err(|e| constraint_error(col, e))?;
    if changed == 1 {
        get(conn, col, id, &Access::All)?.ok_or(ResourceError::RecordNotFound)
    } else {
        Err(missing_or_changed(conn, col, id, access, expected)?)
    }
}

pub fn delete(
    conn: &Connection,
    col: &Collection,
    id: &str,
    access: &Access,
    expected: Option<i64>,
) -> Result<(), ResourceError> {
    let mut params = vec![Sql::Text(id.to_owned())];
    let mut sql = format!("DELETE FROM {} WHERE \"id\" = ?", quote(&col.table));
    sql.push_str(access_clause(access, &mut params));
    if let Some(v) = expected {
        sql.push_str(" AND \"version\" = ?");
        params.push(Sql::Integer(v));
    }
    let n = conn
        .prepare_cached(&sql)?
        .execute(params_from_iter(params))
        .map_err(|e| match StorageError::from(e) {
            StorageError::Constraint {
                kind: ConstraintKind::ForeignKey,
                ..
            } => ResourceError::Conflict(
                "other records reference this one through a relation with on_delete = restrict"
                    .into(),
            ),
            other => ResourceError::Storage(other),
        })?;
    if n == 1 {
        Ok(())
    } else {
        Err(missing_or_changed(conn, col, id, access, expected)?)
    }
}

/// After a write matched no row: 404 if the caller cannot see the record, else 412.
fn missing_or_changed(
    conn: &Connection,
    col: &Collection,
    id: &str,
    access: &Access,
    expected: Option<i64>,
) -> Result<ResourceError, ResourceError> {
    Ok(match (get(conn, col, id, access)?, expected) {
        (Some(_), Some(_)) => ResourceError::PreconditionFailed,
        _ => ResourceError::RecordNotFound,
    })
}

/// Turns a constraint failure into the client's mistake it describes.
fn constraint_error(col: &Collection, e: rusqlite::Error) -> ResourceError {
    match StorageError::from(e) {
        StorageError::Constraint {
            kind: ConstraintKind::Unique,
            message,
        } => {
            // "UNIQUE constraint failed: rec_posts.slug"
            let field = message
                .rsplit('.')
                .next()
                .filter(|f| col.field(f).is_some())
                .unwrap_or("?")
                .to_string();
            ResourceError::Unique(field)
        }
        StorageError::Constraint {
            kind: ConstraintKind::ForeignKey,
            ..
        } => ResourceError::Conflict("a relation points at a record that does not exist".into()),
        StorageError::Constraint { message, .. } => {
            // Validation runs first, so a CHECK or NOT NULL failure here is a bug.
            tracing::error!(collection = col.name(), %message, "constraint failed after validation");
            ResourceError::Storage(StorageError::Constraint {
                kind: ConstraintKind::Other,
                message,
            })
        }
        other => ResourceError::Storage(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl;

    /// `every_type_def()`'s table in a fresh in-memory database, with user `u1` for
    /// the owner column to reference.
    fn every_type_table() -> (crate::schema::CollectionDef, Connection) {
        let def = crate::fields::every_type_def();
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE users (id TEXT PRIMARY KEY); INSERT INTO users VALUES ('u1');",
        )
        .unwrap();
        conn.execute_batch(&ddl::create_table(&def, &def.table()))
            .unwrap();
        (def, conn)
    }

    /// A create's values (every field, in definition order) go through the INSERT built
    /// once per definition; any other set of columns gets its own, and both store and
    /// return the same record.
    #[test]
    fn insert_uses_the_prebuilt_statement_for_every_field_and_builds_others() {
        let (def, conn) = every_type_table();
        let col = Arc::new(Collection::new(def, 1, "x".into(), "x".into()));
        assert!(col.insert_sql.starts_with(
            "INSERT INTO \"rec_all\" (\"id\", \"created_at\", \"updated_at\", \"version\", \"owner\", \"t\", \"i\""
        ));
        // RETURNING would make SQLite journal every page the INSERT touches.
        assert!(!col.insert_sql.contains("RETURNING"), "{}", col.insert_sql);
        let mut every: Vec<(String, Sql)> = col
            .def
            .fields
            .iter()
            .map(|f| (f.name.clone(), Sql::Null))
            .collect();
        every[0].1 = Sql::Text("full".into());
        every[1].1 = Sql::Integer(7);
        let now = "2026-01-01T00:00:00.000Z";
        let full = insert(&conn, &col, "a", Some("u1"), now, &every).unwrap();
        let subset = vec![("i".to_string(), Sql::Integer(8))];
        let partial = insert(&conn, &col, "b", None, now, &subset).unwrap();
        assert_eq!((full.id(), full.version()), ("a", 1));
        assert_eq!((partial.id(), partial.version()), ("b", 1));
        // What the writer hands back renders exactly as the record read back would.
        for row in [full, partial] {
            let stored = get(&conn, &col, row.id(), &Access::All).unwrap().unwrap();
            assert_eq!(row.to_json(), serde_json::to_vec(&stored.json).unwrap());
            // GET's body, written from the row, is the same bytes too.
            let (version, json) = get_json(&conn, &col, row.id(), &Access::All)
                .unwrap()
                .unwrap();
            assert_eq!((version, json), (stored.version, row.to_json()));
        }
        let stored = get(&conn, &col, "a", &Access::All).unwrap().unwrap();
        assert_eq!(stored.json["t"], "full");
        assert_eq!(stored.json["i"], 7);
        assert_eq!(stored.json["owner"], "u1");
        assert_eq!(stored.json["created_at"], now);
        let stored = get(&conn, &col, "b", &Access::All).unwrap().unwrap();
        assert_eq!(stored.json["i"], 8);
        assert_eq!(stored.json["t"], Value::Null);
    }

    /// The list fast path writes rows as JSON text; it must produce byte for byte what
    /// serializing `record_from_row`'s map produces, for every field type, with nulls,
    /// awkward text, and with a `fields` selection.
    #[test]
    fn write_record_json_matches_the_record_map_byte_for_byte() {
        let (def, conn) = every_type_table();
        conn.execute_batch(
            "INSERT INTO rec_all (id, created_at, updated_at, version, owner, t, i, n, b, dt, d, en, j, r)
             VALUES ('a', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 1, NULL,
                     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                    ('b', '2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z', 7, 'u1',
                     'quote \" back \\ tab 	 é 😀 ' || char(1), -42, 2.5, 1, '2026-01-02T03:04:05.678Z',
                     '2026-01-02', 'b', '{\"k\":[1,2.5,null,true],\"o\":{\"x\":\"y\"}}', 'a'),
                    ('c', '2026-01-03T00:00:00.000Z', '2026-01-03T00:00:00.000Z', 2, NULL,
                     '', 9223372036854775807, -1e300, 0, NULL, NULL, 'a', '\"s\"', NULL);",
        )
        .unwrap();
        let col = Collection::new(def, 1, "x".into(), "x".into());
        let only: Vec<String> = ["id", "version", "t", "j", "missing"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM rec_all ORDER BY id",
                select_list(&col)
            ))
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        let mut n = 0;
        while let Some(row) = rows.next().unwrap() {
            let mut map = record_from_row(&col, row).unwrap().json;
            let mut out = Vec::new();
            write_record_json(&col, row, None, &mut out).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&map).unwrap()
            );
            map.retain(|k, _| only.iter().any(|o| o == k));
            let mut out = Vec::new();
            write_record_json(&col, row, Some(&only), &mut out).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&map).unwrap()
            );
            n += 1;
        }
        assert_eq!(n, 3);
    }
}
