//! Records from the change feed: a snapshot the feed's triggers wrote (`feed::Change`'s
//! `data`), rendered as `GET /api/v1/{collection}/{id}` renders the record, with the
//! collection's current definition.

use crate::collections::migrate;
use crate::registry::Collection;
use crate::repo::records::write_json;
use crate::schema::FieldDef;
use crate::service::Resources;
use rusqlite::types::{Value as Sql, ValueRef};
use serde_json::{Map, Value};
use std::collections::HashMap;

impl Resources {
    /// A change's record (`data` of a created, updated or deleted change of
    /// `collection`) as a JSON map, for filters, and as the exact bytes GET answers for
    /// it, both under the current definition: a field added since the snapshot shows
    /// what the migration gave existing records (its default, else null), a field
    /// dropped since is left out, a field converted since is converted as the migration
    /// converted the stored values. A field renamed since shows as added (the definition
    /// keeps no old names; the `schema` change that renamed it lists the rename).
    /// `None` if the collection does not exist (any more), if `data` is not a record
    /// snapshot, or if the record is older than the collection (it belonged to an
    /// earlier collection of the same name, deleted since).
    pub fn record_from_change(
        &self,
        collection: &str,
        data: &str,
    ) -> Option<(Map<String, Value>, Vec<u8>)> {
        let col = self.registry.get(collection)?;
        record_from_snapshot(&col, data)
    }
}

/// `record_from_change` for one definition.
pub(crate) fn record_from_snapshot(
    col: &Collection,
    data: &str,
) -> Option<(Map<String, Value>, Vec<u8>)> {
    let mut snapshot: HashMap<String, Sql> = feed::snapshot_values(data)?.into_iter().collect();
    // The select list's order: system columns, then every field.
    let mut values = Vec::with_capacity(5 + col.def.fields.len());
    for name in crate::schema::SYSTEM_FIELDS {
        values.push(snapshot.remove(name).unwrap_or(Sql::Null));
    }
    if !matches!(values[0], Sql::Text(_)) {
        return None;
    }
    // A record created before the collection was: a snapshot of an earlier collection
    // of the same name (deleted, then created again), whose records were under other
    // rules and must not be shown as this one's. Both times are Hearth's clock's
    // fixed-width text, so they compare as text.
    match &values[1] {
        Sql::Text(created) if created.as_str() >= col.created_at.as_str() => {}
        _ => return None,
    }
    for field in &col.def.fields {
        values.push(match snapshot.remove(&field.name) {
            Some(value) => fit(field, value),
            // Not in the snapshot: the field came later.
            None => added_later(field),
        });
    }
    let value = |i: usize| Ok(ValueRef::from(&values[i]));
    let mut bytes = Vec::with_capacity(64 * values.len());
    // Owned values always convert, and writing into a Vec cannot fail.
    write_json(col, value, None, &mut bytes).ok()?;
    Some((record_map(col, &values), bytes))
}

/// What a record stored before `field` was added holds for it: the migration that
/// added the field gave existing records its default.
fn added_later(field: &FieldDef) -> Sql {
    field
        .default
        .as_ref()
        .and_then(|d| field.ty.to_sql(d).ok())
        .unwrap_or(Sql::Null)
}

/// A snapshot value for `field`'s current column: unchanged when it is of the column's
/// type (always, unless the field's type changed since), else converted as the
/// migration that changed the type converted stored values (null where it could not).
fn fit(field: &FieldDef, value: Sql) -> Sql {
    let fits = matches!(
        (field.ty.column_type(), &value),
        (_, Sql::Null)
            | ("INTEGER", Sql::Integer(_))
            | ("REAL", Sql::Real(_))
            | ("TEXT", Sql::Text(_))
    );
    if fits {
        return value;
    }
    let json = match value {
        Sql::Integer(i) => Value::from(i),
        Sql::Real(f) => Value::from(f),
        Sql::Text(t) => Value::String(t),
        Sql::Null | Sql::Blob(_) => Value::Null,
    };
    migrate::convert_json(json, field).unwrap_or(Sql::Null)
}

/// The record map `repo::records::record_from_row` builds, from the values in select
/// list order.
fn record_map(col: &Collection, values: &[Sql]) -> Map<String, Value> {
    let text = |v: &Sql| match v {
        Sql::Text(t) => Value::String(t.clone()),
        _ => Value::Null,
    };
    let mut json = Map::with_capacity(values.len());
    json.insert("id".into(), text(&values[0]));
    json.insert("created_at".into(), text(&values[1]));
    json.insert("updated_at".into(), text(&values[2]));
    let version = match values[3] {
        Sql::Integer(v) => Value::from(v),
        _ => Value::Null,
    };
    json.insert("version".into(), version);
    json.insert("owner".into(), text(&values[4]));
    for (i, f) in col.def.fields.iter().enumerate() {
        json.insert(f.name.clone(), f.ty.to_json(ValueRef::from(&values[5 + i])));
    }
    json
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
