//! The multipart reader for callers outside the records endpoint: the dashboard's record
//! forms post `multipart/form-data` with their own values (read by the dashboard) and
//! file parts named as the API names them (`F`, `F+`, `F-`). The blobs are stored under
//! the record's folder as the API stores them, and go again when the write that should
//! name them fails; the values are handed back as text for the dashboard to read.

use super::multipart::{self, Parsed};
use crate::records::service::FileWrite;
use crate::service::Resources;
use kernel::{Problem, ProblemCode};
use serde_json::{Map, Value};

/// A form's file parts, read and stored, waiting for their write.
pub struct FormUpload {
    parsed: Parsed,
}

impl FormUpload {
    /// What to hand to `create_record_with`/`patch_record_with`/`replace_record_with`.
    pub fn files(&self) -> FileWrite {
        self.parsed.files.clone()
    }

    /// The form's value parts (everything but files and `F-`/`F` names) as text, in
    /// name order.
    pub fn values(&self) -> Vec<(String, String)> {
        as_text(&self.parsed.body)
    }

    /// Removes the blobs this form stored: its write did not commit.
    pub fn discard(&self, resources: &Resources) {
        self.parsed.discard(resources);
    }
}

/// A body `parse_body` refused, with the values it had read before (a form shown
/// again keeps them).
pub(crate) struct Refused {
    pub error: poem::Error,
    pub values: Map<String, Value>,
}

impl From<poem::Error> for Refused {
    fn from(error: poem::Error) -> Refused {
        Refused {
            error,
            values: Map::new(),
        }
    }
}

/// A form the reader refused, and the values it had read before.
pub struct FormRefused {
    pub problem: Problem,
    pub values: Vec<(String, String)>,
}

fn as_text(values: &Map<String, Value>) -> Vec<(String, String)> {
    values
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

impl Resources {
    /// Reads a multipart `body` for a write to record `record_id` of `collection`
    /// (generate the id first for a create). Value parts are kept as the multipart
    /// reader reads them (`values`). Fails with the API's problem, and the values read
    /// before it: a file too large, of a type the field refuses, more files than it
    /// holds, no file store configured, a malformed body.
    pub async fn read_form_upload(
        &self,
        content_type: &str,
        body: poem::Body,
        collection: &str,
        record_id: &str,
    ) -> Result<FormUpload, FormRefused> {
        let col = self.collection(collection).map_err(|e| FormRefused {
            problem: e.into(),
            values: Vec::new(),
        })?;
        multipart::parse_body(content_type, body, self, &col, record_id)
            .await
            .map(|parsed| FormUpload { parsed })
            .map_err(|r| FormRefused {
                problem: r.error.downcast::<Problem>().unwrap_or_else(|e| {
                    Problem::new(ProblemCode::BadRequest).with_detail(e.to_string())
                }),
                values: as_text(&r.values),
            })
    }
}
