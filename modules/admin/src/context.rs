//! What every signed-in page knows: who is acting (as an `AdminWriter`), the
//! session's CSRF token, the submitted form, and the shared page frame.

use crate::form::Form;
use crate::Admin;
use auth::{Ctx, User};
use kernel::AdminWriter;

/// Put into the request by the guard; pages take it with `Data<&AdminCtx>`.
#[derive(Clone)]
pub struct AdminCtx {
    pub user: User,
    /// Dashboard sessions are interactive admin logins with every scope, so they may
    /// also change things (read-only pages take it as an `AdminPrincipal`).
    pub admin: AdminWriter,
    pub csrf: String,
    /// The query (GET) or the form body (POST), already read.
    pub form: Form,
    /// Client address and request id, for the audit log.
    pub ctx: Ctx,
}

/// The frame around every signed-in page: navigation, the user, the CSRF token.
pub struct Layout {
    pub title: String,
    pub section: &'static str,
    pub email: String,
    pub csrf: String,
    pub css: String,
    pub js: String,
    pub htmx: String,
    pub notice: Option<String>,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub key: &'static str,
}

pub const NAV: [NavItem; 6] = [
    NavItem {
        href: "/admin",
        label: "Overview",
        key: "overview",
    },
    NavItem {
        href: "/admin/collections",
        label: "Collections",
        key: "collections",
    },
    NavItem {
        href: "/admin/users",
        label: "Users",
        key: "users",
    },
    NavItem {
        href: "/admin/tokens",
        label: "API tokens",
        key: "tokens",
    },
    NavItem {
        href: "/admin/audit",
        label: "Audit log",
        key: "audit",
    },
    NavItem {
        href: "/admin/settings",
        label: "Settings",
        key: "settings",
    },
];

impl Layout {
    pub fn nav(&self) -> &'static [NavItem] {
        &NAV
    }
}

/// Messages a redirect may ask the next page to show (`?notice=KEY`): fixed texts, so a
/// crafted link cannot put words in the dashboard's mouth.
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "created" => "Created.",
        "saved" => "Saved.",
        "deleted" => "Deleted.",
        "revoked" => "Token revoked.",
        "applied" => "Schema change applied.",
        _ => return None,
    })
}

impl AdminCtx {
    pub fn layout(&self, admin: &Admin, section: &'static str, title: impl Into<String>) -> Layout {
        let asset = admin.inner.config.asset_url;
        Layout {
            title: title.into(),
            section,
            email: self.user.email.clone(),
            csrf: self.csrf.clone(),
            css: asset("admin/admin.css"),
            js: asset("admin/admin.js"),
            htmx: asset("vendor/htmx/htmx.min.js"),
            notice: notice_text(self.form.get("notice")).map(str::to_owned),
        }
    }
}
