//! `/admin/collections/{name}`: the records browser (paginated, sortable, filtered with
//! the API's filter language, column chooser, kept up to date live by `admin.js` from
//! the `data-events` stream, live.rs). Listing and rules are the resources service's,
//! called as the signed-in admin; the record pages are in record_pages.rs.

use crate::context::{AdminCtx, Layout};
use crate::page::{self, Failure};
use crate::pages::common::{collection_or_failure, fmt_count};
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
    /// The live feed of this view (`data-events`): None when the table shows an error.
    pub events: Option<String>,
    /// The feed's newest sequence, read before the rows (`data-since`): the stream
    /// resumes after it, so nothing committed while the page was built is missed.
    pub since: Option<i64>,
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
        events: None,
        since: None,
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
    t.since = admin.inner.realtime.newest_seq().await;
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
    if t.filter_error.is_none() && t.error.is_none() {
        // Unfiltered even when the table is: a stream's filter sees a record only after
        // its change, so an update that takes a row out of the filter would never reach
        // the page and the row would stay. Every change refreshes the table, which
        // applies the filter itself.
        t.events = Some(format!("/admin/collections/{name}/events"));
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
