//! `/admin/collections/new` and `/admin/collections/{name}/schema`: the schema editor.
//! Edits (add, remove, move) re-render the posted state; "Preview" runs the service's
//! dry run and lists the migration steps; "Apply" and "Create" call the service.

use super::schema_form::{Editor, TYPES};
use crate::context::{AdminCtx, Layout};
use crate::page::{self, Failure};
use crate::pages::common::collection_or_failure;
use crate::Admin;
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Response};
use resources::ResourceError;

#[derive(Template)]
#[template(path = "admin/schema.html")]
struct SchemaPage {
    layout: Layout,
    creating: bool,
    editor: Editor,
    types: &'static [(&'static str, &'static str)],
    collections: Vec<String>,
    /// The dry run's steps, when previewed.
    steps: Option<Vec<String>>,
    rows_copied: Option<u64>,
    /// A refused change, in the service's words.
    refused: Option<String>,
    /// What the stored definition gives away (`CollectionView::warnings`).
    warnings: Vec<String>,
    action: String,
}

fn render(
    ctx: &AdminCtx,
    admin: &Admin,
    creating: bool,
    editor: Editor,
    status: StatusCode,
) -> Response {
    render_with(ctx, admin, creating, editor, status, None, None, None)
}

#[allow(clippy::too_many_arguments)]
fn render_with(
    ctx: &AdminCtx,
    admin: &Admin,
    creating: bool,
    editor: Editor,
    status: StatusCode,
    steps: Option<Vec<String>>,
    rows_copied: Option<u64>,
    refused: Option<String>,
) -> Response {
    let title = if creating {
        "New collection".to_owned()
    } else {
        format!("Schema of {}", editor.name)
    };
    let action = if creating {
        "/admin/collections/new".to_owned()
    } else {
        format!("/admin/collections/{}/schema", editor.name)
    };
    page::html(
        status,
        &SchemaPage {
            layout: ctx.layout(admin, "collections", title),
            creating,
            types: &TYPES,
            collections: admin.inner.resources.collection_names(),
            editor,
            steps,
            rows_copied,
            refused,
            warnings: Vec::new(),
            action,
        },
    )
}

/// Places a service error in the editor; a conflict or other refusal is a banner.
fn refuse(
    ctx: &AdminCtx,
    admin: &Admin,
    creating: bool,
    mut editor: Editor,
    e: ResourceError,
) -> Response {
    let f = Failure::new(e);
    editor.place_errors(&f.fields);
    let refused = if f.fields.is_empty() {
        f.message.clone()
    } else {
        "Fix the fields marked below.".to_owned()
    };
    render_with(
        ctx,
        admin,
        creating,
        editor,
        f.status,
        None,
        None,
        Some(refused),
    )
}

#[handler]
pub async fn new_form(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    render(&ctx, &admin, true, Editor::empty(), StatusCode::OK)
}

#[handler]
pub async fn new_submit(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    let mut editor = Editor::from_form(&ctx.form);
    if editor.edit(ctx.form.get("action")) {
        return render(&ctx, &admin, true, editor, StatusCode::OK);
    }
    let Some(spec) = editor.build_spec() else {
        return render(&ctx, &admin, true, editor, StatusCode::UNPROCESSABLE_ENTITY);
    };
    match admin
        .inner
        .resources
        .create_collection(&ctx.admin, spec)
        .await
    {
        Ok(c) => page::see_other(&format!("/admin/collections/{}?notice=created", c.name)),
        Err(e) => refuse(&ctx, &admin, true, editor, e),
    }
}

#[handler]
pub async fn edit_form(
    Path(name): Path<String>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    match collection_or_failure(&ctx, &admin, &name) {
        Ok(view) => page::html(
            StatusCode::OK,
            &SchemaPage {
                layout: ctx.layout(&admin, "collections", format!("Schema of {name}")),
                creating: false,
                types: &TYPES,
                collections: admin.inner.resources.collection_names(),
                editor: Editor::from_view(&view),
                steps: None,
                rows_copied: None,
                refused: None,
                warnings: view.warnings,
                action: format!("/admin/collections/{name}/schema"),
            },
        ),
        Err(page) => *page,
    }
}

#[handler]
pub async fn edit_submit(
    Path(name): Path<String>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    let mut editor = Editor::from_form(&ctx.form);
    // The name is the path's: collections cannot be renamed.
    editor.name = name.clone();
    let action = ctx.form.get("action").to_owned();
    if editor.edit(&action) {
        return render(&ctx, &admin, false, editor, StatusCode::OK);
    }
    let Some(spec) = editor.build_spec() else {
        return render(
            &ctx,
            &admin,
            false,
            editor,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let dry_run = action != "apply";
    match admin
        .inner
        .resources
        .update_collection(&ctx.admin, &name, spec, dry_run)
        .await
    {
        Ok(change) if dry_run => render_with(
            &ctx,
            &admin,
            false,
            editor,
            StatusCode::OK,
            Some(change.steps),
            change.rows_copied,
            None,
        ),
        Ok(_) => page::see_other(&format!("/admin/collections/{name}/schema?notice=applied")),
        Err(e) => refuse(&ctx, &admin, false, editor, e),
    }
}
