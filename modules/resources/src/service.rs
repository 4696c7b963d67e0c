//! `Resources`: the module's public service. Handlers (API and dashboard alike) call
//! these methods; they hold the rules, the repositories hold the SQL.

use crate::error::ResourceError;
use crate::openapi;
use crate::registry::{Collection, Registry};
use crate::repo;
use kernel::ApiDocument;
use std::sync::Arc;
use storage::Db;

#[derive(Clone)]
pub struct Resources {
    pub(crate) db: Db,
    pub(crate) registry: Arc<Registry>,
    pub(crate) docs: Arc<ApiDocument>,
}

impl Resources {
    /// Loads every collection definition into memory and registers its OpenAPI fragment.
    pub async fn load(db: Db, docs: Arc<ApiDocument>) -> Result<Resources, ResourceError> {
        let stored = db.read(repo::collections::load_all).await?;
        let registry = Arc::new(Registry::default());
        for s in stored {
            let def = s.spec.to_def().map_err(|errors| {
                ResourceError::Storage(storage::StorageError::Corrupt(format!(
                    "stored definition of `{}` is invalid: {errors:?}",
                    s.spec.name
                )))
            })?;
            registry.put(Arc::new(Collection::new(
                def,
                s.schema_version,
                s.created_at,
                s.updated_at,
            )));
        }
        let resources = Resources { db, registry, docs };
        for col in resources.registry.all() {
            resources.publish(&col);
        }
        Ok(resources)
    }

    pub(crate) fn collection(&self, name: &str) -> Result<Arc<Collection>, ResourceError> {
        self.registry
            .get(name)
            .ok_or_else(|| ResourceError::CollectionNotFound(name.to_owned()))
    }

    /// Every collection's name, for other modules (dashboard, metrics).
    pub fn collection_names(&self) -> Vec<String> {
        self.registry
            .all()
            .iter()
            .map(|c| c.name().to_owned())
            .collect()
    }

    /// Registers (or replaces) the collection's paths and schemas in the OpenAPI document.
    pub(crate) fn publish(&self, col: &Collection) {
        let all = self.registry.all();
        self.docs
            .set_fragment(fragment_key(col.name()), openapi::fragment(col, &all));
    }

    pub(crate) fn unpublish(&self, name: &str) {
        self.docs.remove_fragment(&fragment_key(name));
    }
}

fn fragment_key(name: &str) -> String {
    format!("collection:{name}")
}
