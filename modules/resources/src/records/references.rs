//! Which blobs records still reference: the orphan sweep's question (`files::ReferenceCheck`).
//! Records own two layouts under their folder:
//!
//! - `<collection>/<record_id>/<name>`: a file one of the record's file fields holds;
//! - `<collection>/<record_id>/thumbs_<name>/<anything>`: the thumbnails downloads
//!   cache for the file `<name>`, wanted as long as that file is.
//!
//! Every other key is not a record's: the answer is `false`, and the caller asks
//! whoever else keeps blobs (unfinished uploads) before deleting anything.

use crate::error::ResourceError;
use crate::fields::file::names_in;
use crate::fields::FieldType;
use crate::repo::records;
use crate::rules::Access;
use crate::service::Resources;
use files::BlobKey;

/// The folder prefix of a file's cached thumbnails.
const THUMBS_PREFIX: &str = "thumbs_";

impl Resources {
    /// Whether `key` is a file a record holds now, or a thumbnail of one. `false` for a
    /// key of no collection, of a record that does not exist, or naming a file the
    /// record does not hold (any longer). Reads the record once.
    pub async fn blob_referenced(&self, key: &BlobKey) -> Result<bool, ResourceError> {
        let Some((collection, record_id, name)) = record_file_of(key) else {
            return Ok(false);
        };
        let Ok(col) = self.collection(collection) else {
            return Ok(false);
        };
        let holds_files = col
            .def
            .fields
            .iter()
            .any(|f| matches!(f.ty, FieldType::File(_)));
        if !holds_files {
            return Ok(false);
        }
        let (id, name) = (record_id.to_owned(), name.to_owned());
        let read_col = col.clone();
        self.db
            .read(move |conn| {
                storage::describe_query("SELECT", read_col.name());
                let Some(record) = records::get(conn, &read_col, &id, &Access::All)? else {
                    return Ok(false);
                };
                Ok(read_col.def.fields.iter().any(|field| match &field.ty {
                    FieldType::File(options) => {
                        names_in(options, record.json.get(&field.name).unwrap_or_default())
                            .contains(&name)
                    }
                    _ => false,
                }))
            })
            .await
    }
}

/// `(collection, record_id, stored name)` of a record's file or of one of its
/// thumbnails; `None` for any other layout.
fn record_file_of(key: &BlobKey) -> Option<(&str, &str, &str)> {
    let mut segments = key.segments();
    let collection = segments.next()?;
    let record_id = segments.next()?;
    let third = segments.next()?;
    if segments.next().is_none() {
        return Some((collection, record_id, third));
    }
    // `thumbs_<name>/<size>…`: at least one segment under the thumbnails' folder.
    let name = third.strip_prefix(THUMBS_PREFIX)?;
    (!name.is_empty()).then_some((collection, record_id, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(key: &str) -> Option<(String, String, String)> {
        let key = BlobKey::parse(key).unwrap();
        record_file_of(&key).map(|(c, r, n)| (c.into(), r.into(), n.into()))
    }

    #[test]
    fn files_and_their_thumbnails_name_the_record_file() {
        let want = |c: &str, r: &str, n: &str| Some((c.into(), r.into(), n.into()));
        assert_eq!(
            parts("posts/r1/cat_ab12.png"),
            want("posts", "r1", "cat_ab12.png")
        );
        assert_eq!(
            parts("posts/r1/thumbs_cat_ab12.png/100x100"),
            want("posts", "r1", "cat_ab12.png")
        );
        assert_eq!(
            parts("posts/r1/thumbs_cat_ab12.png/sizes/100x0f"),
            want("posts", "r1", "cat_ab12.png")
        );
    }

    #[test]
    fn other_layouts_are_not_records_files() {
        for key in [
            "posts",
            "posts/r1",
            "posts/r1/other/100x100",
            "posts/r1/thumbs_/100x100",
            "uploads/abc",
        ] {
            assert_eq!(parts(key), None, "{key}");
        }
    }
}
