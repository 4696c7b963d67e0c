//! `file`: the stored name of a blob (or, with `max_files` > 1, a JSON array of them).
//! The blob itself lives in the file store (`hearth-files`) under
//! `<collection>/<record id>/<stored name>`; the column only says which blobs the record
//! holds. Names are chosen by the server at upload ([`files::safe_stored_name`]), so a
//! name in a request body can only keep, reorder or drop a file the record already holds
//! (the write job checks that, `records::files`); this module checks the shape.

use super::{invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::{json, Value};

/// 5 MiB, as PocketBase.
pub const DEFAULT_MAX_SIZE: u64 = 5 * 1024 * 1024;
/// 5 GiB: the largest single object many S3 services accept in one piece, and more than
/// a record's attachment should be.
pub const MAX_MAX_SIZE: u64 = 5 * 1024 * 1024 * 1024;
pub const MAX_MAX_FILES: u32 = 100;
/// A stored name is at most this long (the store's own limit is 200 + the suffix).
pub const MAX_NAME_BYTES: usize = 255;

#[derive(Clone, Debug, PartialEq)]
pub struct FileOptions {
    /// Largest accepted file, in bytes.
    pub max_size: u64,
    /// Allowed content types, sniffed from the bytes: `type/subtype` or `type/*`. Empty:
    /// any.
    pub mime_types: Vec<String>,
    /// 1: the field holds one name (a string); more: a list of names.
    pub max_files: u32,
    /// Thumbnail sizes downloads may ask for (`?thumb=`), in canonical form.
    pub thumbs: Vec<String>,
    /// Downloads need the record's `view` permission (or a file token).
    pub protected: bool,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            max_size: DEFAULT_MAX_SIZE,
            mime_types: Vec::new(),
            max_files: 1,
            thumbs: Vec::new(),
            protected: false,
        }
    }
}

impl FileOptions {
    pub fn multiple(&self) -> bool {
        self.max_files > 1
    }

    /// Whether the sniffed `mime` may be stored in this field.
    pub fn allows(&self, mime: &str) -> bool {
        let mime = mime.split(';').next().unwrap_or("").trim();
        self.mime_types.is_empty()
            || self
                .mime_types
                .iter()
                .any(|allowed| match allowed.strip_suffix("/*") {
                    Some(kind) => mime.split('/').next() == Some(kind),
                    None => allowed.eq_ignore_ascii_case(mime),
                })
    }

    pub fn check(&self, col: &str) -> String {
        if self.multiple() {
            format!(
                "json_valid({col}) AND json_type({col}) = 'array' AND json_array_length({col}) <= {}",
                self.max_files
            )
        } else {
            format!("length({col}) BETWEEN 1 AND {MAX_NAME_BYTES}")
        }
    }

    /// A name, or with `max_files` > 1 a list of distinct names.
    pub fn to_sql(&self, value: &Value) -> Result<Sql, Invalid> {
        if !self.multiple() {
            if value.as_array().is_some_and(|list| list.len() > 1) {
                return Err(invalid(FieldCode::TooManyFiles, "holds one file"));
            }
            let name = value.as_str().ok_or_else(|| {
                invalid(
                    FieldCode::WrongType,
                    "must be a stored file name (a string)",
                )
            })?;
            check_name(name)?;
            return Ok(Sql::Text(name.to_owned()));
        }
        let names = value
            .as_array()
            .ok_or_else(|| invalid(FieldCode::WrongType, "must be a list of stored file names"))?;
        if names.len() > self.max_files as usize {
            return Err(invalid(
                FieldCode::TooManyFiles,
                format!("holds at most {} files", self.max_files),
            ));
        }
        let mut seen: Vec<&str> = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_str().ok_or_else(|| {
                invalid(FieldCode::WrongType, "must be a list of stored file names")
            })?;
            check_name(name)?;
            if seen.contains(&name) {
                return Err(invalid(FieldCode::Invalid, format!("names `{name}` twice")));
            }
            seen.push(name);
        }
        Ok(Sql::Text(Value::from(seen).to_string()))
    }

    pub fn schema(&self) -> Value {
        let name = json!({
            "type": "string",
            "maxLength": MAX_NAME_BYTES,
            "description": "a stored file name; download it from /api/v1/files/{collection}/{record id}/{name}",
        });
        if self.multiple() {
            json!({"type": "array", "items": name, "maxItems": self.max_files, "uniqueItems": true})
        } else {
            name
        }
    }
}

/// The stored names a column value holds (none for null or a value that is not ours).
pub fn names_in(options: &FileOptions, value: &Value) -> Vec<String> {
    match value {
        Value::String(name) if !options.multiple() => vec![name.clone()],
        Value::Array(names) => names
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// What a stored name can look like: the server made it, so anything else is a client
/// guessing (and could never name a blob outside the record's folder).
fn check_name(name: &str) -> Result<(), Invalid> {
    let bad = name.is_empty()
        || name.len() > MAX_NAME_BYTES
        || name.starts_with('.')
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control);
    if bad {
        Err(invalid(
            FieldCode::FileNotFound,
            "is not a stored file name",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_the_stored_shape_and_lists_their_limits() {
        let one = FileOptions::default();
        assert_eq!(
            one.to_sql(&json!("cat_a1b2c3d4e5.png")).unwrap(),
            Sql::Text("cat_a1b2c3d4e5.png".into())
        );
        for bad in [
            json!(""),
            json!("../x"),
            json!("a/b"),
            json!(".hidden"),
            json!("a\nb"),
            json!(3),
        ] {
            assert!(one.to_sql(&bad).is_err(), "{bad}");
        }
        let many = FileOptions {
            max_files: 2,
            ..FileOptions::default()
        };
        assert_eq!(
            many.to_sql(&json!(["a.png", "b.png"])).unwrap(),
            Sql::Text(r#"["a.png","b.png"]"#.into())
        );
        assert_eq!(
            many.to_sql(&json!(["a", "b", "c"])).unwrap_err().0,
            FieldCode::TooManyFiles
        );
        assert!(many.to_sql(&json!(["a", "a"])).is_err());
        assert!(many.to_sql(&json!("a")).is_err());
        assert_eq!(names_in(&many, &json!(["a", "b"])), ["a", "b"]);
        assert_eq!(names_in(&one, &json!("a")), ["a"]);
        assert!(names_in(&one, &Value::Null).is_empty());
    }

    #[test]
    fn allowed_types_match_exactly_or_by_kind() {
        let images = FileOptions {
            mime_types: vec!["image/*".into(), "application/pdf".into()],
            ..FileOptions::default()
        };
        assert!(images.allows("image/png"));
        assert!(images.allows("application/pdf"));
        assert!(!images.allows("application/pdfx"));
        assert!(!images.allows("text/html"));
        assert!(!images.allows("imagex/png"));
        assert!(FileOptions::default().allows("anything/at-all"));
    }
}
