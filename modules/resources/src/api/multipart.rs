//! `multipart/form-data` record writes (docs/API.md, "Files"): file parts stream into the
//! file store under the record's folder while the body is read, then the write commits
//! the names. Part names:
//!
//! - `F` with a file name: a file for file field `F` (these replace the field's files);
//!   `F+`: files appended to what the record holds (PATCH); `F-` (a value, no file):
//!   a stored name to take out; `F` as a value: a stored name to keep (empty: none).
//! - `@json`: a JSON object with any fields, as a JSON body would carry them.
//! - any other name: that field's value as text, read as its type reads it (numbers,
//!   `true`/`false`, JSON for json fields; empty is null).
//!
//! Whatever fails (a file too large, a type not allowed, the write refused) removes the
//! blobs this request stored: nothing is left without its record.

use super::form_upload::Refused;
use crate::error::ResourceError;
use crate::fields::{FieldType, FileOptions};
use crate::records::file_names::FileEdits;
use crate::records::service::FileWrite;
use crate::registry::Collection;
use crate::service::Resources;
use files::{BlobKey, BlobStore, StoreError};
use futures_util::StreamExt;
use kernel::{FieldCode, FieldError, Problem, ProblemCode};
use poem::http::header;
use poem::Request;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Form values (everything but files) may take this much in all.
const MAX_VALUES_BYTES: usize = 1 << 20;
/// Parts in one request, files and values together.
const MAX_PARTS: usize = 1000;

pub(crate) fn is_multipart(req: &Request) -> bool {
    kernel::media::is_multipart(req.headers())
}

/// A multipart body, read: the fields' values, what it did to file fields, the blobs it
/// stored (to remove if the write does not commit), and a digest for idempotency keys.
pub(crate) struct Parsed {
    pub body: Map<String, Value>,
    pub files: FileWrite,
    pub stored: Vec<BlobKey>,
    pub digest: Vec<u8>,
}

impl Parsed {
    /// A JSON body that names uploads to attach (attach.rs), for record `record_id`.
    pub fn json(body: Map<String, Value>, record_id: &str, digest: Vec<u8>) -> Parsed {
        Parsed {
            body,
            files: FileWrite {
                id: Some(record_id.to_owned()),
                ..FileWrite::default()
            },
            stored: Vec::new(),
            digest,
        }
    }

    /// Removes the blobs this request stored: its write did not commit.
    pub fn discard(&self, resources: &Resources) {
        discard(resources.files().cloned(), self.stored.clone());
    }
}

fn discard(store: Option<BlobStore>, keys: Vec<BlobKey>) {
    let Some(store) = store else { return };
    if keys.is_empty() {
        return;
    }
    tokio::spawn(async move {
        for key in keys {
            if let Err(e) = store.delete(&key).await {
                // The orphan sweep takes it later.
                tracing::warn!(error = %e, key = key.as_str(), "could not remove an upload whose write failed");
            }
        }
    });
}

fn bad(detail: impl Into<String>) -> poem::Error {
    Problem::new(ProblemCode::BadRequest)
        .with_detail(detail)
        .into()
}

fn invalid(field: &str, code: FieldCode, message: impl Into<String>) -> poem::Error {
    Problem::from(ResourceError::Invalid(vec![FieldError::new(
        field, code, message,
    )]))
    .into()
}

/// Reads the body of `req` (a multipart write to `record_id` of `col`).
pub(crate) async fn parse(
    req: &mut Request,
    resources: &Resources,
    col: &Arc<Collection>,
    record_id: &str,
) -> Result<Parsed, poem::Error> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    parse_body(&content_type, req.take_body(), resources, col, record_id)
        .await
        .map_err(|r| r.error)
}

