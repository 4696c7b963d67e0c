//! Record operations: access decision, validation, then one write job in which the
//! definition, access restriction and `If-Match` are checked atomically with the write.

use super::body::{self, Mode};
use super::file_names::{self, FileEdits, Uploaded};
use crate::error::ResourceError;
use crate::fields::FieldType;
use crate::registry::Collection;
use crate::repo::idempotency::{self, StoredResponse};
use crate::repo::records::{self, Record, RecordRow};
use crate::repo::relations::{self, RelationAccess};
use crate::rules::{authorize, may_view, Access, Action};
use crate::service::Resources;
use kernel::{clock, ids, Principal};
use serde_json::{Map, Value};
use std::sync::Arc;

/// `If-Match` as parsed by the HTTP layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: the record must exist.
    Any,
    /// Versions from strong ETags (weak or malformed tags match nothing).
    Versions(Vec<i64>),
}

/// An `Idempotency-Key` with what identifies the request it came with.
#[derive(Clone, Debug)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: Vec<u8>,
    /// The client address, which scopes the keys of anonymous callers.
    pub client_ip: Option<std::net::IpAddr>,
}

/// Whose keys an `Idempotency-Key` is looked up among: the user's, or for anonymous
/// callers the client address's (IPv6 by its /64), never one scope shared by all
/// strangers (one could replay another's response, or probe which keys are in use).
fn idempotency_scope(
    owner: Option<&str>,
    client_ip: Option<std::net::IpAddr>,
    col: &str,
) -> String {
    match (owner, client_ip) {
        (Some(user), _) => format!("user:{user}:{col}"),
        (None, Some(ip)) => format!("ip:{}:{col}", kernel::caller::client_network(ip)),
        (None, None) => format!("ip:unknown:{col}"),
    }
}

/// What a multipart request adds to a write: the new record's id (its files were
/// stored under it before the write), the names it uploaded, and its edits of file
/// fields. Empty for a JSON request.
#[derive(Clone, Debug, Default)]
pub struct FileWrite {
    pub id: Option<String>,
    pub uploaded: Uploaded,
    pub edits: FileEdits,
}

pub enum Created {
    /// Rendered by the caller (`RecordRow::to_json`), off the writer thread.
    New(RecordRow),
    /// The stored first response for this key.
    Replayed(StoredResponse),
}

fn deny(problem: kernel::Problem) -> ResourceError {
    ResourceError::Denied(problem)
}

/// Fails the job if the definition the request was validated against is no longer current.
fn still_current(
    resources: &Resources,
    col: &Collection,
) -> Result<Arc<Collection>, ResourceError> {
    match resources.registry.get(col.name()) {
        Some(now) if now.schema_version == col.schema_version => Ok(now),
        _ => Err(ResourceError::DefinitionChanged),
    }
}

fn expected_version(
    current: &Record,
    if_match: Option<&IfMatch>,
) -> Result<Option<i64>, ResourceError> {
    match if_match {
        None => Ok(None),
        Some(IfMatch::Any) => Ok(Some(current.version)),
        Some(IfMatch::Versions(v)) if v.contains(&current.version) => Ok(Some(current.version)),
        Some(IfMatch::Versions(_)) => Err(ResourceError::PreconditionFailed),
    }
}

/// True when `values` are exactly what `current` holds (compared as the stored values, so
/// an RFC 3339 time written another way still counts as the same).
fn unchanged(col: &Collection, current: &Record, values: &body::Values) -> bool {
    let held = body::user_fields(col, &current.json);
    match body::validate(col, &held, Mode::Replace) {
        Ok(held) => values.iter().all(|v| held.contains(v)),
        // The stored record no longer validates (a definition change): count it as changed.
        Err(_) => false,
    }
}

impl Resources {
    /// Whether `caller` may view a record of `collection` owned by `owner`: a write
    /// answers with the record only then (else 204, or 201 without a body).
    pub fn may_view(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        owner: Option<&str>,
    ) -> bool {
        self.registry
            .get(collection)
            .is_some_and(|col| may_view(&col.def.rules, caller, owner))
    }

    /// The caller's view access to each collection `col`'s relations point into.
    fn relation_access(&self, col: &Collection, caller: Option<&Principal>) -> RelationAccess {
        let mut access = RelationAccess::default();
        for field in &col.def.fields {
            let FieldType::Relation(rel) = &field.ty else {
                continue;
            };
            if access.targets.contains_key(&rel.collection) {
                continue;
            }
            let Some(target) = self.registry.get(&rel.collection) else {
                continue;
            };
            if let Ok(view) = authorize(&target.def.rules, Action::View, caller) {
                access.targets.insert(rel.collection.clone(), view);
            }
        }
        access
    }

