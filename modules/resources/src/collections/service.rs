//! Collection management for admins. Every change runs as an exclusive writer job in its
//! own transaction; the in-memory registry and the OpenAPI document change only after
//! that transaction committed.

use super::migrate;
use super::transaction::schema_transaction;
use crate::error::ResourceError;
use crate::registry::Collection;
use crate::repo;
use crate::schema::{CollectionDef, CollectionSpec, CollectionView};
use crate::service::Resources;
use kernel::{clock, AdminPrincipal, AdminWriter};
use std::sync::Arc;

/// The outcome of a definition change (or of its dry run).
pub struct Change {
    pub collection: CollectionView,
    pub steps: Vec<String>,
    pub applied: bool,
    /// Rows copied when the table was rebuilt.
    pub rows_copied: Option<u64>,
}

pub fn view(col: &Collection) -> CollectionView {
    let spec = col.def.spec();
    CollectionView {
        name: spec.name,
        description: spec.description,
        fields: spec.fields,
        rules: spec.rules.unwrap_or_default(),
        schema_version: col.schema_version,
        created_at: col.created_at.clone(),
        updated_at: col.updated_at.clone(),
        warnings: super::warnings::warnings(&col.def),
    }
}

impl Resources {
    pub fn list_collections(&self, _admin: &AdminPrincipal) -> Vec<CollectionView> {
        self.registry.all().iter().map(|c| view(c)).collect()
    }

    pub fn get_collection(
        &self,
        _admin: &AdminPrincipal,
        name: &str,
    ) -> Result<CollectionView, ResourceError> {
        let col = self.collection(name)?;
        Ok(view(&col))
    }

