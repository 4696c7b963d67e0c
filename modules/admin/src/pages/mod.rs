//! The route table of the dashboard (nested at `/admin`), one file per page.

mod audit;
mod collections;
mod common;
mod live;
mod login;
mod overview;
mod record_files;
mod record_form;
mod record_pages;
mod records;
mod schema;
mod schema_form;
mod settings;
mod settings_limits;
mod tokens;
mod users;

use crate::guard::Guard;
use crate::Admin;
use observability::Route as Tag;
use poem::endpoint::BoxEndpoint;
use poem::{get, Endpoint, EndpointExt, Response, Route};

/// A signed-in page: behind the guard, tagged with its route template.
fn signed_in<E: Endpoint + 'static>(
    admin: &Admin,
    template: &'static str,
    ep: E,
) -> impl Endpoint + 'static {
    ep.with(Guard(admin.clone())).with(Tag(template))
}

/// The methods of each route below (under `/admin`), for the `Allow` header of a 405:
/// poem's method router does not say. Keep in step with `routes`.
pub const ROUTE_METHODS: &[(&str, &[&str])] = &[
    ("/login", &["GET", "POST"]),
    ("/setup", &["GET", "POST"]),
    ("/logout", &["POST"]),
    ("/", &["GET"]),
    ("/collections", &["GET"]),
    ("/collections/new", &["GET", "POST"]),
    ("/collections/:name", &["GET"]),
    ("/collections/:name/events", &["GET"]),
    ("/collections/:name/delete", &["GET", "POST"]),
    ("/collections/:name/schema", &["GET", "POST"]),
    ("/collections/:name/records/new", &["GET", "POST"]),
    ("/collections/:name/records/:id", &["GET", "POST"]),
    ("/collections/:name/records/:id/delete", &["GET", "POST"]),
    ("/users", &["GET", "POST"]),
    ("/users/:id", &["GET", "POST"]),
    ("/users/:id/delete", &["GET", "POST"]),
    ("/tokens", &["GET", "POST"]),
    ("/tokens/:id/revoke", &["GET", "POST"]),
    ("/audit", &["GET"]),
    ("/settings", &["GET", "POST"]),
];

pub fn routes(admin: Admin) -> BoxEndpoint<'static, Response> {
    let a = &admin;
    Route::new()
        .at(
            "/login",
            get(login::show)
                .post(login::submit)
                .with(Tag("/admin/login")),
        )
        .at(
            "/setup",
            get(login::setup_form)
                .post(login::setup_submit)
                .with(Tag("/admin/setup")),
        )
        .at(
            "/logout",
            signed_in(a, "/admin/logout", poem::post(login::logout)),
        )
        .at("/", signed_in(a, "/admin", get(overview::show)))
        .at(
            "/collections",
            signed_in(a, "/admin/collections", get(collections::list)),
        )
        .at(
            "/collections/new",
            signed_in(
                a,
                "/admin/collections/new",
                get(schema::new_form).post(schema::new_submit),
            ),
        )
        .at(
            "/collections/:name",
            signed_in(a, "/admin/collections/{name}", get(records::browse)),
        )
        .at(
            "/collections/:name/events",
            signed_in(a, "/admin/collections/{name}/events", get(live::events)),
        )
        .at(
            "/collections/:name/delete",
            signed_in(
                a,
                "/admin/collections/{name}/delete",
                get(collections::confirm_delete).post(collections::delete),
            ),
        )
        .at(
            "/collections/:name/schema",
            signed_in(
                a,
                "/admin/collections/{name}/schema",
                get(schema::edit_form).post(schema::edit_submit),
            ),
        )
        .at(
            "/collections/:name/records/new",
            signed_in(
                a,
                "/admin/collections/{name}/records/new",
                get(record_pages::new_form).post(record_pages::create),
            ),
        )
        .at(
            "/collections/:name/records/:id",
            signed_in(
                a,
                "/admin/collections/{name}/records/{id}",
                get(record_pages::edit_form).post(record_pages::update),
            ),
        )
        .at(
            "/collections/:name/records/:id/delete",
            signed_in(
                a,
                "/admin/collections/{name}/records/{id}/delete",
                get(record_pages::confirm_delete).post(record_pages::delete),
            ),
        )
        .at(
            "/users",
            signed_in(a, "/admin/users", get(users::list).post(users::create)),
        )
        .at(
            "/users/:id",
            signed_in(
                a,
                "/admin/users/{id}",
                get(users::edit_form).post(users::update),
            ),
        )
        .at(
            "/users/:id/delete",
            signed_in(
                a,
                "/admin/users/{id}/delete",
                get(users::confirm_delete).post(users::delete),
            ),
        )
        .at(
            "/tokens",
            signed_in(a, "/admin/tokens", get(tokens::list).post(tokens::create)),
        )
        .at(
            "/tokens/:id/revoke",
            signed_in(
                a,
                "/admin/tokens/{id}/revoke",
                get(tokens::confirm_revoke).post(tokens::revoke),
            ),
        )
        .at("/audit", signed_in(a, "/admin/audit", get(audit::list)))
        .at(
            "/settings",
            signed_in(
                a,
                "/admin/settings",
                get(settings::show).post(settings::save),
            ),
        )
        .data(admin)
        .boxed()
}
