//! The evaluator against SQLite itself: random records go through the real field
//! validation into a table made by the real DDL, are read back as `record_from_row`
//! renders them, and every random filter must select the same ids in SQL and in memory
//! (or fail to compile with the same error in both).

use super::gen::{filter, input, text, Rng, DATETIMES, INTS};
use crate::fields::{every_type_def, FieldType};
use crate::filter::{compile, CompiledPredicate, FieldKind, FieldLookup};
use crate::registry::Collection;
use crate::repo::records::{record_from_row, SYSTEM_COLUMNS};
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};
use serde_json::{json, Map, Value};

const DATASETS: u64 = 1000;
const FILTERS_PER_DATASET: usize = 20;

pub(super) fn collection() -> Collection {
    let now = "2026-01-01T00:00:00.000Z".to_string();
    Collection::new(every_type_def(), 1, now.clone(), now)
}

/// The table, filled with `rows` random records; their JSON as a GET returns it.
fn dataset(col: &Collection, rng: &mut Rng, rows: usize) -> (Connection, Vec<Map<String, Value>>) {
    let db = Connection::open_in_memory().unwrap();
    // Owners and relations are random text, not rows: what the filter sees is the value.
    db.execute_batch("PRAGMA foreign_keys = OFF; CREATE TABLE users (id TEXT PRIMARY KEY)")
        .unwrap();
    db.execute_batch(&crate::ddl::create_table(&col.def, &col.table))
        .unwrap();
    let marks = vec!["?"; 5 + col.def.fields.len()].join(", ");
    let insert = format!(
        "INSERT INTO \"{}\" ({}) VALUES ({marks})",
        col.table, col.select_list
    );
    let datetime = |rng: &mut Rng| {
        FieldType::Datetime
            .to_sql(&json!(rng.pick(DATETIMES)))
            .unwrap()
    };
    for n in 0..rows {
        // Unique by the number, awkward after it, so `id` filters meet odd text too.
        let mut values = vec![
            Sql::Text(format!("{n:02}{}", text(rng))),
            datetime(rng),
            datetime(rng),
            Sql::Integer(*rng.pick(INTS)),
            if rng.chance(30) {
                Sql::Null
            } else {
                Sql::Text(text(rng))
            },
        ];
        for field in &col.def.fields {
            let value = input(rng, field.ty.name());
            let stored = match value {
                Value::Null => Sql::Null,
                v => field.ty.to_sql(&v).unwrap_or(Sql::Null),
            };
            values.push(stored);
        }
        db.execute(&insert, params_from_iter(values.iter()))
            .unwrap_or_else(|e| panic!("{values:?}: {e}"));
    }
    let sql = format!("SELECT {} FROM \"{}\"", col.select_list, col.table);
    let records = {
        let mut stmt = db.prepare(&sql).unwrap();
        let rows = stmt.query_map([], |r| record_from_row(col, r)).unwrap();
        rows.map(|r| r.unwrap().json).collect()
    };
    (db, records)
}

/// The ids the SQL selects, sorted; Err with the compile error.
pub(super) fn sql_ids(
    db: &Connection,
    col: &Collection,
    input: &str,
) -> Result<Vec<String>, String> {
    let c = compile(input, col).map_err(|e| e.to_string())?;
    let sql = format!(
        "SELECT id FROM \"{}\" WHERE {} ORDER BY id",
        col.table, c.sql
    );
    let mut stmt = db.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let ids = stmt
        .query_map(params_from_iter(c.params.iter()), |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    Ok(ids)
}

/// The ids the predicate matches, sorted; Err with the build error.
pub(super) fn memory_ids(
    records: &[Map<String, Value>],
    col: &Collection,
    input: &str,
) -> Result<Vec<String>, String> {
    let p = CompiledPredicate::new(input, col).map_err(|e| e.to_string())?;
    let mut ids: Vec<String> = records
        .iter()
        .filter(|r| p.matches(r))
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    Ok(ids)
}

#[test]
fn memory_and_sql_select_the_same_records() {
    let col = collection();
    let names: Vec<(String, FieldKind)> = ["id", "owner", "version", "created_at", "updated_at"]
        .iter()
        .map(|n| n.to_string())
        .chain(col.def.fields.iter().map(|f| f.name.clone()))
        .map(|n| {
            let kind = col.kind(&n).unwrap();
            (n, kind)
        })
        .collect();
    let fields: Vec<(&str, FieldKind)> = names.iter().map(|(n, k)| (n.as_str(), *k)).collect();
    let (mut compiled, mut matched, mut selected) = (0, 0, 0);
    for seed in 0..DATASETS {
        let mut rng = Rng::new(seed);
        let rows = 1 + rng.below(30);
        let (db, records) = dataset(&col, &mut rng, rows);
        for _ in 0..FILTERS_PER_DATASET {
            let input = filter(&mut rng, &fields, 4);
            let in_sql = sql_ids(&db, &col, &input);
            let in_memory = memory_ids(&records, &col, &input);
            if in_sql != in_memory {
                let differing: Vec<_> = records
                    .iter()
                    .filter(|r| {
                        let id = r["id"].as_str().unwrap().to_string();
                        let a = in_sql.as_ref().map(|v| v.contains(&id));
                        let b = in_memory.as_ref().map(|v| v.contains(&id));
                        a != b
                    })
                    .collect();
                panic!(
                    "seed {seed}, filter {input:?}\nSQL:    {in_sql:?}\nmemory: {in_memory:?}\n\
                     compiled: {:?}\nrecords that differ: {differing:#?}",
                    compile(&input, &col)
                );
            }
            if let Ok(ids) = in_sql {
                compiled += 1;
                matched += usize::from(!ids.is_empty() && ids.len() < rows);
                selected += ids.len();
            }
        }
    }
    // The generator must exercise both outcomes, or the test proves little.
    let total = DATASETS as usize * FILTERS_PER_DATASET;
    assert!(
        compiled > total / 2,
        "only {compiled} of {total} filters compiled"
    );
    assert!(
        matched > total / 5,
        "only {matched} filters split their dataset"
    );
    assert!(selected > 0);
}

/// The system columns the generator writes are the ones `record_from_row` reads.
#[test]
fn the_insert_covers_the_select_list() {
    let col = collection();
    assert!(col.select_list.starts_with(SYSTEM_COLUMNS));
    let mut rng = Rng::new(7);
    let (_, records) = dataset(&col, &mut rng, 3);
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].len(), 5 + col.def.fields.len());
}
