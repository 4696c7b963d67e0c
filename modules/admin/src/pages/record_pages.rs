//! `/admin/collections/{name}/records/…`: a record's create, edit and delete pages, with
//! forms generated from the schema (record_form.rs). Validation and rules are the
//! resources service's, called as the signed-in admin.

use super::record_form::{self, Input};
use crate::context::{AdminCtx, Layout};
use crate::form::Form;
use crate::page::{self, Failure};
use crate::pages::common::{collection_or_failure, confirm_page, failure_page, ConfirmPage};
use crate::Admin;
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Body, Request, Response};
use resources::{FormUpload, ResourceError};

#[derive(Template)]
#[template(path = "admin/record_form.html")]
struct FormPage {
    layout: Layout,
    name: String,
    id: Option<String>,
    version: i64,
    inputs: Vec<Input>,
    error: Option<String>,
    /// The collection has file fields: the form posts multipart.
    multipart: bool,
}

/// The form again, refilled with what was sent, with the service's reason: per field
/// next to each field, or as one message. An edit lists the record's files as they are.
async fn refused(
    ctx: &AdminCtx,
    admin: &Admin,
    view: &resources::CollectionView,
    form: &Form,
    id: Option<String>,
    version: i64,
    f: Failure,
) -> Response {
    let current = match &id {
        Some(id) => admin
            .inner
            .resources
            .get_record(Some(ctx.admin.principal()), &view.name, id)
            .await
            .ok(),
        None => None,
    };
    // A multipart form refused before its values were read has no version: the
    // record's own is the one the admin saw.
    let version = match &current {
        Some(r) if version == 0 => r.version,
        _ => version,
    };
    let current = current.map(|r| r.json);
    let mut inputs = record_form::inputs(admin, ctx, view, current.as_ref()).await;
    record_form::refill(&mut inputs, form, &f);
    let msg = if f.fields.is_empty() {
        f.message.clone()
    } else {
        "The record was not saved: fix the fields marked below.".into()
    };
    form_page(
        ctx,
        admin,
        &view.name,
        id,
        version,
        inputs,
        Some(msg),
        f.status,
    )
}

/// The form's values, and its file parts when it came as multipart (it has file
/// fields), stored under record `record_id`. A refusal (too large, wrong type, too
/// many) names its field.
async fn read_form(
    admin: &Admin,
    ctx: &AdminCtx,
    req: &Request,
    body: Body,
    view: &resources::CollectionView,
    record_id: &str,
) -> Result<(Form, Option<FormUpload>), (Form, Failure)> {
    let content_type = req.content_type().unwrap_or_default();
    if !kernel::media::is_multipart(req.headers()) {
        return Ok((ctx.form.clone(), None));
    }
    let res = &admin.inner.resources;
    match res
        .read_form_upload(content_type, body, &view.name, record_id)
        .await
    {
        Ok(upload) => Ok((Form(upload.values()), Some(upload))),
        Err(refused) => {
            let mut f = Failure::from_problem(refused.problem);
            // "Too large" is a whole-request problem in the API; the form puts it on the
            // field its detail names.
            if f.fields.is_empty() {
                if let Some(field) = view
                    .fields
                    .iter()
                    .find(|fd| f.message.starts_with(&format!("`{}`", fd.name)))
                {
                    f.fields.push(kernel::FieldError::new(
                        field.name.clone(),
                        kernel::FieldCode::Invalid,
                        f.message.trim_start_matches(&format!("`{}` ", field.name)),
                    ));
                }
            }
            Err((Form(refused.values), f))
        }
    }
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
            multipart: inputs.iter().any(|i| i.kind == "file"),
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
    req: &Request,
    body: Body,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    let res = &admin.inner.resources;
    let view = match collection_or_failure(&ctx, &admin, &name) {
        Ok(v) => v,
        Err(page) => return *page,
    };
    // The id is chosen here so that the files are stored under it before the write.
    let id = kernel::ids::new_id();
    let (form, upload) = match read_form(&admin, &ctx, req, body, &view, &id).await {
        Ok(read) => read,
        Err((form, f)) => return refused(&ctx, &admin, &view, &form, None, 0, f).await,
    };
    let (values, local) = record_form::body(&view, &form, false);
    if !local.is_empty() {
        if let Some(u) = &upload {
            u.discard(res);
        }
        let f = Failure::new(ResourceError::Invalid(local));
        return refused(&ctx, &admin, &view, &form, None, 0, f).await;
    }
    let files = upload.as_ref().map(FormUpload::files).unwrap_or_default();
    let result = res
        .create_record_with(
            Some(ctx.admin.principal()),
            &name,
            &values,
            None,
            |_| unreachable!("no idempotency key"),
            files,
        )
        .await;
    match result {
        Ok(_) => page::see_other(&format!("/admin/collections/{name}?notice=created")),
        Err(e) => {
            if let Some(u) = &upload {
                u.discard(res);
            }
            refused(&ctx, &admin, &view, &form, None, 0, Failure::new(e)).await
        }
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
    req: &Request,
    body: Body,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    let res = &admin.inner.resources;
    let view = match collection_or_failure(&ctx, &admin, &name) {
        Ok(v) => v,
        Err(page) => return *page,
    };
    let (form, upload) = match read_form(&admin, &ctx, req, body, &view, &id).await {
        Ok(read) => read,
        Err((form, f)) => {
            let version = form.get("version").parse().unwrap_or(0);
            return refused(&ctx, &admin, &view, &form, Some(id), version, f).await;
        }
    };
    let version: i64 = form.get("version").parse().unwrap_or(0);
    let (values, local) = record_form::body(&view, &form, true);
    if !local.is_empty() {
        if let Some(u) = &upload {
            u.discard(res);
        }
        let f = Failure::new(ResourceError::Invalid(local));
        return refused(&ctx, &admin, &view, &form, Some(id), version, f).await;
    }
    let files = upload.as_ref().map(FormUpload::files).unwrap_or_default();
    // A patch with every other field: the file fields keep their files unless the
    // form removed some (`F-`) or added some (`F+`).
    let result = res
        .patch_record_with(
            Some(ctx.admin.principal()),
            &name,
            &id,
            values,
            Some(resources::IfMatch::Versions(vec![version])),
            files,
        )
        .await;
    match result {
        Ok(_) => page::see_other(&format!("/admin/collections/{name}?notice=saved")),
        Err(e) => {
            if let Some(u) = &upload {
                u.discard(res);
            }
            refused(
                &ctx,
                &admin,
                &view,
                &form,
                Some(id),
                version,
                Failure::new(e),
            )
            .await
        }
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
