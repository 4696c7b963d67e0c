//! What the file modules ask of records: which blob a download names and whether the
//! caller may have it. The rules are the record's: a `protected` field's files need the
//! `view` permission a GET of the record needs (answered with the same problems), and
//! other fields' files are public to whoever has the link (as in PocketBase: the stored
//! name carries a random suffix, so links are not guessable).

use crate::error::ResourceError;
use crate::fields::file::names_in;
use crate::fields::{FieldType, FileOptions};
use crate::repo::records;
use crate::rules::{authorize, Access, Action};
use crate::service::Resources;
use files::BlobKey;
use kernel::Principal;

/// A file a record holds, as a download needs it.
#[derive(Clone, Debug)]
pub struct FileRef {
    pub key: BlobKey,
    pub field: String,
    pub options: FileOptions,
}

impl Resources {
    /// The blob behind `/files/{collection}/{record_id}/{name}`, if `caller` may have it.
    /// `RecordNotFound` when the record, or a file of that name in it, does not exist.
    pub async fn file_for_download(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        record_id: &str,
        name: &str,
    ) -> Result<FileRef, ResourceError> {
        let col = self.collection(collection)?;
        // A protected file answers exactly as a GET of its record would; a caller the
        // view rule refuses outright gets that refusal whether or not such a file
        // exists, so trying names tells it nothing.
        let view = authorize(&col.def.rules, Action::View, caller).map_err(ResourceError::Denied);
        let has_protected = col
            .def
            .fields
            .iter()
            .any(|f| matches!(&f.ty, FieldType::File(o) if o.protected));
        let id = record_id.to_owned();
        let read_col = col.clone();
        let record = self
            .db
            .read(move |conn| {
                storage::describe_query("SELECT", read_col.name());
                records::get(conn, &read_col, &id, &Access::All)
            })
            .await?;
        let found = record.as_ref().and_then(|record| {
            col.def.fields.iter().find_map(|field| match &field.ty {
                FieldType::File(options)
                    if names_in(options, record.json.get(&field.name).unwrap_or_default())
                        .iter()
                        .any(|n| n == name) =>
                {
                    Some((field, options))
                }
                _ => None,
            })
        });
        let Some((field, options)) = found else {
            if has_protected {
                view?;
            }
            return Err(ResourceError::RecordNotFound);
        };
        let record = record.expect("found in it");
        if options.protected {
            if let Access::OwnedBy(user) = view? {
                let owner = record.json.get("owner").and_then(serde_json::Value::as_str);
                if owner != Some(user.as_str()) {
                    return Err(ResourceError::RecordNotFound);
                }
            }
        }
        let key = BlobKey::for_file(col.name(), record_id, name)
            .map_err(|_| ResourceError::RecordNotFound)?;
        Ok(FileRef {
            key,
            field: field.name.clone(),
            options: options.clone(),
        })
    }
}

impl Resources {
    /// The `max_size` of file field `field` of `collection` for an upload `caller` is
    /// about to make (tus creation), or None: no such collection or file field, or the
    /// caller may neither create nor update its records. One answer for all three, so
    /// that creating uploads tells nothing of collections the caller cannot use.
    pub fn upload_limit(&self, caller: &Principal, collection: &str, field: &str) -> Option<u64> {
        let col = self.registry.get(collection)?;
        let writes = [Action::Create, Action::Update]
            .into_iter()
            .any(|action| authorize(&col.def.rules, action, Some(caller)).is_ok());
        if !writes {
            return None;
        }
        match col.field(field).map(|f| &f.ty) {
            Some(FieldType::File(options)) => Some(options.max_size),
            _ => None,
        }
    }
}