/// Reads `body`, sent with `content_type`: `parse` for callers that hold the body
/// rather than the request (the dashboard's record forms).
pub(crate) async fn parse_body(
    content_type: &str,
    body: poem::Body,
    resources: &Resources,
    col: &Arc<Collection>,
    record_id: &str,
) -> Result<Parsed, Refused> {
    let Some(store) = resources.files().cloned() else {
        let e: poem::Error = Problem::new(ProblemCode::Unavailable)
            .with_detail("file uploads are not configured on this server")
            .into();
        return Err(e.into());
    };
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| bad("a multipart/form-data body needs a boundary in its Content-Type"))?;
    let stream = body.into_bytes_stream();
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut reader = Reader {
        col,
        store: &store,
        record_id,
        parsed: Parsed {
            body: Map::new(),
            files: FileWrite {
                id: Some(record_id.to_owned()),
                ..FileWrite::default()
            },
            stored: Vec::new(),
            digest: Vec::new(),
        },
        values_bytes: 0,
        parts: 0,
        hashes: Vec::new(),
    };
    let outcome = reader.read_all(&mut multipart).await;
    let mut parsed = reader.parsed;
    if let Err(e) = outcome {
        discard(Some(store), parsed.stored);
        return Err(Refused {
            error: e,
            values: parsed.body,
        });
    }
    reader.hashes.sort();
    let mut digest = Sha256::new();
    digest.update(serde_json::to_vec(&Value::Object(parsed.body.clone())).unwrap_or_default());
    for (field, hash) in &reader.hashes {
        digest.update(field.as_bytes());
        digest.update(hash.as_bytes());
    }
    parsed.digest = digest.finalize().to_vec();
    Ok(parsed)
}

struct Reader<'a> {
    col: &'a Collection,
    store: &'a BlobStore,
    record_id: &'a str,
    parsed: Parsed,
    values_bytes: usize,
    parts: usize,
    hashes: Vec<(String, String)>,
}

