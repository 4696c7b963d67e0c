//! The multipart reader for callers outside the records endpoint: the dashboard's record
//! forms post `multipart/form-data` with their own values (read by the dashboard) and
//! file parts named as the API names them (`F`, `F+`, `F-`). Only the file side is
//! taken from here; the blobs are stored under the record's folder as the API stores
//! them, and go again when the write that should name them fails.

use super::multipart::{self, Parsed};
use crate::records::service::FileWrite;
use crate::service::Resources;
use kernel::{Problem, ProblemCode};

/// A form's file parts, read and stored, waiting for their write.
pub struct FormUpload {
    parsed: Parsed,
}

impl FormUpload {
    /// What to hand to `create_record_with`/`patch_record_with`/`replace_record_with`.
    pub fn files(&self) -> FileWrite {
        self.parsed.files.clone()
    }

    /// Removes the blobs this form stored: its write did not commit.
    pub fn discard(&self, resources: &Resources) {
        self.parsed.discard(resources);
    }
}

impl Resources {
    /// Reads a multipart `body` for a write to record `record_id` of `collection`
    /// (generate the id first for a create). Its value parts are ignored here. Fails
    /// with the API's problem: a file too large, of a type the field refuses, more
    /// files than it holds, no file store configured, a malformed body.
    pub async fn read_form_upload(
        &self,
        content_type: &str,
        body: poem::Body,
        collection: &str,
        record_id: &str,
    ) -> Result<FormUpload, Problem> {
        let col = self.collection(collection).map_err(Problem::from)?;
        multipart::parse_body(content_type, body, self, &col, record_id)
            .await
            .map(|parsed| FormUpload { parsed })
            .map_err(|e| {
                e.downcast::<Problem>().unwrap_or_else(|e| {
                    Problem::new(ProblemCode::BadRequest).with_detail(e.to_string())
                })
            })
    }
}
