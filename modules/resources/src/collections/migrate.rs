//! Changing a collection: the new definition is matched field by field with the old
//! (by name, or by `renamed_from`), then either only indexes change, or the table is
//! rebuilt with SQLite's create-copy-drop-rename procedure. Every row is converted with
//! the same validators the API uses, so a change the existing data violates is refused
//! with the field and the number of rows, and nothing changes.

use crate::ddl;
use crate::error::ResourceError;
use crate::fields::FieldType;
use crate::registry::Collection;
use crate::schema::{quote, CollectionDef, FieldDef, FieldSpec};
use kernel::FieldCode;
use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{params_from_iter, Connection};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Where a field of the new definition takes its data from.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    /// Index into the new definition's fields, and the old field feeding it (if any).
    pub sources: Vec<Option<String>>,
    pub dropped: Vec<String>,
}

/// Matches new fields to old ones. `renamed_from` must name an old field not kept.
pub fn map_fields(old: &CollectionDef, new_specs: &[FieldSpec]) -> Result<Mapping, ResourceError> {
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    let mut used = HashSet::new();
    for (i, spec) in new_specs.iter().enumerate() {
        let source = match &spec.renamed_from {
            Some(from) if old.field(from).is_none() => {
                errors.push(kernel::FieldError::new(
                    format!("fields[{i}].renamed_from"),
                    FieldCode::Invalid,
                    format!("there is no field `{from}` to rename"),
                ));
                None
            }
            Some(from) if from != &spec.name && new_specs.iter().any(|s| &s.name == from) => {
                errors.push(kernel::FieldError::new(
                    format!("fields[{i}].renamed_from"),
                    FieldCode::Invalid,
                    format!("`{from}` is still a field of the new definition"),
                ));
                None
            }
            Some(from) => Some(from.clone()),
            None => old.field(&spec.name).map(|f| f.name.clone()),
        };
        if let Some(from) = source.as_deref().and_then(|s| old.field(s)) {
            let was_file = matches!(from.ty, FieldType::File(_));
            if was_file != (spec.type_ == crate::schema::FieldTypeName::File) {
                errors.push(kernel::FieldError::new(
                    format!("fields[{i}].type"),
                    FieldCode::Invalid,
                    format!(
                        "`{}` cannot change to or from a file field: add a new field instead",
                        from.name
                    ),
                ));
            }
        }
        if let Some(s) = &source {
            if !used.insert(s.clone()) {
                errors.push(kernel::FieldError::new(
                    format!("fields[{i}].renamed_from"),
                    FieldCode::Invalid,
                    format!("`{s}` already feeds another field"),
                ));
            }
        }
        sources.push(source);
    }
    if !errors.is_empty() {
        return Err(ResourceError::Invalid(errors));
    }
    let dropped = old
        .fields
        .iter()
        .filter(|f| !used.contains(&f.name))
        .map(|f| f.name.clone())
        .collect();
    Ok(Mapping { sources, dropped })
}