impl Reader<'_> {
    async fn read_all(&mut self, multipart: &mut multer::Multipart<'_>) -> Result<(), poem::Error> {
        let mut json_seen = false;
        let mut plain: Vec<String> = Vec::new();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| bad(format!("the multipart body is malformed: {e}")))?
        {
            self.parts += 1;
            if self.parts > MAX_PARTS {
                return Err(bad(format!("at most {MAX_PARTS} parts per request")));
            }
            let name = field
                .name()
                .ok_or_else(|| {
                    bad("every part needs a name (Content-Disposition: form-data; name=…)")
                })?
                .to_owned();
            if let Some(original) = field.file_name().map(str::to_owned) {
                self.file(&name, &original, field).await?;
                continue;
            }
            let text = self.value_text(field).await?;
            if name == "@json" {
                if json_seen {
                    return Err(bad("`@json` is given twice"));
                }
                json_seen = true;
                match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(map)) => {
                        for (k, v) in map {
                            if plain.contains(&k) {
                                return Err(bad(format!("`{k}` is given twice")));
                            }
                            plain.push(k.clone());
                            self.parsed.body.insert(k, v);
                        }
                    }
                    _ => {
                        return Err(Problem::new(ProblemCode::InvalidJson)
                            .with_detail("`@json` must be a JSON object")
                            .into())
                    }
                }
                continue;
            }
            if let Some(base) = name.strip_suffix('-') {
                if let Some(edit) = self.file_field(base).map(|_| base.to_owned()) {
                    self.edits().entry(edit).or_default().remove.push(text);
                    continue;
                }
            }
            if self.file_field(&name).is_some() {
                let set = self
                    .edits()
                    .entry(name.clone())
                    .or_default()
                    .set
                    .get_or_insert_with(Vec::new);
                if !text.is_empty() {
                    set.push(text);
                }
                continue;
            }
            if plain.contains(&name) {
                return Err(bad(format!("`{name}` is given twice")));
            }
            plain.push(name.clone());
            let value = self.form_value(&name, text);
            self.parsed.body.insert(name, value);
        }
        Ok(())
    }

    fn edits(&mut self) -> &mut FileEdits {
        &mut self.parsed.files.edits
    }

    fn file_field(&self, name: &str) -> Option<&FileOptions> {
        match self.col.field(name).map(|f| &f.ty) {
            Some(FieldType::File(o)) => Some(o),
            _ => None,
        }
    }

    /// A value part's text, counted against the values' budget.
    async fn value_text(&mut self, mut field: multer::Field<'_>) -> Result<String, poem::Error> {
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| bad(format!("the multipart body is malformed: {e}")))?
        {
            self.values_bytes += chunk.len();
            if self.values_bytes > MAX_VALUES_BYTES {
                return Err(Problem::new(ProblemCode::PayloadTooLarge)
                    .with_detail(format!("form values may take at most {MAX_VALUES_BYTES} bytes in all; files go in file parts"))
                    .into());
            }
            bytes.extend_from_slice(&chunk);
        }
        String::from_utf8(bytes).map_err(|_| bad("a form value is not UTF-8 text"))
    }

    /// A value as the field's type reads it (empty is null, except for text).
    fn form_value(&self, name: &str, text: String) -> Value {
        let Some(field) = self.col.field(name) else {
            // Unknown names are reported by validation, with the others.
            return Value::String(text);
        };
        if text.is_empty() && !matches!(field.ty, FieldType::Text(_)) {
            return Value::Null;
        }
        match &field.ty {
            FieldType::Integer(_) | FieldType::Number(_) => {
                serde_json::from_str::<serde_json::Number>(text.trim())
                    .map(Value::Number)
                    .unwrap_or(Value::String(text))
            }
            FieldType::Boolean => match text.trim() {
                "true" | "1" | "on" => Value::Bool(true),
                "false" | "0" | "off" => Value::Bool(false),
                _ => Value::String(text),
            },
            FieldType::Json(_) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
            _ => Value::String(text),
        }
    }

    /// Streams one file part into the store.
    async fn file(
        &mut self,
        part: &str,
        original: &str,
        field: multer::Field<'_>,
    ) -> Result<(), poem::Error> {
        let (name, append) = match part.strip_suffix('+') {
            Some(base) => (base, true),
            None => (part, false),
        };
        let Some(options) = self.file_field(name).cloned() else {
            return Err(invalid(
                part,
                if self.col.field(name).is_some() {
                    FieldCode::WrongType
                } else {
                    FieldCode::UnknownField
                },
                "is not a file field: only file fields take file parts",
            ));
        };
        let stored_name = files::safe_stored_name(original);
        let key = BlobKey::for_file(self.col.name(), self.record_id, &stored_name)
            .map_err(|e| bad(format!("cannot store `{original}`: {e}")))?;
        let body = field.map(|chunk| chunk.map_err(|e| std::io::Error::other(e.to_string())));
        let stored = match self.store.put(&key, body, options.max_size).await {
            Ok(stored) => stored,
            Err(StoreError::TooLarge { .. }) => {
                return Err(Problem::new(ProblemCode::PayloadTooLarge)
                    .with_detail(format!(
                        "`{name}` takes files of at most {} bytes",
                        options.max_size
                    ))
                    .into())
            }
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "file store unavailable for an upload");
                return Err(Problem::new(ProblemCode::Unavailable)
                    .with_detail("the file store cannot be reached; try again")
                    .with_retry_after(5)
                    .into());
            }
            Err(e) => return Err(bad(format!("the upload of `{original}` failed: {e}"))),
        };
        if stored.size == 0 {
            // An empty file is no file (a required field then says so).
            let _ = self.store.delete(&key).await;
            return Ok(());
        }
        self.parsed.stored.push(key.clone());
        if !options.allows(stored.mime) {
            let allowed = options.mime_types.join(", ");
            return Err(invalid(
                name,
                FieldCode::FileTypeNotAllowed,
                format!("`{original}` is {}, not one of: {allowed}", stored.mime),
            ));
        }
        self.hashes
            .push((name.to_owned(), stored.sha256_hex.clone()));
        self.parsed
            .files
            .uploaded
            .insert((name.to_owned(), stored_name.clone()));
        let edit = self.edits().entry(name.to_owned()).or_default();
        // `F+` on a one-file field replaces its file, as `F` does.
        let count = if append && options.multiple() {
            edit.append.push(stored_name);
            edit.append.len() + edit.set.as_ref().map_or(0, Vec::len)
        } else {
            let set = edit.set.get_or_insert_with(Vec::new);
            set.push(stored_name);
            set.len() + edit.append.len()
        };
        if count > options.max_files as usize {
            return Err(invalid(
                name,
                FieldCode::TooManyFiles,
                format!("holds at most {} file(s)", options.max_files),
            ));
        }
        Ok(())
    }
}
