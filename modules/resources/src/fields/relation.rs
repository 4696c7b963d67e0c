use super::{expect_str, invalid, Invalid};
use kernel::FieldCode;
use rusqlite::types::Value as Sql;
use serde_json::Value;

/// What happens to referencing records when the referenced one is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDelete {
    /// The delete is refused (409 conflict) while references exist.
    Restrict,
    Cascade,
    SetNull,
}

impl OnDelete {
    pub fn as_str(self) -> &'static str {
        match self {
            OnDelete::Restrict => "restrict",
            OnDelete::Cascade => "cascade",
            OnDelete::SetNull => "set_null",
        }
    }

    pub fn parse(s: &str) -> Option<OnDelete> {
        [OnDelete::Restrict, OnDelete::Cascade, OnDelete::SetNull]
            .into_iter()
            .find(|o| o.as_str() == s)
    }

    pub fn sql(self) -> &'static str {
        match self {
            OnDelete::Restrict => "RESTRICT",
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RelationOptions {
    pub collection: String,
    pub on_delete: OnDelete,
}

/// The id's shape is checked here; that the record exists is checked by the foreign key
/// (and reported as `relation_not_found`).
pub fn to_sql(value: &Value) -> Result<Sql, Invalid> {
    let s = expect_str(value, "a record id string")?;
    if kernel::ids::is_uuid(s) {
        Ok(Sql::Text(s.to_ascii_lowercase()))
    } else {
        Err(invalid(
            FieldCode::RelationNotFound,
            "must be the id of an existing record",
        ))
    }
}
