//! Pieces several pages share: the confirmation page, the failure page, the collection
//! lookup, number format.

use crate::context::{AdminCtx, Layout};
use crate::page::{self, Failure};
use crate::Admin;
use askama::Template;
use resources::schema::CollectionView;

/// `1234567` → `1,234,567`.
pub fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub struct ConfirmPage {
    pub section: &'static str,
    pub title: String,
    pub consequences: Vec<String>,
    pub action: String,
    pub button: String,
    pub cancel: String,
}

impl ConfirmPage {
    pub fn new(
        section: &'static str,
        title: String,
        consequences: Vec<String>,
        action: String,
        button: String,
        cancel: String,
    ) -> ConfirmPage {
        ConfirmPage {
            section,
            title,
            consequences,
            action,
            button,
            cancel,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/confirm.html")]
struct ConfirmView {
    layout: Layout,
    c: ConfirmPage,
}

pub fn confirm_page(ctx: &AdminCtx, admin: &Admin, c: ConfirmPage) -> poem::Response {
    page::ok(&ConfirmView {
        layout: ctx.layout(admin, c.section, c.title.clone()),
        c,
    })
}

#[derive(Template)]
#[template(path = "admin/failure.html")]
struct FailureView {
    layout: Layout,
    f: Failure,
}

/// A failed action inside the frame, with the service's own words.
/// The collection's definition, or the failure page that says why there is none: the
/// first step of every page under `/admin/collections/{name}`.
pub fn collection_or_failure(
    ctx: &AdminCtx,
    admin: &Admin,
    name: &str,
) -> Result<CollectionView, Box<poem::Response>> {
    admin
        .inner
        .resources
        .get_collection(&ctx.admin, name)
        .map_err(|e| Box::new(failure_page(ctx, admin, "collections", Failure::new(e))))
}

pub fn failure_page(
    ctx: &AdminCtx,
    admin: &Admin,
    section: &'static str,
    f: Failure,
) -> poem::Response {
    let status = f.status;
    page::html(
        status,
        &FailureView {
            layout: ctx.layout(admin, section, "Something went wrong"),
            f,
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::fmt_count(0), "0");
        assert_eq!(super::fmt_count(1234), "1,234");
        assert_eq!(super::fmt_count(1234567), "1,234,567");
    }
}