    pub async fn get_record(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        id: &str,
    ) -> Result<Record, ResourceError> {
        let col = self.collection(collection)?;
        let access = authorize(&col.def.rules, Action::View, caller).map_err(deny)?;
        let id = id.to_owned();
        self.db
            .read(move |conn| {
                storage::describe_query("SELECT", col.name());
                records::get(conn, &col, &id, &access)?.ok_or(ResourceError::RecordNotFound)
            })
            .await
    }

    /// `get_record` as the response body: the record's version (for the ETag) and its
    /// JSON, written straight from the row (the hottest read skips building a map).
    pub async fn get_record_json(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        id: &str,
    ) -> Result<(i64, Vec<u8>), ResourceError> {
        let col = self.collection(collection)?;
        let access = authorize(&col.def.rules, Action::View, caller).map_err(deny)?;
        let id = id.to_owned();
        self.db
            .read(move |conn| {
                storage::describe_query("SELECT", col.name());
                records::get_json(conn, &col, &id, &access)?.ok_or(ResourceError::RecordNotFound)
            })
            .await
    }

    /// The create rule alone, so the HTTP layer can refuse a caller before reading the
    /// request; `create_record` decides again.
    pub fn authorize_create(
        &self,
        caller: Option<&Principal>,
        collection: &str,
    ) -> Result<(), ResourceError> {
        let col = self.collection(collection)?;
        authorize(&col.def.rules, Action::Create, caller).map_err(deny)?;
        Ok(())
    }

    /// Creates a record. With an idempotency key, the stored response of an earlier
    /// identical request is returned instead, and nothing is created.
    pub async fn create_record(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        body: &Map<String, Value>,
        idem: Option<Idempotency>,
        render: impl FnOnce(&RecordRow) -> StoredResponse + Send + 'static,
    ) -> Result<Created, ResourceError> {
        self.create_record_with(caller, collection, body, idem, render, FileWrite::default())
            .await
    }

    /// `create_record` with the files a multipart request stored.
    pub async fn create_record_with(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        body: &Map<String, Value>,
        idem: Option<Idempotency>,
        render: impl FnOnce(&RecordRow) -> StoredResponse + Send + 'static,
        files: FileWrite,
    ) -> Result<Created, ResourceError> {
        let col = self.collection(collection)?;
        authorize(&col.def.rules, Action::Create, caller).map_err(deny)?;
        let mut body = body.clone();
        file_names::apply_edits(&col, &mut body, &files.edits);
        let values = body::validate(&col, &body, Mode::Create).map_err(ResourceError::Invalid)?;
        let id = files.id.unwrap_or_else(ids::new_id);
        let uploaded = files.uploaded;
        let owner = caller.map(|p| p.user_id.clone());
        let scope = idempotency_scope(
            owner.as_deref(),
            idem.as_ref().and_then(|i| i.client_ip),
            col.name(),
        );
        let relation_access = self.relation_access(&col, caller);
        let me = self.clone();
        // Without a key the job's one change is the INSERT; with one it also stores the
        // response, and the two must stand or fall together.
        let one_statement = idem.is_none();
        let job = move |conn: &storage::rusqlite::Connection| {
            storage::describe_query("INSERT", col.name());
            let col = still_current(&me, &col)?;
            let now = clock::now();
            if let Some(idem) = &idem {
                if let Some(stored) =
                    idempotency::lookup(conn, &scope, &idem.key, &idem.request_hash, &now)?
                {
                    return Ok(Created::Replayed(stored));
                }
            }
            relations::check(conn, &col, &relation_access, &values, None)?;
            file_names::check(&col, None, &values, &uploaded)?;
            let record = records::insert(conn, &col, &id, owner.as_deref(), &now, &values)?;
            if let Some(idem) = &idem {
                let expires =
                    clock::from_now(std::time::Duration::from_secs(idempotency::TTL_SECS));
                idempotency::store(
                    conn,
                    &scope,
                    &idem.key,
                    &idem.request_hash,
                    &render(&record),
                    &now,
                    &expires,
                )?;
            }
            Ok(Created::New(record))
        };
        if one_statement {
            self.db.write_one_statement(job).await
        } else {
            self.db.write(job).await
        }
    }

    /// PUT: the body is the whole record.
    pub async fn replace_record(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        id: &str,
        body: &Map<String, Value>,
        if_match: Option<IfMatch>,
    ) -> Result<Record, ResourceError> {
        self.replace_record_with(caller, collection, id, body, if_match, FileWrite::default())
            .await
    }