/// Human-readable steps, and whether the table must be rebuilt.
pub fn describe(
    old: &CollectionDef,
    new: &CollectionDef,
    mapping: &Mapping,
) -> (Vec<String>, bool) {
    let mut steps = Vec::new();
    let mut rebuild = !mapping.dropped.is_empty();
    for name in &mapping.dropped {
        steps.push(format!("drop field `{name}` and its data"));
    }
    for (field, source) in new.fields.iter().zip(&mapping.sources) {
        let Some(source) = source.as_deref().and_then(|s| old.field(s)) else {
            steps.push(format!("add field `{}` ({})", field.name, field.ty.name()));
            rebuild = true;
            continue;
        };
        if source.name != field.name {
            steps.push(format!(
                "rename field `{}` to `{}`",
                source.name, field.name
            ));
            rebuild = true;
        }
        if source.ty.name() != field.ty.name() {
            steps.push(format!(
                "convert `{}` from {} to {}",
                field.name,
                source.ty.name(),
                field.ty.name()
            ));
            rebuild = true;
        } else if source.ty != field.ty {
            steps.push(format!(
                "change the {} options of `{}`",
                field.ty.name(),
                field.name
            ));
            rebuild = true;
        }
        if source.required != field.required {
            let what = if field.required {
                "required"
            } else {
                "optional"
            };
            steps.push(format!("make `{}` {what}", field.name));
            rebuild = true;
        }
        if source.unique != field.unique {
            let what = if field.unique { "add" } else { "drop" };
            steps.push(format!("{what} the unique index on `{}`", field.name));
        }
        if source.indexed != field.indexed {
            let what = if field.indexed { "add" } else { "drop" };
            steps.push(format!("{what} the index on `{}`", field.name));
        }
        if source.default != field.default {
            steps.push(format!("change the default of `{}`", field.name));
        }
    }
    if old.rules != new.rules {
        steps.push("change the access rules".into());
        match (ddl::has_owner_index(old), ddl::has_owner_index(new)) {
            (false, true) => steps.push("add the index on `owner` (owner-only lists)".into()),
            (true, false) => steps.push("drop the index on `owner`".into()),
            _ => {}
        }
    }
    if old.description != new.description {
        steps.push("change the description".into());
    }
    (steps, rebuild)
}

/// Converts a stored value of `from` into a value for `to`, or why it cannot be.
fn convert(from: &FieldType, to: &FieldDef, v: ValueRef<'_>) -> Result<Sql, FieldCode> {
    convert_json(from.to_json(v), to)
}

/// `convert` of a value already rendered as JSON: a null takes `to`'s default, and
/// numbers, booleans and text widen as far as that is lossless.
pub(crate) fn convert_json(json: Value, to: &FieldDef) -> Result<Sql, FieldCode> {
    let json = match (&json, &to.ty) {
        (Value::Null, _) => {
            return to
                .default
                .as_ref()
                .map_or(Ok(Sql::Null), |d| to.ty.to_sql(d).map_err(|e| e.0))
        }
        // A file field going from one file to a list of them, or back (a list of one).
        (Value::String(_), FieldType::File(o)) if o.multiple() => Value::Array(vec![json.clone()]),
        (Value::Array(names), FieldType::File(o)) if !o.multiple() => match names.as_slice() {
            [] => return Ok(Sql::Null),
            [one] => one.clone(),
            _ => return Err(FieldCode::TooManyFiles),
        },
        // Lossless widenings the validators would refuse as wrong_type.
        (Value::Number(n), FieldType::Text(_)) => Value::String(n.to_string()),
        (Value::Bool(b), FieldType::Text(_)) => Value::String(b.to_string()),
        (Value::String(s), FieldType::Integer(_) | FieldType::Number(_)) => {
            match serde_json::from_str::<serde_json::Number>(s.trim()) {
                Ok(n) => Value::Number(n),
                Err(_) => return Err(FieldCode::WrongType),
            }
        }
        (other, FieldType::Text(_)) if !other.is_string() => Value::String(other.to_string()),
        _ => json,
    };
    to.ty.to_sql(&json).map_err(|e| e.0)
}

