//! The limit a tus upload is created with (`files::tus::UploadLimit`): the `max_size`
//! of the file field its `Upload-Metadata` names, for a caller who may write records of
//! that collection (`Resources::upload_limit`; anything else is refused alike).

use resources::Resources;
use std::sync::Arc;

pub fn lookup(resources: &Resources) -> files::tus::UploadLimit {
    let resources = resources.clone();
    Arc::new(move |caller, collection, field| resources.upload_limit(caller, collection, field))
}
