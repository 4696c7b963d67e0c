//! `/admin/collections/{name}/records/…`: a record's create, edit and delete pages, with
//! forms generated from the schema (record_form.rs). Validation and rules are the
//! resources service's, called as the signed-in admin.

use super::record_form::{self, Input};
use crate::context::{AdminCtx, Layout};
use crate::page::{self, Failure};
use crate::pages::common::{collection_or_failure, confirm_page, failure_page, ConfirmPage};
use crate::Admin;
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Response};
use resources::ResourceError;

#[derive(Template)]
#[template(path = "admin/record_form.html")]
struct FormPage {
    layout: Layout,
    name: String,
    id: Option<String>,
    version: i64,
    inputs: Vec<Input>,
    error: Option<String>,
}

/// The form again, refilled with what was sent, with the service's reason: per field
/// next to each field, or as one message.
async fn refused(
    ctx: &AdminCtx,
    admin: &Admin,
    view: &resources::CollectionView,
    name: &str,
    id: Option<String>,
    version: i64,
    error: ResourceError,
) -> Response {
    let f = Failure::new(error);
    let mut inputs = record_form::inputs(admin, ctx, view, None).await;
    record_form::refill(&mut inputs, &ctx.form, &f);
    let msg = if f.fields.is_empty() {
        f.message.clone()
    } else {
        "The record was not saved: fix the fields marked below.".into()
    };
    form_page(ctx, admin, name, id, version, inputs, Some(msg), f.status)
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    ctx: &AdminCtx,
    admin: &Admin,
    name: &str,
    id: Option<String>,
    version: i64,
    inputs: Vec<Input>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let title = match &id {
        Some(_) => format!("Edit record in {name}"),
        None => format!("New record in {name}"),
    };
    page::html(
        status,
        &FormPage {
            layout: ctx.layout(admin, "collections", title),
            name: name.to_owned(),
            id,
            version,
            inputs,
            error,
        },
    )
}

#[handler]
pub async fn new_form(
    Path(name): Path<String>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    match collection_or_failure(&ctx, &admin, &name) {
        Ok(view) => {
            let inputs = record_form::inputs(&admin, &ctx, &view, None).await;
            form_page(&ctx, &admin, &name, None, 0, inputs, None, StatusCode::OK)
        }
        Err(page) => *page,
    }
}

#[handler]
pub async fn create(
    Path(name): Path<String>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    let res = &admin.inner.resources;
    let view = match collection_or_failure(&ctx, &admin, &name) {
        Ok(v) => v,
        Err(page) => return *page,
    };
    let (body, local) = record_form::body(&view, &ctx.form, false);
    let result = if local.is_empty() {
        res.create_record(Some(ctx.admin.principal()), &name, &body, None, |_| {
            unreachable!("no idempotency key")
        })
        .await
        .map(|_| ())
    } else {
        Err(ResourceError::Invalid(local))
    };
    match result {
        Ok(()) => page::see_other(&format!("/admin/collections/{name}?notice=created")),
        Err(e) => refused(&ctx, &admin, &view, &name, None, 0, e).await,
    }
}

#[handler]
pub async fn edit_form(
    Path((name, id)): Path<(String, String)>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    let res = &admin.inner.resources;
    let view = match collection_or_failure(&ctx, &admin, &name) {
        Ok(v) => v,
        Err(page) => return *page,
    };
    match res
        .get_record(Some(ctx.admin.principal()), &name, &id)
        .await
    {
        Ok(rec) => {
            let inputs = record_form::inputs(&admin, &ctx, &view, Some(&rec.json)).await;
            form_page(
                &ctx,
                &admin,
                &name,
                Some(id),
                rec.version,
                inputs,
                None,
                StatusCode::OK,
            )
        }
        Err(e) => failure_page(&ctx, &admin, "collections", Failure::new(e)),
    }
}

#[handler]
pub async fn update(
    Path((name, id)): Path<(String, String)>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    let res = &admin.inner.resources;
    let view = match collection_or_failure(&ctx, &admin, &name) {
        Ok(v) => v,
        Err(page) => return *page,
    };
    let version: i64 = ctx.form.get("version").parse().unwrap_or(0);
    let (body, local) = record_form::body(&view, &ctx.form, true);
    let result = if local.is_empty() {
        res.replace_record(
            Some(ctx.admin.principal()),
            &name,
            &id,
            &body,
            Some(resources::IfMatch::Versions(vec![version])),
        )
        .await
        .map(|_| ())
    } else {
        Err(ResourceError::Invalid(local))
    };
    match result {
        Ok(()) => page::see_other(&format!("/admin/collections/{name}?notice=saved")),
        Err(e) => refused(&ctx, &admin, &view, &name, Some(id), version, e).await,
    }
}

#[handler]
pub async fn confirm_delete(
    Path((name, id)): Path<(String, String)>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    if let Err(e) = admin
        .inner
        .resources
        .get_record(Some(ctx.admin.principal()), &name, &id)
        .await
    {
        return failure_page(&ctx, &admin, "collections", Failure::new(e));
    }
    confirm_page(&ctx, &admin, ConfirmPage::new(
        "collections",
        format!("Delete this record from {name}?"),
        vec![format!("Record {id} and all its values are deleted."),
             "Records in other collections that point at it are handled by their relation's on-delete setting (refused, cascaded or cleared).".into()],
        format!("/admin/collections/{name}/records/{id}/delete"),
        "Delete record".into(),
        format!("/admin/collections/{name}/records/{id}"),
    ))
}

#[handler]
pub async fn delete(
    Path((name, id)): Path<(String, String)>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    match admin
        .inner
        .resources
        .delete_record(Some(ctx.admin.principal()), &name, &id, None)
        .await
    {
        Ok(()) => page::see_other(&format!("/admin/collections/{name}?notice=deleted")),
        Err(e) => failure_page(&ctx, &admin, "collections", Failure::new(e)),
    }
}
