//! Relation values checked before a write: each must point at a record that exists AND
//! that the writer may view. A record the caller may not view is refused exactly like a
//! missing one (`relation_not_found`, same message), so a relation cannot be used to
//! probe which ids exist, nor to pin another user's record with `on_delete: restrict`.

use crate::error::ResourceError;
use crate::fields::FieldType;
use crate::registry::Collection;
use crate::rules::Access;
use crate::schema::{quote, table_name};
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What the writer may view of each collection the relations point into.
#[derive(Clone, Debug, Default)]
pub struct RelationAccess {
    /// Target collection → the writer's view access; a target absent here is one whose
    /// records the writer may not view at all.
    pub targets: HashMap<String, Access>,
}

/// Checks the relation values among `values`. Values the record already holds
/// (`current`) are not checked again: editing other fields of a record never fails on a
/// relation someone else set, and keeping it reveals nothing.
pub fn check(
    conn: &Connection,
    col: &Collection,
    access: &RelationAccess,
    values: &[(String, Sql)],
    current: Option<&Map<String, Value>>,
) -> Result<(), ResourceError> {
    let mut errors = Vec::new();
    for (name, value) in values {
        let (Some(field), Sql::Text(id)) = (col.field(name), value) else {
            continue;
        };
        let FieldType::Relation(r) = &field.ty else {
            continue;
        };
        let kept = current
            .and_then(|c| c.get(name))
            .and_then(Value::as_str)
            .is_some_and(|held| held == id);
        if kept {
            continue;
        }
        let visible = match access.targets.get(&r.collection) {
            None => false,
            Some(target) => exists(conn, &r.collection, id, target)?,
        };
        if !visible {
            errors.push(kernel::FieldError::new(
                name.clone(),
                kernel::FieldCode::RelationNotFound,
                format!("no record {id} in `{}`", r.collection),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ResourceError::Invalid(errors))
    }
}

fn exists(
    conn: &Connection,
    collection: &str,
    id: &str,
    access: &Access,
) -> Result<bool, ResourceError> {
    let table = quote(&table_name(collection));
    let found = match access {
        Access::All => conn
            .prepare_cached(&format!("SELECT 1 FROM {table} WHERE \"id\" = ?"))?
            .exists([id])?,
        Access::OwnedBy(user) => conn
            .prepare_cached(&format!(
                "SELECT 1 FROM {table} WHERE \"id\" = ? AND \"owner\" = ?"
            ))?
            .exists(params_from_iter([id, user.as_str()]))?,
    };
    Ok(found)
}