struct Violations(BTreeMap<(String, &'static str), u64>);

impl Violations {
    fn add(&mut self, field: &str, code: FieldCode) {
        *self.0.entry((field.to_owned(), code.as_str())).or_default() += 1;
    }

    fn into_error(self) -> Option<ResourceError> {
        if self.0.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .0
            .into_iter()
            .map(|((field, code), n)| format!("field `{field}`: {n} row(s) would be {code}"))
            .collect();
        Some(ResourceError::SchemaConflict(format!(
            "existing records violate the change: {}",
            parts.join("; ")
        )))
    }
}

/// Rebuilds the table for `new` inside the current (schema) transaction. Returns the
/// number of rows copied, or the violations found.
pub fn rebuild(
    conn: &Connection,
    old: &Collection,
    new: &CollectionDef,
    mapping: &Mapping,
) -> Result<u64, ResourceError> {
    let temp = ddl::free_name(conn, &format!("{}__new", old.table))?;
    ddl::exec_schema(conn, &ddl::create_table(new, &temp))?;
    let mut select = String::from("\"id\", \"created_at\", \"updated_at\", \"version\", \"owner\"");
    let mut feeds = Vec::new(); // (new field index, old type, column index in select)
    for (i, source) in mapping.sources.iter().enumerate() {
        if let Some(src) = source.as_deref().and_then(|s| old.def.field(s)) {
            feeds.push((
                i,
                Some((
                    src.ty.clone(),
                    5 + feeds
                        .iter()
                        .filter(|f: &&(usize, Option<(FieldType, usize)>)| f.1.is_some())
                        .count(),
                )),
            ));
            select.push_str(", ");
            select.push_str(&quote(&src.name));
        } else {
            feeds.push((i, None));
        }
    }
    let mut names = String::from("\"id\", \"created_at\", \"updated_at\", \"version\", \"owner\"");
    for f in &new.fields {
        names.push_str(", ");
        names.push_str(&quote(&f.name));
    }
    let marks = vec!["?"; 5 + new.fields.len()].join(", ");
    let mut insert = conn.prepare(&format!(
        "INSERT INTO {} ({names}) VALUES ({marks})",
        quote(&temp)
    ))?;
    let mut read = conn.prepare(&format!("SELECT {select} FROM {}", quote(&old.table)))?;
    let mut rows = read.query([])?;
    let mut violations = Violations(BTreeMap::new());
    let mut unique_seen: Vec<HashSet<String>> = vec![HashSet::new(); new.fields.len()];
    let mut copied = 0u64;
    while let Some(row) = rows.next()? {
        let mut values: Vec<Sql> = (0..5)
            .map(|i| row.get::<_, Sql>(i))
            .collect::<Result<_, _>>()?;
        let mut row_ok = true;
        for (i, feed) in &feeds {
            let field = &new.fields[*i];
            let value = match feed {
                Some((old_ty, col)) => convert(old_ty, field, row.get_ref(*col)?),
                None => field
                    .default
                    .as_ref()
                    .map_or(Ok(Sql::Null), |d| field.ty.to_sql(d).map_err(|e| e.0)),
            };
            let value = match value {
                Ok(Sql::Null) if field.required => Err(FieldCode::Required),
                other => other,
            };
            match value {
                Ok(v) => {
                    if field.unique && v != Sql::Null && !unique_seen[*i].insert(format!("{v:?}")) {
                        violations.add(&field.name, FieldCode::Invalid);
                        row_ok = false;
                    }
                    values.push(v);
                }
                Err(code) => {
                    violations.add(&field.name, code);
                    row_ok = false;
                    values.push(Sql::Null);
                }
            }
        }
        if row_ok && violations.0.is_empty() {
            insert.execute(params_from_iter(values))?;
            copied += 1;
        }
    }
    drop(rows);
    drop(read);
    drop(insert);
    if let Some(err) = violations.into_error() {
        return Err(err);
    }
    ddl::exec_schema(conn, &format!("DROP TABLE {}", quote(&old.table)))?;
    ddl::exec_schema(
        conn,
        &format!(
            "ALTER TABLE {} RENAME TO {}",
            quote(&temp),
            quote(&old.table)
        ),
    )?;
    for sql in ddl::create_indexes(new) {
        ddl::exec_schema(conn, &sql)?;
    }
    // The old table took its triggers with it; the new one feeds its own columns.
    ddl::install_feed_triggers(conn, new)?;
    Ok(copied)
}

/// Only indexes change (or nothing stored at all: rules, description, defaults): drops
/// the indexes the new definition no longer has and creates the missing ones; indexes
/// that stay are not touched, so a rules change on a large table costs nothing.
pub fn reindex(
    conn: &Connection,
    old: &Collection,
    new: &CollectionDef,
) -> Result<(), ResourceError> {
    let existing: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL")?
        .query_map([&old.table], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let wanted = ddl::index_set(new);
    for (name, sql) in &existing {
        if !wanted.iter().any(|(n, s)| n == name && s == sql) {
            ddl::exec_schema(conn, &format!("DROP INDEX {}", quote_index(name)))?;
        }
    }
    for (name, sql) in &wanted {
        if existing.iter().any(|(n, s)| n == name && s == sql) {
            continue;
        }
        if let Err(e) = conn.execute_batch(sql) {
            let unique = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE);
            if unique {
                let field = new
                    .fields
                    .iter()
                    .find(|f| f.unique && sql.contains(&format!("__u_{}\"", f.name)));
                let name = field.map_or("?", |f| f.name.as_str());
                return Err(ResourceError::SchemaConflict(format!(
                    "field `{name}`: existing records have duplicate values, so it cannot be unique"
                )));
            }
            return Err(ddl::schema_error(e));
        }
    }
    // The columns are the same, but recreating costs nothing and repairs a table whose
    // triggers are missing or stale.
    ddl::install_feed_triggers(conn, new)?;
    Ok(())
}

/// Index names come from `sqlite_schema`; they are ours (`rec_x__…`) but quote safely.
fn quote_index(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::CollectionSpec;
    use serde_json::json;

    fn spec(fields: Value) -> CollectionSpec {
        serde_json::from_value(json!({"name": "t", "fields": fields})).unwrap()
    }

    fn plan(old: Value, new: Value) -> Result<(Vec<String>, bool, Mapping), ResourceError> {
        let old = spec(old).to_def().unwrap();
        let new_spec = spec(new);
        let new = new_spec.to_def().unwrap();
        let mapping = map_fields(&old, &new_spec.fields)?;
        let (steps, rebuild) = describe(&old, &new, &mapping);
        Ok((steps, rebuild, mapping))
    }

    #[test]
    fn rules_description_defaults_and_indexes_do_not_rebuild() {
        let (steps, rebuild, _) = plan(
            json!([{"name": "a", "type": "integer"}]),
            json!([{"name": "a", "type": "integer", "indexed": true, "unique": true, "default": 3}]),
        )
        .unwrap();
        assert!(!rebuild, "{steps:?}");
        assert_eq!(
            steps,
            [
                "add the unique index on `a`",
                "add the index on `a`",
                "change the default of `a`"
            ]
        );
    }

    /// A rules change only touches the owner index: the others keep their b-trees
    /// (same root pages), so it costs nothing on a large table.
    #[test]
    fn reindex_adds_and_drops_only_what_changed() {
        let def = |rules: Value| {
            let spec: CollectionSpec = serde_json::from_value(json!({
                "name": "t", "rules": rules,
                "fields": [{"name": "a", "type": "integer", "indexed": true}]}))
            .unwrap();
            spec.to_def().unwrap()
        };
        let public = def(json!({"list": ["public"], "view": ["public"]}));
        let owner = def(json!({"list": ["owner"], "view": ["owner"]}));
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE users (id TEXT PRIMARY KEY)")
            .unwrap();
        conn.execute_batch(&ddl::create_table(&public, &public.table()))
            .unwrap();
        for sql in ddl::create_indexes(&public) {
            conn.execute_batch(&sql).unwrap();
        }
        let indexes = || -> Vec<(String, i64)> {
            conn.prepare("SELECT name, rootpage FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'rec_t' AND sql IS NOT NULL ORDER BY name")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let before = indexes();
        let names: Vec<&str> = before.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["rec_t__created_at", "rec_t__i_a", "rec_t__updated_at"]
        );

        let col = Collection::new(public.clone(), 1, "x".into(), "x".into());
        reindex(&conn, &col, &owner).unwrap();
        let after = indexes();
        assert_eq!(after.len(), 4);
        assert!(
            after.contains(&("rec_t__owner".to_string(), after[2].1)),
            "{after:?}"
        );
        for kept in &before {
            assert!(after.contains(kept), "{kept:?} was rebuilt: {after:?}");
        }
        let col = Collection::new(owner, 2, "x".into(), "x".into());
        reindex(&conn, &col, &public).unwrap();
        assert_eq!(
            indexes(),
            before,
            "back to the public set, untouched ones kept"
        );
    }

    #[test]
    fn columns_changes_rebuild_and_are_described() {
        let (steps, rebuild, mapping) = plan(
            json!([{"name": "a", "type": "integer"}, {"name": "b", "type": "text"}, {"name": "c", "type": "text"}]),
            json!([{"name": "a", "type": "number", "required": true}, {"name": "bee", "type": "text", "renamed_from": "b", "max_length": 5}, {"name": "d", "type": "boolean"}]),
        )
        .unwrap();
        assert!(rebuild);
        assert_eq!(mapping.sources, [Some("a".into()), Some("b".into()), None]);
        assert_eq!(mapping.dropped, ["c"]);
        assert_eq!(
            steps,
            [
                "drop field `c` and its data",
                "convert `a` from integer to number",
                "make `a` required",
                "rename field `b` to `bee`",
                "change the text options of `bee`",
                "add field `d` (boolean)",
            ]
        );
    }

    #[test]
    fn renames_must_be_unambiguous() {
        let err = plan(
            json!([{"name": "a", "type": "text"}]),
            json!([{"name": "b", "type": "text", "renamed_from": "zzz"}]),
        )
        .unwrap_err();
        assert!(matches!(err, ResourceError::Invalid(_)));
        let err = plan(
            json!([{"name": "a", "type": "text"}]),
            json!([{"name": "a", "type": "text"}, {"name": "b", "type": "text", "renamed_from": "a"}]),
        )
        .unwrap_err();
        assert!(
            matches!(err, ResourceError::Invalid(_)),
            "a is still a field"
        );
    }

    #[test]
    fn conversions_are_lossless_or_refused() {
        let field = |fields: Value| spec(fields).to_def().unwrap().fields.remove(0);
        let int = field(json!([{"name": "x", "type": "integer", "min": 0}]));
        let text = field(json!([{"name": "x", "type": "text"}]));
        let number = field(json!([{"name": "x", "type": "number"}]));
        let required_with_default =
            field(json!([{"name": "x", "type": "integer", "required": true, "default": 7}]));
        assert_eq!(
            convert(&text.ty, &int, ValueRef::Text(b"42")),
            Ok(Sql::Integer(42))
        );
        assert_eq!(
            convert(&text.ty, &int, ValueRef::Text(b"4x")),
            Err(FieldCode::WrongType)
        );
        assert_eq!(
            convert(&text.ty, &int, ValueRef::Text(b"-1")),
            Err(FieldCode::TooSmall)
        );
        assert_eq!(
            convert(&int.ty, &text, ValueRef::Integer(5)),
            Ok(Sql::Text("5".into()))
        );
        assert_eq!(
            convert(&int.ty, &number, ValueRef::Integer(5)),
            Ok(Sql::Real(5.0))
        );
        assert_eq!(
            convert(&number.ty, &int, ValueRef::Real(2.5)),
            Err(FieldCode::WrongType)
        );
        assert_eq!(
            convert(&number.ty, &int, ValueRef::Real(2.0)),
            Ok(Sql::Integer(2))
        );
        assert_eq!(
            convert(&text.ty, &required_with_default, ValueRef::Null),
            Ok(Sql::Integer(7)),
            "nulls take the default"
        );
    }
}
