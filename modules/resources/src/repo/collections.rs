//! The `collections` and `collection_history` tables, and the DDL that goes with them.

use crate::ddl;
use crate::error::ResourceError;
use crate::registry::Collection;
use crate::schema::{quote, CollectionDef, CollectionSpec};
use rusqlite::{params, Connection};

pub struct StoredCollection {
    pub spec: CollectionSpec,
    pub schema_version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn load_all(conn: &Connection) -> Result<Vec<StoredCollection>, ResourceError> {
    let mut stmt = conn.prepare(
        "SELECT definition, schema_version, created_at, updated_at FROM collections ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (definition, schema_version, created_at, updated_at) = row?;
        let spec: CollectionSpec = serde_json::from_str(&definition).map_err(|e| {
            ResourceError::Storage(storage::StorageError::Corrupt(format!(
                "stored definition: {e}"
            )))
        })?;
        out.push(StoredCollection {
            spec,
            schema_version,
            created_at,
            updated_at,
        });
    }
    Ok(out)
}

fn definition_json(def: &CollectionDef) -> String {
    serde_json::to_string(&def.spec()).unwrap_or_default()
}

fn record_history(
    conn: &Connection,
    name: &str,
    version: i64,
    old: Option<&CollectionDef>,
    new: Option<&CollectionDef>,
    now: &str,
    actor: &str,
) -> Result<(), ResourceError> {
    conn.prepare_cached(
        "INSERT INTO collection_history (name, schema_version, old_definition, new_definition, changed_at, changed_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![name, version, old.map(definition_json), new.map(definition_json), now, actor])?;
    Ok(())
}

/// Creates the table, its indexes, its feed triggers and the definition row, and
/// appends the `schema` change. Runs inside a write job.
pub fn create(
    conn: &Connection,
    def: &CollectionDef,
    now: &str,
    actor: &str,
) -> Result<Collection, ResourceError> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM collections WHERE name = ?1)")?
        .query_row([&def.name], |r| r.get(0))?;
    if exists {
        return Err(ResourceError::CollectionExists(def.name.clone()));
    }
    ddl::exec_schema(conn, &ddl::create_table(def, &def.table()))?;
    for sql in ddl::create_indexes(def) {
        ddl::exec_schema(conn, &sql)?;
    }
    ddl::install_feed_triggers(conn, def)?;
    let fields: Vec<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
    feed::append_schema(
        conn,
        &def.name,
        &serde_json::json!({"change": "created", "schema_version": 1, "fields": fields}),
    )?;
    conn.prepare_cached(
        "INSERT INTO collections (name, definition, schema_version, created_at, updated_at) VALUES (?1, ?2, 1, ?3, ?3)",
    )?
    .execute(params![def.name, definition_json(def), now])?;
    record_history(conn, &def.name, 1, None, Some(def), now, actor)?;
    Ok(Collection::new(
        def.clone(),
        1,
        now.to_owned(),
        now.to_owned(),
    ))
}

/// Stores a changed definition (the table itself is changed by the migration) and
/// appends the `schema` change: `change` (what changed, see `migrate::feed_change`)
/// with `"change": "updated"` and the new `schema_version`.
pub fn save_change(
    conn: &Connection,
    old: &Collection,
    new: &CollectionDef,
    now: &str,
    actor: &str,
    change: serde_json::Map<String, serde_json::Value>,
) -> Result<Collection, ResourceError> {
    let version = old.schema_version + 1;
    let mut data = serde_json::Map::new();
    data.insert("change".into(), "updated".into());
    data.insert("schema_version".into(), version.into());
    data.extend(change);
    feed::append_schema(conn, &new.name, &serde_json::Value::Object(data))?;
    conn.prepare_cached("UPDATE collections SET definition = ?2, schema_version = ?3, updated_at = ?4 WHERE name = ?1")?
        .execute(params![new.name, definition_json(new), version, now])?;
    record_history(
        conn,
        &new.name,
        version,
        Some(&old.def),
        Some(new),
        now,
        actor,
    )?;
    Ok(Collection::new(
        new.clone(),
        version,
        old.created_at.clone(),
        now.to_owned(),
    ))
}

/// Drops the table (and with it its indexes and feed triggers) and the definition, and
/// appends the `schema` change (the records go without a `deleted` change each); the
/// history keeps the last definition.
pub fn drop(
    conn: &Connection,
    col: &Collection,
    now: &str,
    actor: &str,
) -> Result<(), ResourceError> {
    conn.execute_batch(&format!("DROP TABLE {}", quote(&col.table)))?;
    feed::append_schema(
        conn,
        col.name(),
        &serde_json::json!({"change": "deleted", "schema_version": col.schema_version + 1}),
    )?;
    conn.prepare_cached("DELETE FROM collections WHERE name = ?1")?
        .execute([col.name()])?;
    record_history(
        conn,
        col.name(),
        col.schema_version + 1,
        Some(&col.def),
        None,
        now,
        actor,
    )?;
    Ok(())
}
