//! SQL that creates a collection's table and indexes from its definition. Identifiers
//! come only from validated names; constraint literals only from validated options.

use crate::error::ResourceError;
use crate::fields::FieldType;
use crate::rules::Grant;
use crate::schema::{quote, table_name, CollectionDef, FieldDef};
use rusqlite::Connection;

/// `CREATE TABLE` for `def` under the table name `table` (the real name, or a temporary
/// one while a migration rebuilds it).
pub fn create_table(def: &CollectionDef, table: &str) -> String {
    let mut cols = vec![
        "\"id\" TEXT PRIMARY KEY NOT NULL".to_string(),
        "\"created_at\" TEXT NOT NULL".to_string(),
        "\"updated_at\" TEXT NOT NULL".to_string(),
        "\"version\" INTEGER NOT NULL DEFAULT 1".to_string(),
        "\"owner\" TEXT REFERENCES \"users\"(\"id\") ON DELETE SET NULL".to_string(),
    ];
    cols.extend(def.fields.iter().map(column));
    format!(
        "CREATE TABLE {} (\n  {}\n) STRICT",
        quote(table),
        cols.join(",\n  ")
    )
}

fn column(field: &FieldDef) -> String {
    let col = quote(&field.name);
    let mut sql = format!("{col} {}", field.ty.column_type());
    if field.required {
        sql.push_str(" NOT NULL");
    }
    if let Some(check) = field.ty.check(&col) {
        sql.push_str(&format!(" CHECK ({check})"));
    }
    if let FieldType::Relation(r) = &field.ty {
        sql.push_str(&format!(
            " REFERENCES {}(\"id\") ON DELETE {}",
            quote(&table_name(&r.collection)),
            r.on_delete.sql()
        ));
    }
    sql
}

/// Every index of the collection as `(name, CREATE INDEX …)`: the system sorts, the
/// owner's records when the list rule is `owner` (those lists are `owner = ?` queries;
/// other collections do not pay an extra b-tree on every write for it), and per field.
/// Sortable indexes are `(field, id)` so keyset pages seek straight to their first row.
pub fn index_set(def: &CollectionDef) -> Vec<(String, String)> {
    let table = def.table();
    let t = quote(&table);
    let mut out = Vec::new();
    let mut add = |suffix: String, unique: bool, cols: String| {
        let name = format!("{table}__{suffix}");
        let kind = if unique { "UNIQUE INDEX" } else { "INDEX" };
        let sql = format!("CREATE {kind} {} ON {t} ({cols})", quote(&name));
        out.push((name, sql));
    };
    add("created_at".into(), false, "\"created_at\", \"id\"".into());
    add("updated_at".into(), false, "\"updated_at\", \"id\"".into());
    if has_owner_index(def) {
        add("owner".into(), false, "\"owner\", \"id\"".into());
    }
    for field in &def.fields {
        let col = quote(&field.name);
        if field.unique {
            add(format!("u_{}", field.name), true, col.clone());
        }
        // Relation columns are indexed so deleting a referenced record does not scan.
        if field.indexed || matches!(field.ty, FieldType::Relation(_)) {
            add(format!("i_{}", field.name), false, format!("{col}, \"id\""));
        }
    }
    out
}

/// Whether the collection keeps an `(owner, id)` index: only owner-only lists query by
/// owner, and a list is owner-only when its `list` or its `view` rule is (a listed
/// record passes both).
pub fn has_owner_index(def: &CollectionDef) -> bool {
    def.rules.list.contains(&Grant::Owner) || def.rules.view.contains(&Grant::Owner)
}

/// The `CREATE INDEX` statements of `index_set`.
pub fn create_indexes(def: &CollectionDef) -> Vec<String> {
    index_set(def).into_iter().map(|(_, sql)| sql).collect()
}

/// The change feed's triggers for `def`'s table (`feed::trigger_sql`): every record
/// change appends a `changes` row with a snapshot of every column, system ones first.
pub fn feed_triggers(def: &CollectionDef) -> Vec<String> {
    let mut columns: Vec<&str> = crate::schema::SYSTEM_FIELDS.to_vec();
    columns.extend(def.fields.iter().map(|f| f.name.as_str()));
    feed::trigger_sql(&def.table(), &def.name, &columns)
}

