//! The triggers that append a record table's changes to the feed, and the decoding of
//! the snapshots they write.
//!
//! A trigger runs inside the statement that changed the row, so its `changes` row is in
//! the same transaction: a rolled back write (a failed job, a failed batch) leaves no
//! feed row, and cascades (relations' ON DELETE, a deleted user's records losing their
//! owner) append a row per affected record without any code knowing about them.

use crate::snapshot::REAL_FORMAT;

/// The three triggers of a table, by the change kind they append.
const KINDS: [(&str, &str, &str); 3] = [
    ("created", "AFTER INSERT", "NEW"),
    ("updated", "AFTER UPDATE", "NEW"),
    ("deleted", "AFTER DELETE", "OLD"),
];

/// The name of `table`'s trigger for `kind`: `<table>__feed_<kind>`. Derived names
/// follow the record tables' scheme (`rec_posts__i_views`, `rec_posts__new`): the table
/// name, the separator, a suffix of our own. Triggers have a namespace of their own in
/// SQLite (apart from tables and indexes), and the suffix is fixed, so two tables'
/// triggers never share a name.
pub fn trigger_name(table: &str, kind: &str) -> String {
    format!("{table}__feed_{kind}")
}

/// `"name"`, with any `"` doubled: safe for any identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`, with any `'` doubled.
fn quote_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// One column of the snapshot, as `json_object` takes it. SQLite's JSON functions print
/// REAL values with 15 significant digits (`%!0.15g`, SQLite 3.50), which loses doubles
/// (0.1 + 0.2 would come back as 0.3): a REAL is printed with `REAL_FORMAT` instead and
/// handed over as JSON, so it stays a number (decoded exactly by `snapshot_values`).
/// Infinities, which JSON cannot hold (and GET shows as null), become null; NaN is
/// stored as NULL already. The `typeof` test keeps the trigger independent of the
/// column types.
fn snapshot_value(row: &str, column: &str) -> String {
    let col = format!("{row}.{}", quote_ident(column));
    format!(
        "CASE typeof({col}) WHEN 'real' THEN \
         iif(abs({col}) <= 1.7976931348623157e308, json(printf('{REAL_FORMAT}', {col})), NULL) \
         ELSE {col} END"
    )
}

/// The `CREATE TRIGGER` statements (AFTER INSERT, UPDATE, DELETE) that append one
/// `changes` row per row of `table` changed: `collection`, the row's `id`, the kind, its
/// `owner` column (if `columns` has one), `data` = a JSON object of every column in
/// `columns` by name (the row after the change; before it for a delete), and the time.
///
/// `columns` should start with `id`; decode `data` with `snapshot_values`.
pub fn trigger_sql(table: &str, collection: &str, columns: &[&str]) -> Vec<String> {
    KINDS
        .iter()
        .map(|(kind, event, row)| {
            let data = columns
                .iter()
                .map(|c| format!("{}, {}", quote_text(c), snapshot_value(row, c)))
                .collect::<Vec<_>>()
                .join(", ");
            let owner = if columns.contains(&"owner") {
                format!("{row}.\"owner\"")
            } else {
                "NULL".to_string()
            };
            format!(
                "CREATE TRIGGER {name} {event} ON {table} FOR EACH ROW BEGIN \
                 INSERT INTO changes (collection, record_id, kind, owner, data, at) VALUES \
                 ({collection}, {row}.\"id\", '{kind}', {owner}, json_object({data}), \
                 strftime('%Y-%m-%dT%H:%M:%fZ', 'now')); END",
                name = quote_ident(&trigger_name(table, kind)),
                table = quote_ident(table),
                collection = quote_text(collection),
            )
        })
        .collect()
}

/// `DROP TRIGGER IF EXISTS` for each of `table`'s feed triggers: run before creating
/// them again (a changed column list), or to stop a table feeding. Dropping the table
/// drops them too.
pub fn drop_triggers_sql(table: &str) -> Vec<String> {
    KINDS
        .iter()
        .map(|(kind, _, _)| {
            format!(
                "DROP TRIGGER IF EXISTS {}",
                quote_ident(&trigger_name(table, kind))
            )
        })
        .collect()
}

/// The names of `table`'s feed triggers, for checking `sqlite_schema`.
pub fn trigger_names(table: &str) -> Vec<String> {
    KINDS
        .iter()
        .map(|(kind, _, _)| trigger_name(table, kind))
        .collect()
}
