//! `/admin/collections/{name}`: the records browser (paginated, sortable, filtered with
//! the API's filter language, column chooser) and the record pages. Listing, validation
//! and rules are the resources service's, called as the signed-in admin.

use super::record_form::{self, Input};
use crate::context::{AdminCtx, Layout};
use crate::page::{self, Failure};
use crate::pages::common::{
    collection_or_failure, confirm_page, failure_page, fmt_count, ConfirmPage,
};
use crate::Admin;
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Request, Response};
use resources::schema::CollectionView;
use resources::{ListParams, ResourceError};
use serde_json::Value;

const PAGE: u64 = 25;

pub struct Column {
    pub name: String,
    pub sort_link: String,
    /// `ascending`, `descending` or `none` (for `aria-sort`).
    pub sorted: &'static str,
}

pub struct FilterProblem {
    pub message: String,
    pub before: String,
    pub at: String,
    pub after: String,
    pub position: usize,
}

#[derive(Template)]
#[template(path = "admin/records.html")]
struct BrowsePage {
    layout: Layout,
    t: Table,
}

#[derive(Template)]
#[template(path = "admin/records_table.html")]
struct TablePartial {
    t: Table,
}

pub struct Table {
    pub name: String,
    pub filter: String,
    pub sort: String,
    pub columns: Vec<Column>,
    pub all_fields: Vec<(String, bool)>,
    pub rows: Vec<(String, Vec<String>)>,
    pub total: String,
    pub range: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub filter_error: Option<FilterProblem>,
    pub error: Option<String>,
}

fn query(pairs: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default()
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn table(name: &str, view: &CollectionView, ctx: &AdminCtx) -> (Table, ListParams, u64) {
    let form = &ctx.form;
    let filter = form.get("filter").to_owned();
    let sort = form.get("sort").to_owned();
    let page: u64 = form.get("page").parse().unwrap_or(1).max(1);
    let user_fields: Vec<String> = view.fields.iter().map(|f| f.name.clone()).collect();
    let chosen = form.all("cols");
    let shown: Vec<String> = if chosen.is_empty() {
        let mut c: Vec<String> = user_fields.iter().take(6).cloned().collect();
        c.push("created_at".into());
        c
    } else {
        let mut every = user_fields.clone();
        every.extend(["created_at", "updated_at", "owner"].map(String::from));
        every.into_iter().filter(|f| chosen.contains(f)).collect()
    };
    let cols: Vec<(&str, String)> = chosen.iter().map(|c| ("cols", c.clone())).collect();
    let link = |sort: &str, page: u64| {
        let mut p = vec![("filter", filter.clone()), ("sort", sort.to_owned())];
        if page > 1 {
            p.push(("page", page.to_string()));
        }
        p.extend(cols.iter().cloned());
        format!("/admin/collections/{name}?{}", query(&p))
    };
    let columns = std::iter::once("id".to_owned())
        .chain(shown.iter().cloned())
        .map(|c| {
            let (sorted, next) = if sort == c {
                ("ascending", format!("-{c}"))
            } else if sort == format!("-{c}") {
                ("descending", c.clone())
            } else {
                ("none", c.clone())
            };
            Column {
                sort_link: link(&next, 1),
                sorted,
                name: c,
            }
        })
        .collect();
    let mut all_fields: Vec<(String, bool)> = user_fields
        .iter()
        .chain(
            ["created_at", "updated_at", "owner"]
                .map(String::from)
                .iter(),
        )
        .map(|f| (f.clone(), shown.contains(f)))
        .collect();
    all_fields.dedup();
    let params = ListParams {
        filter: Some(filter.clone()).filter(|f| !f.trim().is_empty()),
        sort: Some(sort.clone()).filter(|s| !s.is_empty()),
        limit: Some(PAGE.to_string()),
        offset: Some(((page - 1) * PAGE).to_string()),
        count: Some("true".into()),
        ..Default::default()
    };
    let (prev, next) = (
        (page > 1).then(|| link(&sort, page - 1)),
        Some(link(&sort, page + 1)),
    );
    let t = Table {
        name: name.to_owned(),
        filter,
        sort: sort.clone(),
        columns,
        all_fields,
        rows: Vec::new(),
        total: String::new(),
        range: String::new(),
        prev,
        next,
        filter_error: None,
        error: None,
    };
    (t, params, page)
}

#[handler]
pub async fn browse(
    req: &Request,
    Path(name): Path<String>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    let res = &admin.inner.resources;
    let view = match collection_or_failure(&ctx, &admin, &name) {
        Ok(v) => v,
        Err(page) => return *page,
    };
    let (mut t, params, page) = table(&name, &view, &ctx);
    let mut status = StatusCode::OK;
    match res
        .list_records(Some(ctx.admin.principal()), &name, &params)
        .await
    {
        Ok(list) => {
            let total = list.total.unwrap_or(0).max(0) as u64;
            let first = (page - 1) * PAGE;
            t.total = fmt_count(total);
            t.range = if list.items.is_empty() {
                String::new()
            } else {
                format!(
                    "{}–{} of {}",
                    first + 1,
                    first + list.items.len() as u64,
                    fmt_count(total)
                )
            };
            if first + (list.items.len() as u64) >= total {
                t.next = None;
            }
            let shown: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
            t.rows = list
                .items
                .iter()
                .map(|item| {
                    let id = cell(item.get("id"));
                    (id, shown.iter().map(|c| cell(item.get(c))).collect())
                })
                .collect();
        }
        Err(ResourceError::InvalidFilter(e)) => {
            status = StatusCode::BAD_REQUEST;
            let f = &t.filter;
            let pos = e.position.min(f.len());
            let pos = (0..=pos)
                .rev()
                .find(|p| f.is_char_boundary(*p))
                .unwrap_or(0);
            let end = f[pos..]
                .chars()
                .next()
                .map(|c| pos + c.len_utf8())
                .unwrap_or(pos);
            t.filter_error = Some(FilterProblem {
                message: e.message.clone(),
                before: f[..pos].to_owned(),
                at: if end > pos {
                    f[pos..end].to_owned()
                } else {
                    " ".into()
                },
                after: f[end..].to_owned(),
                position: e.position,
            });
            t.next = None;
        }
        Err(e) => {
            let f = Failure::new(e);
            status = f.status;
            t.error = Some(f.message);
            t.next = None;
        }
    }
    if req.headers().contains_key("hx-request") {
        // htmx swaps only 2xx answers; the error is in the fragment.
        return page::html(StatusCode::OK, &TablePartial { t });
    }
    page::html(
        status,
        &BrowsePage {
            layout: ctx.layout(&admin, "collections", name.clone()),
            t,
        },
    )
}

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
