//! The records endpoint's writes that carry files: multipart PUT/PATCH, and JSON
//! writes that attach finished tus uploads (attach.rs).

use super::records::{object_body, problem};
use super::{attach, multipart};
use crate::error::ResourceError;
use crate::records::service::IfMatch;
use crate::RecordsEndpoint;
use kernel::Principal;
use poem::http::Method;
use poem::{Request, Response, Result};

impl RecordsEndpoint {
    /// PUT or PATCH with `multipart/form-data`: the files are stored first (after the
    /// update rule admits the caller), then the write commits their names or they go.
    pub(super) async fn update_with_files(
        &self,
        req: &mut Request,
        caller: Option<&Principal>,
        collection: &str,
        id: &str,
        if_match: Option<IfMatch>,
    ) -> Result<Response> {
        let col = self.resources.collection(collection).map_err(problem)?;
        crate::rules::authorize(&col.def.rules, crate::rules::Action::Update, caller)
            .map_err(|p| problem(ResourceError::Denied(p)))?;
        let patch = *req.method() == Method::PATCH;
        let mut parsed = if multipart::is_multipart(req) {
            multipart::parse(req, &self.resources, &col, id).await?
        } else {
            multipart::Parsed::json(object_body(req, patch).await?, id, Vec::new())
        };
        self.attach(caller, &col, id, &mut parsed).await?;
        let r = &self.resources;
        let files = parsed.files.clone();
        let written = if patch {
            r.patch_record_with(caller, collection, id, parsed.body.clone(), if_match, files)
                .await
        } else {
            r.replace_record_with(caller, collection, id, &parsed.body, if_match, files)
                .await
        };
        match written {
            Ok(record) => Ok(self.written(caller, collection, &record)),
            Err(e) => {
                parsed.discard(&self.resources);
                Err(problem(e))
            }
        }
    }

    /// Whether a JSON write to `collection` may name uploads (it has file fields): such
    /// writes take the files path, which attaches them.
    pub(super) fn may_attach(&self, collection: &str) -> bool {
        self.resources
            .collection(collection)
            .is_ok_and(|col| col.def.has_file_fields())
    }

    /// Attaches the uploads `parsed` names; on failure the blobs it stored go.
    pub(super) async fn attach(
        &self,
        caller: Option<&Principal>,
        col: &crate::registry::Collection,
        record_id: &str,
        parsed: &mut multipart::Parsed,
    ) -> Result<()> {
        if !attach::names_uploads(col, &parsed.body) {
            return Ok(());
        }
        let attached = attach::attach(&self.resources, col, caller, record_id, parsed).await;
        if attached.is_err() {
            parsed.discard(&self.resources);
        }
        attached
    }
}
