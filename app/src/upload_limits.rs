//! The limit a tus upload is created with (`files::tus::UploadLimit`): the `max_size`
//! of the file field its `Upload-Metadata` names, from the collection registry.

use kernel::{AdminPrincipal, Credential, Principal, Scope};
use resources::schema::FieldTypeName;
use resources::Resources;
use std::sync::Arc;

/// `resources` offers collection definitions only to admins (`get_collection`), so the
/// lookup reads them as the server itself: this principal never leaves this function
/// and is never given to a request. (A read-only accessor on `Resources` would do
/// without it.)
pub fn lookup(resources: &Resources) -> files::tus::UploadLimit {
    let resources = resources.clone();
    let server = Principal {
        user_id: "hearth-server".into(),
        email: String::new(),
        is_admin: true,
        roles: Default::default(),
        scopes: [Scope::Read, Scope::Admin].into_iter().collect(),
        credential: Credential::Session,
    };
    let Ok(reader) = AdminPrincipal::check(server) else {
        return Arc::new(|_, _| None);
    };
    Arc::new(move |collection: &str, field: &str| {
        let view = resources.get_collection(&reader, collection).ok()?;
        view.fields
            .into_iter()
            .find(|f| f.name == field && f.type_ == FieldTypeName::File)
            .and_then(|f| f.max_size)
    })
}
