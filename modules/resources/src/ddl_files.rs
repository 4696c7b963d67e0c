//! The triggers that hand a record's old files to the file store's deletion queue
//! (`file_deletions`, owned by hearth-files) in the same statement as the change that
//! stops referencing them: an UPDATE that drops or replaces a name, a DELETE (its
//! relations' cascades included). So a blob is queued exactly when the change that
//! orphaned it commits, and the queue's worker removes it only after that commit.
//! Blobs of a dropped collection or field have no row to fire on; the orphan sweep
//! finds those.

use crate::fields::FieldType;
use crate::schema::{quote, CollectionDef};

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// The names of a table's file triggers (whether or not it has file fields).
pub fn file_trigger_names(table: &str) -> [String; 2] {
    [
        format!("{table}__files_updated"),
        format!("{table}__files_deleted"),
    ]
}

/// `DROP TRIGGER IF EXISTS` for both.
pub fn drop_file_triggers_sql(table: &str) -> Vec<String> {
    file_trigger_names(table)
        .iter()
        .map(|name| format!("DROP TRIGGER IF EXISTS {}", quote(name)))
        .collect()
}

/// The triggers for `def`'s file fields; none when it has no file field.
pub fn file_triggers(def: &CollectionDef) -> Vec<String> {
    let fields: Vec<(&str, bool)> = def
        .fields
        .iter()
        .filter_map(|f| match &f.ty {
            FieldType::File(o) => Some((f.name.as_str(), o.multiple())),
            _ => None,
        })
        .collect();
    if fields.is_empty() {
        return Vec::new();
    }
    let table = def.table();
    // Names are the collection's (a key is `<collection>/<record id>/<stored name>`).
    let prefix = format!("'{}/' || OLD.\"id\" || '/' || ", def.name);
    let insert = |select: String| {
        format!(
            "INSERT OR IGNORE INTO file_deletions (key, enqueued_at, next_attempt_at) {select};"
        )
    };
    let mut updated = String::new();
    let mut deleted = String::new();
    for (name, multiple) in fields {
        let col = quote(name);
        if multiple {
            updated += &insert(format!(
                "SELECT {prefix}o.value, {NOW}, {NOW} FROM json_each(OLD.{col}) AS o \
                 WHERE json_valid(OLD.{col}) AND o.value NOT IN \
                 (SELECT n.value FROM json_each(CASE WHEN json_valid(NEW.{col}) THEN NEW.{col} ELSE '[]' END) AS n)"
            ));
            deleted += &insert(format!(
                "SELECT {prefix}o.value, {NOW}, {NOW} FROM json_each(OLD.{col}) AS o WHERE json_valid(OLD.{col})"
            ));
        } else {
            updated += &insert(format!(
                "SELECT {prefix}OLD.{col}, {NOW}, {NOW} WHERE OLD.{col} IS NOT NULL AND OLD.{col} IS NOT NEW.{col}"
            ));
            deleted += &insert(format!(
                "SELECT {prefix}OLD.{col}, {NOW}, {NOW} WHERE OLD.{col} IS NOT NULL"
            ));
        }
    }
    let [on_update, on_delete] = file_trigger_names(&table);
    vec![
        format!(
            "CREATE TRIGGER {} AFTER UPDATE ON {} FOR EACH ROW BEGIN {updated} END",
            quote(&on_update),
            quote(&table)
        ),
        format!(
            "CREATE TRIGGER {} AFTER DELETE ON {} FOR EACH ROW BEGIN {deleted} END",
            quote(&on_delete),
            quote(&table)
        ),
    ]
}