    /// `replace_record` with the files a multipart request stored.
    pub async fn replace_record_with(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        id: &str,
        body: &Map<String, Value>,
        if_match: Option<IfMatch>,
        files: FileWrite,
    ) -> Result<Record, ResourceError> {
        let col = self.collection(collection)?;
        let access = authorize(&col.def.rules, Action::Update, caller).map_err(deny)?;
        let mut body = body.clone();
        file_names::apply_edits(&col, &mut body, &files.edits);
        let values = body::validate(&col, &body, Mode::Replace).map_err(ResourceError::Invalid)?;
        let relation_access = self.relation_access(&col, caller);
        self.update(
            col,
            access,
            (relation_access, files.uploaded),
            id,
            if_match,
            move |_, _| Ok(values),
        )
        .await
    }

    /// PATCH: a JSON merge patch (RFC 7396) applied to the current record.
    pub async fn patch_record(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        id: &str,
        patch: Map<String, Value>,
        if_match: Option<IfMatch>,
    ) -> Result<Record, ResourceError> {
        self.patch_record_with(
            caller,
            collection,
            id,
            patch,
            if_match,
            FileWrite::default(),
        )
        .await
    }

    /// `patch_record` with the files a multipart request stored: its edits apply to the
    /// record after the patch (`F+` appends to what it holds).
    pub async fn patch_record_with(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        id: &str,
        patch: Map<String, Value>,
        if_match: Option<IfMatch>,
        files: FileWrite,
    ) -> Result<Record, ResourceError> {
        let col = self.collection(collection)?;
        let access = authorize(&col.def.rules, Action::Update, caller).map_err(deny)?;
        let mut errors = Vec::new();
        body::check_keys(&col, &patch, &mut errors);
        if !errors.is_empty() {
            return Err(ResourceError::Invalid(errors));
        }
        let relation_access = self.relation_access(&col, caller);
        let edits = files.edits;
        self.update(
            col,
            access,
            (relation_access, files.uploaded),
            id,
            if_match,
            move |col, current| {
                let mut merged = Value::Object(body::user_fields(col, &current.json));
                body::merge_patch(&mut merged, &Value::Object(patch));
                let mut merged = merged.as_object().cloned().unwrap_or_default();
                file_names::apply_edits(col, &mut merged, &edits);
                body::validate(col, &merged, Mode::Replace).map_err(ResourceError::Invalid)
            },
        )
        .await
    }

    /// Reads the current record, computes the new values from it, and writes them unless
    /// they are the values it already has: a write that changes nothing (an empty PATCH)
    /// bumps neither `version` nor `updated_at`.
    async fn update(
        &self,
        col: Arc<Collection>,
        access: Access,
        // What the new values may point at: relation targets, and uploaded file names.
        (relation_access, uploaded): (RelationAccess, Uploaded),
        id: &str,
        if_match: Option<IfMatch>,
        values: impl FnOnce(&Collection, &Record) -> Result<body::Values, ResourceError>
            + Send
            + 'static,
    ) -> Result<Record, ResourceError> {
        let id = id.to_owned();
        let me = self.clone();
        // Reads, then one UPDATE.
        self.db
            .write_one_statement(move |conn| {
                storage::describe_query("UPDATE", col.name());
                let col = still_current(&me, &col)?;
                let current =
                    records::get(conn, &col, &id, &access)?.ok_or(ResourceError::RecordNotFound)?;
                let expected = expected_version(&current, if_match.as_ref())?;
                let values = values(&col, &current)?;
                if unchanged(&col, &current, &values) {
                    return Ok(current);
                }
                relations::check(conn, &col, &relation_access, &values, Some(&current.json))?;
                file_names::check(&col, Some(&current), &values, &uploaded)?;
                if col.def.has_file_fields() {
                    files::note_possible_deletions();
                }
                records::update(conn, &col, &id, &access, expected, &clock::now(), &values)
            })
            .await
    }

    pub async fn delete_record(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        id: &str,
        if_match: Option<IfMatch>,
    ) -> Result<(), ResourceError> {
        let col = self.collection(collection)?;
        let access = authorize(&col.def.rules, Action::Delete, caller).map_err(deny)?;
        let id = id.to_owned();
        // Reads, then one DELETE (relations' cascades are part of that statement).
        self.db
            .write_one_statement(move |conn| {
                storage::describe_query("DELETE", col.name());
                let expected = match &if_match {
                    None => None,
                    Some(m) => {
                        let current = records::get(conn, &col, &id, &access)?
                            .ok_or(ResourceError::RecordNotFound)?;
                        expected_version(&current, Some(m))?
                    }
                };
                // Its files, and those of records its relations cascade to, are queued
                // by their tables' triggers.
                files::note_possible_deletions();
                records::delete(conn, &col, &id, &access, expected)
            })
            .await
    }
}
