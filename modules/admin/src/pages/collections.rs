//! `/admin/collections`: every collection with its size, and deletion behind a
//! confirmation page that names what is lost.

use crate::context::{AdminCtx, Layout};
use crate::page::{self, Failure};
use crate::pages::common::{confirm_page, fmt_count, ConfirmPage};
use crate::Admin;
use askama::Template;
use poem::web::{Data, Path};
use poem::{handler, Response};

pub struct Row {
    pub name: String,
    pub description: String,
    pub fields: usize,
    pub records: String,
    pub version: i64,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "admin/collections.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
}

#[handler]
pub async fn list(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    let res = &admin.inner.resources;
    let counts = res.count_records().await.unwrap_or_default();
    let rows = res
        .list_collections(&ctx.admin)
        .into_iter()
        .map(|c| Row {
            records: counts
                .iter()
                .find(|(n, _)| *n == c.name)
                .map(|(_, n)| fmt_count(*n))
                .unwrap_or_else(|| "—".into()),
            fields: c.fields.len(),
            description: c.description.unwrap_or_default(),
            version: c.schema_version,
            updated: c.updated_at.get(..16).unwrap_or_default().replace('T', " "),
            name: c.name,
        })
        .collect();
    page::ok(&ListPage {
        layout: ctx.layout(&admin, "collections", "Collections"),
        rows,
    })
}

#[handler]
pub async fn confirm_delete(
    Path(name): Path<String>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    let res = &admin.inner.resources;
    if let Err(page) = crate::pages::common::collection_or_failure(&ctx, &admin, &name) {
        return *page;
    }
    let count = res
        .count_records()
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, n)| n)
        .unwrap_or(0);
    let referrers: Vec<String> = res
        .list_collections(&ctx.admin)
        .into_iter()
        .filter(|c| {
            c.name != name
                && c.fields
                    .iter()
                    .any(|f| f.collection.as_deref() == Some(&name))
        })
        .map(|c| c.name)
        .collect();
    let mut consequences = vec![format!(
        "Delete collection {name} and its {} record{}.",
        fmt_count(count),
        if count == 1 { "" } else { "s" }
    )];
    consequences.push(format!("The API paths /api/v1/{name} stop existing."));
    if !referrers.is_empty() {
        consequences.push(format!(
            "Relation fields pointing here are removed from: {}.",
            referrers.join(", ")
        ));
    }
    confirm_page(
        &ctx,
        &admin,
        ConfirmPage::new(
            "collections",
            format!("Delete collection {name}?"),
            consequences,
            format!("/admin/collections/{name}/delete"),
            format!("Delete {name} and {} records", fmt_count(count)),
            format!("/admin/collections/{name}"),
        ),
    )
}

#[handler]
pub async fn delete(
    Path(name): Path<String>,
    ctx: Data<&AdminCtx>,
    admin: Data<&Admin>,
) -> Response {
    // The confirmation page listed the relation fields that go too: force.
    match admin
        .inner
        .resources
        .delete_collection(&ctx.admin, &name, true)
        .await
    {
        Ok(()) => page::see_other("/admin/collections?notice=deleted"),
        Err(e) => crate::pages::common::failure_page(&ctx, &admin, "collections", Failure::new(e)),
    }
}