/// (Re)creates the feed triggers of `def`'s table: after the table is created, and after
/// every migration (a rebuild dropped them with the old table; a column list change
/// changes their snapshot). Runs in the schema change's transaction.
/// The file fields' deletion triggers (`ddl_files.rs`) go with them.
pub fn install_feed_triggers(conn: &Connection, def: &CollectionDef) -> Result<(), ResourceError> {
    for sql in feed::drop_triggers_sql(&def.table())
        .iter()
        .chain(&crate::ddl_files::drop_file_triggers_sql(&def.table()))
        .chain(&feed_triggers(def))
        .chain(&crate::ddl_files::file_triggers(def))
    {
        exec_schema(conn, sql)?;
    }
    Ok(())
}

/// Whether the feed (and file) triggers `def`'s table has are exactly the ones it should
/// have (a database from before the feed has none).
pub fn has_current_feed_triggers(
    conn: &Connection,
    def: &CollectionDef,
) -> Result<bool, ResourceError> {
    let table = def.table();
    let mut stored: Vec<String> = conn
        .prepare_cached(
            "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1 AND name IN (?2, ?3, ?4, ?5, ?6)",
        )?
        .query_map(
            rusqlite::params_from_iter(
                std::iter::once(table.clone())
                    .chain(feed::trigger_names(&table))
                    .chain(crate::ddl_files::file_trigger_names(&table)),
            ),
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut wanted = feed_triggers(def);
    wanted.extend(crate::ddl_files::file_triggers(def));
    stored.sort();
    wanted.sort();
    Ok(stored == wanted)
}

/// Runs a statement that changes the schema. SQLite refusing a name as taken or
/// missing means the names Hearth derives and what the file holds disagree (a
/// collection created before `__` was reserved can own a name derived for another):
/// a conflict the admin can resolve, reported with SQLite's words, never corruption.
pub fn exec_schema(conn: &Connection, sql: &str) -> Result<(), ResourceError> {
    conn.execute_batch(sql).map_err(schema_error)
}

/// `exec_schema`'s classification, for callers that inspect the error first.
pub fn schema_error(err: rusqlite::Error) -> ResourceError {
    if let rusqlite::Error::SqliteFailure(code, Some(message)) = &err {
        let name_clash = message.contains("already exists")
            || message.starts_with("there is already")
            || message.starts_with("no such");
        if code.code == rusqlite::ErrorCode::Unknown && name_clash {
            return ResourceError::SchemaConflict(format!(
                "the database refused a name this change needs ({message}): another table or \
                 index has it, such as one of a collection whose name contains `__` (allowed \
                 before Hearth reserved it); delete or recreate that collection, then retry"
            ));
        }
    }
    ResourceError::from(err)
}

/// `wanted`, or the first of `wanted_2`, `wanted_3`… that no table or index of the
/// file has: a rebuild's temporary table must not need a name something else owns.
pub fn free_name(conn: &Connection, wanted: &str) -> Result<String, ResourceError> {
    let mut taken =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = ?1)")?;
    let mut candidate = wanted.to_string();
    for n in 2.. {
        if !taken.query_row([&candidate], |r| r.get::<_, bool>(0))? {
            break;
        }
        candidate = format!("{wanted}_{n}");
    }
    Ok(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::CollectionSpec;

    #[test]
    fn ddl_runs_and_enforces_constraints() {
        let spec: CollectionSpec = serde_json::from_value(serde_json::json!({
            "name": "posts", "fields": [
                {"name": "title", "type": "text", "required": true, "max_length": 5},
                {"name": "views", "type": "integer", "min": 0, "indexed": true},
                {"name": "ok", "type": "boolean"},
                {"name": "state", "type": "enum", "values": ["a", "it's"]},
                {"name": "meta", "type": "json"},
                {"name": "slug", "type": "text", "unique": true}]}))
        .unwrap();
        let def = spec.to_def().unwrap();
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE users (id TEXT PRIMARY KEY)")
            .unwrap();
        conn.execute_batch(&create_table(&def, &def.table()))
            .unwrap();
        for sql in create_indexes(&def) {
            conn.execute_batch(&sql).unwrap();
        }
        let insert = |title: &str, views: i64, state: &str| {
            conn.execute(
                "INSERT INTO rec_posts (id, created_at, updated_at, title, views, state) VALUES (hex(randomblob(8)), 'a', 'a', ?1, ?2, ?3)",
                rusqlite::params![title, views, state],
            )
        };
        assert!(insert("hello", 1, "it's").is_ok());
        assert!(insert("too long", 1, "a").is_err(), "max_length CHECK");
        assert!(insert("x", -1, "a").is_err(), "min CHECK");
        assert!(insert("x", 1, "b").is_err(), "enum CHECK");
    }
}