    /// Relation targets must exist (or be the collection itself).
    fn check_targets(&self, def: &CollectionDef) -> Result<(), ResourceError> {
        let mut errors = Vec::new();
        for (i, field) in def.fields.iter().enumerate() {
            if let crate::fields::FieldType::Relation(r) = &field.ty {
                if r.collection != def.name && self.registry.get(&r.collection).is_none() {
                    errors.push(kernel::FieldError::new(
                        format!("fields[{i}].collection"),
                        kernel::FieldCode::RelationNotFound,
                        format!("there is no collection `{}`", r.collection),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ResourceError::Invalid(errors))
        }
    }

    pub async fn create_collection(
        &self,
        admin: &AdminWriter,
        spec: CollectionSpec,
    ) -> Result<CollectionView, ResourceError> {
        if let Some(i) = spec.fields.iter().position(|f| f.renamed_from.is_some()) {
            return Err(ResourceError::Invalid(vec![kernel::FieldError::new(
                format!("fields[{i}].renamed_from"),
                kernel::FieldCode::Invalid,
                "only applies when changing a collection",
            )]));
        }
        let separator = crate::schema::new_collection_name_error(&spec.name);
        let def = match (spec.to_def(), separator) {
            (Ok(def), None) => def,
            (Ok(_), Some(err)) => return Err(ResourceError::Invalid(vec![err])),
            (Err(mut errs), err) => {
                errs.extend(err);
                return Err(ResourceError::Invalid(errs));
            }
        };
        self.check_targets(&def)?;
        let actor = admin.principal().user_id.clone();
        let me = self.clone();
        let col = self
            .db
            .writer()
            .run_exclusive(move |conn| {
                let col = schema_transaction(conn, true, |conn| {
                    repo::collections::create(conn, &def, &clock::now(), &actor)
                })?;
                let col = Arc::new(col);
                me.registry.put(col.clone());
                Ok::<_, ResourceError>(col)
            })
            .await?;
        self.publish(&col);
        tracing::info!(collection = col.name(), "collection created");
        Ok(view(&col))
    }

    /// Applies a new definition (or, with `dry_run`, reports what it would do and whether
    /// the data allows it, changing nothing).
    pub async fn update_collection(
        &self,
        admin: &AdminWriter,
        name: &str,
        spec: CollectionSpec,
        dry_run: bool,
    ) -> Result<Change, ResourceError> {
        let old = self.collection(name)?;
        if spec.name != old.name() {
            return Err(ResourceError::Invalid(vec![kernel::FieldError::new(
                "name",
                kernel::FieldCode::Invalid,
                "collections cannot be renamed; the name must match the path",
            )]));
        }
        let new = spec.to_def().map_err(ResourceError::Invalid)?;
        self.check_targets(&new)?;
        let mapping = migrate::map_fields(&old.def, &spec.fields)?;
        let (steps, rebuild) = migrate::describe(&old.def, &new, &mapping);
        let feed_change = feed_change(&new, &mapping, &steps, rebuild);
        let actor = admin.principal().user_id.clone();
        let me = self.clone();
        let outcome = self
            .db
            .writer()
            .run_exclusive(move |conn| {
                // Re-read under the writer: another change may have landed meanwhile.
                let current = me.collection(old.name())?;
                if current.schema_version != old.schema_version {
                    return Err(ResourceError::Conflict(
                        "the collection changed meanwhile; fetch it and retry".into(),
                    ));
                }
                let result = schema_transaction(conn, !dry_run, |conn| {
                    let copied = if rebuild {
                        Some(migrate::rebuild(conn, &current, &new, &mapping)?)
                    } else {
                        migrate::reindex(conn, &current, &new)?;
                        None
                    };
                    let saved = repo::collections::save_change(
                        conn,
                        &current,
                        &new,
                        &clock::now(),
                        &actor,
                        feed_change,
                    )?;
                    Ok((saved, copied))
                })?;
                let (saved, copied) = result;
                let saved = Arc::new(saved);
                if !dry_run {
                    me.registry.put(saved.clone());
                }
                Ok::<_, ResourceError>((saved, copied))
            })
            .await?;
        let (saved, rows_copied) = outcome;
        if !dry_run {
            self.publish(&saved);
            // Collections pointing here document this one's id format; refresh them too.
            for other in self.registry.all() {
                if other.def.relation_targets().any(|t| t == name) && other.name() != name {
                    self.publish(&other);
                }
            }
            tracing::info!(collection = name, ?steps, "collection changed");
        }
        Ok(Change {
            collection: view(&saved),
            steps,
            applied: !dry_run,
            rows_copied,
        })
    }

    /// Deletes a collection and its records. Refused while other collections have
    /// relations to it, unless `force`, which first removes those relation fields.
    pub async fn delete_collection(
        &self,
        admin: &AdminWriter,
        name: &str,
        force: bool,
    ) -> Result<(), ResourceError> {
        let col = self.collection(name)?;
        let referrers: Vec<Arc<Collection>> = self
            .registry
            .all()
            .into_iter()
            .filter(|c| c.name() != name && c.def.relation_targets().any(|t| t == name))
            .collect();
        if !referrers.is_empty() && !force {
            let names: Vec<&str> = referrers.iter().map(|c| c.name()).collect();
            return Err(ResourceError::Conflict(format!(
                "collections {} have relations to `{name}`; delete with ?force=true to remove those relation fields too",
                names.join(", ")
            )));
        }
        for referrer in referrers {
            let mut spec = referrer.def.spec();
            spec.fields
                .retain(|f| f.collection.as_deref() != Some(name));
            self.update_collection(admin, referrer.name(), spec, false)
                .await?;
        }
        let actor = admin.principal().user_id.clone();
        let me = self.clone();
        self.db
            .writer()
            .run_exclusive(move |conn| {
                schema_transaction(conn, true, |conn| {
                    repo::collections::drop(conn, &col, &clock::now(), &actor)
                })?;
                me.registry.remove(col.name());
                Ok::<_, ResourceError>(())
            })
            .await?;
        self.unpublish(name);
        tracing::info!(collection = name, "collection deleted");
        Ok(())
    }
}

/// What the change feed's `schema` row says about a definition change (beside
/// `"change": "updated"` and the new `schema_version`): the fields added, removed and
/// renamed, whether the table was rebuilt, and the steps as `describe` words them.
fn feed_change(
    new: &CollectionDef,
    mapping: &migrate::Mapping,
    steps: &[String],
    rebuilt: bool,
) -> serde_json::Map<String, serde_json::Value> {
    let mut added = Vec::new();
    let mut renamed = Vec::new();
    for (field, source) in new.fields.iter().zip(&mapping.sources) {
        match source {
            None => added.push(serde_json::Value::from(field.name.as_str())),
            Some(from) if *from != field.name => {
                renamed.push(serde_json::json!({"from": from, "to": field.name}))
            }
            Some(_) => {}
        }
    }
    let mut out = serde_json::Map::new();
    out.insert("added".into(), added.into());
    out.insert("removed".into(), mapping.dropped.clone().into());
    out.insert("renamed".into(), renamed.into());
    out.insert("rebuilt".into(), rebuilt.into());
    out.insert("steps".into(), steps.to_vec().into());
    out
}
