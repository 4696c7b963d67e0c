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
    /// Where file fields keep their blobs (None: uploads are refused).
    pub(crate) files: Option<files::BlobStore>,
    /// Finished tus uploads a write may attach (None: attaching is refused).
    pub(crate) uploads: Option<files::tus::Uploads>,
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
        let resources = Resources {
            db,
            registry,
            docs,
            files: None,
            uploads: None,
        };
        resources.ensure_feed_triggers().await?;
        for col in resources.registry.all() {
            resources.publish(&col);
        }
        Ok(resources)
    }

    /// Gives every record table the change feed's triggers as the current definition
    /// makes them: tables created before the feed existed have none. A no-op write when
    /// all are current (the usual start).
    async fn ensure_feed_triggers(&self) -> Result<(), ResourceError> {
        let all = self.registry.all();
        let installed = self
            .db
            .write(move |conn| {
                let mut installed = Vec::new();
                for col in &all {
                    if !crate::ddl::has_current_feed_triggers(conn, &col.def)? {
                        crate::ddl::install_feed_triggers(conn, &col.def)?;
                        installed.push(col.name().to_owned());
                    }
                }
                Ok::<_, ResourceError>(installed)
            })
            .await?;
        if !installed.is_empty() {
            tracing::info!(collections = ?installed, "installed the change feed's triggers");
        }
        Ok(())
    }

    /// The blob store file fields upload into. Set once, before the service is shared.
    pub fn with_files(mut self, store: files::BlobStore) -> Resources {
        self.files = Some(store);
        self
    }

    /// The tus uploads writes may attach (`{"upload": id}` in a file field).
    pub fn with_uploads(mut self, uploads: files::tus::Uploads) -> Resources {
        self.uploads = Some(uploads);
        self
    }

    pub(crate) fn uploads(&self) -> Option<&files::tus::Uploads> {
        self.uploads.as_ref()
    }

    pub(crate) fn files(&self) -> Option<&files::BlobStore> {
        self.files.as_ref()
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

    /// Whether a collection of this name exists now (cheap: an in-memory lookup).
    pub fn has_collection(&self, name: &str) -> bool {
        self.registry.get(name).is_some()
    }

    /// How many records each collection holds, by name, counted in one read
    /// (`SELECT count(*)` per table: linear in the table size, so call it rarely, e.g.
    /// for a metrics gauge refreshed at most every half minute).
    pub async fn count_records(&self) -> Result<Vec<(String, u64)>, ResourceError> {
        let names = self.collection_names();
        self.db
            .read(move |conn| {
                let mut counts = Vec::with_capacity(names.len());
                for name in names {
                    let sql = format!(
                        "SELECT count(*) FROM {}",
                        crate::schema::quote(&crate::schema::table_name(&name))
                    );
                    // A collection dropped since the names were taken is skipped.
                    match conn.query_row(&sql, [], |r| r.get::<_, i64>(0)) {
                        Ok(n) => counts.push((name, u64::try_from(n).unwrap_or(0))),
                        Err(rusqlite::Error::SqliteFailure(_, Some(m)))
                            if m.starts_with("no such table") => {}
                        Err(e) => return Err(ResourceError::from(e)),
                    }
                }
                Ok(counts)
            })
            .await
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

impl Resources {
    /// Whether the OpenAPI document shown to `caller` holds the fragment under `key`: a
    /// collection's paths and schemas only when some rule admits the caller to something
    /// on it (listing, viewing, creating, changing or deleting its records). Admin-only
    /// collections stay out of everyone else's document.
    pub fn documents_for(&self, caller: Option<&kernel::Principal>, key: &str) -> bool {
        let Some(name) = key.strip_prefix("collection:") else {
            return true;
        };
        let Some(col) = self.registry.get(name) else {
            return false;
        };
        crate::rules::Action::ALL
            .iter()
            .any(|a| crate::rules::authorize(&col.def.rules, *a, caller).is_ok())
    }
}
