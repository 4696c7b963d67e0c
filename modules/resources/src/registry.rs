//! The in-memory cache of collection definitions. Reads take a cheap `Arc` snapshot;
//! only the writer thread replaces entries, right after the change has committed.

use crate::filter::{FieldKind, FieldLookup};
use crate::schema::{CollectionDef, FieldDef};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A collection as the server works with it.
#[derive(Debug)]
pub struct Collection {
    pub def: CollectionDef,
    pub schema_version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub table: String,
    /// The quoted column list every record query selects, built once per definition
    /// (see `repo::records::select_list`).
    pub(crate) select_list: String,
    /// The INSERT of a create, built once per definition (see `repo::records::insert`).
    pub(crate) insert_sql: String,
    /// Reads a just-inserted record back by its rowid (see `repo::records::insert`).
    pub(crate) inserted_sql: String,
}

impl Collection {
    pub fn new(
        def: CollectionDef,
        schema_version: i64,
        created_at: String,
        updated_at: String,
    ) -> Self {
        let select_list = crate::repo::records::build_select_list(&def);
        Collection {
            table: def.table(),
            insert_sql: crate::repo::records::build_insert_sql(&def),
            inserted_sql: crate::repo::records::build_inserted_sql(&def, &select_list),
            select_list,
            def,
            schema_version,
            created_at,
            updated_at,
        }
    }

    pub fn name(&self) -> &str {
        &self.def.name
    }

    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.def.field(name)
    }
}

/// System columns as the filter compiler sees them.
pub fn system_kind(name: &str) -> Option<FieldKind> {
    match name {
        "id" | "owner" => Some(FieldKind::Text),
        "created_at" | "updated_at" => Some(FieldKind::Datetime),
        "version" => Some(FieldKind::Integer),
        _ => None,
    }
}

impl FieldLookup for Collection {
    fn kind(&self, name: &str) -> Option<FieldKind> {
        system_kind(name).or_else(|| self.field(name).map(|f| f.ty.filter_kind()))
    }
}

#[derive(Default)]
pub struct Registry {
    map: RwLock<HashMap<String, Arc<Collection>>>,
}

impl Registry {
    pub fn get(&self, name: &str) -> Option<Arc<Collection>> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every collection, by name.
    pub fn all(&self) -> Vec<Arc<Collection>> {
        let mut all: Vec<_> = self
            .map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| a.name().cmp(b.name()));
        all
    }

    pub fn put(&self, collection: Arc<Collection>) {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(collection.name().to_owned(), collection);
    }

    pub fn remove(&self, name: &str) {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }
}
