//! `/collections` (admins only, API.md 2.2).

use crate::collections::service::Change;
use crate::schema::{CollectionSpec, CollectionView};
use crate::service::Resources;
use kernel::{AdminPrincipal, AdminWriter, AuditEvent, AuditSink, BearerAuth, Problem};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use std::sync::Arc;

#[derive(Tags)]
enum Tag {
    /// Defining resources (admins only).
    Collections,
}

#[derive(Object)]
struct CollectionList {
    items: Vec<CollectionView>,
}

#[derive(ApiResponse)]
enum Created {
    /// The collection was created; its records are served at `/api/v1/{name}`.
    #[oai(status = 201)]
    Created(Json<CollectionView>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
enum Deleted {
    /// The collection and all its records are gone.
    #[oai(status = 204)]
    NoContent,
}

/// What a definition change did (or, in a dry run, would do).
#[derive(Object)]
#[oai(rename = "CollectionChange")]
struct ChangeBody {
    collection: CollectionView,
    /// The migration's steps, in words.
    steps: Vec<String>,
    /// False for a dry run.
    applied: bool,
    /// Rows copied when the table had to be rebuilt; null when it was not.
    #[oai(nullable)]
    rows_copied: Option<u64>,
}

impl From<Change> for ChangeBody {
    fn from(c: Change) -> Self {
        ChangeBody {
            collection: c.collection,
            steps: c.steps,
            applied: c.applied,
            rows_copied: c.rows_copied,
        }
    }
}

pub struct CollectionsApi;

#[OpenApi(tag = "Tag::Collections")]
impl CollectionsApi {
    /// List collections.
    #[oai(
        path = "/collections",
        method = "get",
        operation_id = "list_collections"
    )]
    async fn list(
        &self,
        resources: Data<&Resources>,
        auth: BearerAuth,
    ) -> Result<Json<CollectionList>, Problem> {
        let admin = AdminPrincipal::check(auth.0)?;
        Ok(Json(CollectionList {
            items: resources.list_collections(&admin),
        }))
    }

    /// Create a collection.
    ///
    /// Creates a table with typed columns, constraints and indexes; the OpenAPI document
    /// gains the collection's paths and schemas at once.
    #[oai(
        path = "/collections",
        method = "post",
        operation_id = "create_collection"
    )]
    async fn create(
        &self,
        resources: Data<&Resources>,
        audit: Data<&Arc<dyn AuditSink>>,
        req: &Request,
        auth: BearerAuth,
        body: Json<CollectionSpec>,
    ) -> Result<Created, Problem> {
        let admin = AdminWriter::check(auth.0)?;
        let view = resources.create_collection(&admin, body.0).await?;
        audit.record(
            AuditEvent::new("collection.created")
                .by(admin.principal())
                .target(&view.name)
                .from_request(req),
        );
        let location = format!("/api/v1/collections/{}", view.name);
        Ok(Created::Created(Json(view), location))
    }

    /// Get a collection's definition.
    #[oai(
        path = "/collections/:name",
        method = "get",
        operation_id = "get_collection"
    )]
    async fn get(
        &self,
        resources: Data<&Resources>,
        auth: BearerAuth,
        name: Path<String>,
    ) -> Result<Json<CollectionView>, Problem> {
        let admin = AdminPrincipal::check(auth.0)?;
        Ok(Json(resources.get_collection(&admin, &name)?))
    }

    /// Change a collection's definition.
    ///
    /// Computes the migration from the current definition and runs it in one
    /// transaction. Fields keep their data when their name stays (or when `renamed_from`
    /// names their old name); a change existing records violate gets 409
    /// `schema_conflict` and changes nothing. With `dry_run=true`, reports the steps and
    /// checks the data without changing anything.
    #[oai(
        path = "/collections/:name",
        method = "put",
        operation_id = "update_collection"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn update(
        &self,
        resources: Data<&Resources>,
        audit: Data<&Arc<dyn AuditSink>>,
        req: &Request,
        auth: BearerAuth,
        name: Path<String>,
        dry_run: Query<Option<bool>>,
        body: Json<CollectionSpec>,
    ) -> Result<Json<ChangeBody>, Problem> {
        let admin = AdminWriter::check(auth.0)?;
        let change = resources
            .update_collection(&admin, &name, body.0, dry_run.0.unwrap_or(false))
            .await?;
        if change.applied {
            let event = AuditEvent::new("collection.changed")
                .by(admin.principal())
                .target(name.0.clone())
                .detail(serde_json::json!({"steps": change.steps}));
            audit.record(event.from_request(req));
        }
        Ok(Json(change.into()))
    }

    /// Delete a collection and all its records.
    ///
    /// Refused with 409 while other collections have relations to it, unless
    /// `force=true`, which removes those relation fields first.
    #[oai(
        path = "/collections/:name",
        method = "delete",
        operation_id = "delete_collection"
    )]
    async fn delete(
        &self,
        resources: Data<&Resources>,
        audit: Data<&Arc<dyn AuditSink>>,
        req: &Request,
        auth: BearerAuth,
        name: Path<String>,
        force: Query<Option<bool>>,
    ) -> Result<Deleted, Problem> {
        let admin = AdminWriter::check(auth.0)?;
        resources
            .delete_collection(&admin, &name, force.0.unwrap_or(false))
            .await?;
        let event = AuditEvent::new("collection.deleted")
            .by(admin.principal())
            .target(name.0.clone());
        audit.record(event.from_request(req));
        Ok(Deleted::NoContent)
    }
}
