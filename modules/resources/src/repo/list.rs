//! The list query: filter, access restriction, keyset position, order, page size, and an
//! optional count. Everything the client chose arrives here already validated against
//! the definition; values are bound, never spliced.

use super::records::{record_from_row, select_list, Record};
use crate::error::ResourceError;
use crate::filter::CompiledFilter;
use crate::registry::Collection;
use crate::rules::Access;
use crate::schema::quote;
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub field: String,
    pub desc: bool,
    /// Whether the column can hold NULL (keyset comparisons must then handle it).
    pub nullable: bool,
}

#[derive(Clone, Debug)]
pub struct ListQuery {
    pub filter: Option<CompiledFilter>,
    /// Ends with `id`, the tie-breaker that makes the order total.
    pub sort: Vec<SortKey>,
    pub limit: u32,
    pub offset: u64,
    /// Sort values of the last row of the previous page, one per sort key.
    pub after: Option<Vec<Sql>>,
    pub access: Access,
    pub count: bool,
}

pub struct Page {
    pub records: Vec<Record>,
    /// Sort values of the last record, when more rows follow.
    pub next: Option<Vec<Sql>>,
    pub total: Option<i64>,
}

/// WHERE conditions shared by the page query and the count.
fn base_conditions(q: &ListQuery, params: &mut Vec<Sql>) -> Vec<String> {
    let mut conds = Vec::new();
    if let Some(f) = &q.filter {
        conds.push(f.sql.clone());
        params.extend(f.params.iter().cloned());
    }
    if let Access::OwnedBy(user) = &q.access {
        conds.push("\"owner\" = ?".into());
        params.push(Sql::Text(user.clone()));
    }
    conds
}

/// Rows strictly after `after` in the sort order. Uniform non-null keys use a row-value
/// comparison (one index seek); otherwise the expanded form, with SQLite's NULL order
/// (NULLs first ascending, last descending).
fn keyset_condition(sort: &[SortKey], after: &[Sql], params: &mut Vec<Sql>) -> String {
    let uniform = sort.iter().all(|k| !k.nullable && k.desc == sort[0].desc);
    if uniform {
        let cols: Vec<String> = sort.iter().map(|k| quote(&k.field)).collect();
        let marks = vec!["?"; sort.len()].join(", ");
        params.extend(after.iter().cloned());
        let op = if sort[0].desc { "<" } else { ">" };
        return format!("(({}) {op} ({marks}))", cols.join(", "));
    }
    let mut alternatives = Vec::new();
    for i in 0..sort.len() {
        let mut parts = Vec::new();
        let mut local = Vec::new();
        for (k, v) in sort[..i].iter().zip(after) {
            parts.push(format!("{} IS ?", quote(&k.field)));
            local.push(v.clone());
        }
        let (k, v) = (&sort[i], &after[i]);
        let col = quote(&k.field);
        let step = match (k.desc, v) {
            (false, Sql::Null) => Some(format!("{col} IS NOT NULL")),
            (false, v) => {
                local.push(v.clone());
                Some(format!("{col} > ?"))
            }
            (true, Sql::Null) => None,
            (true, v) => {
                local.push(v.clone());
                Some(format!("({col} < ? OR {col} IS NULL)"))
            }
        };
        if let Some(step) = step {
            parts.push(step);
            alternatives.push(format!("({})", parts.join(" AND ")));
            params.extend(local);
        }
    }
    if alternatives.is_empty() {
        "0".into()
    } else {
        format!("({})", alternatives.join(" OR "))
    }
}

pub fn list(conn: &Connection, col: &Collection, q: &ListQuery) -> Result<Page, ResourceError> {
    let table = quote(&col.table);
    let mut count_params = Vec::new();
    let count_conds = base_conditions(q, &mut count_params);
    let total = if q.count {
        let sql = format!("SELECT count(*) FROM {table}{}", where_clause(&count_conds));
        Some(
            conn.prepare_cached(&sql)?
                .query_row(params_from_iter(count_params), |r| r.get(0))?,
        )
    } else {
        None
    };

    let mut params = Vec::new();
    let mut conds = base_conditions(q, &mut params);
    if let Some(after) = &q.after {
        conds.push(keyset_condition(&q.sort, after, &mut params));
    }
    let order: Vec<String> = q
        .sort
        .iter()
        .map(|k| format!("{}{}", quote(&k.field), if k.desc { " DESC" } else { "" }))
        .collect();
    let sort_cols: Vec<String> = q.sort.iter().map(|k| quote(&k.field)).collect();
    let sql = format!(
        "SELECT {}, {} FROM {table}{} ORDER BY {} LIMIT ? OFFSET ?",
        select_list(col),
        sort_cols.join(", "),
        where_clause(&conds),
        order.join(", ")
    );
    params.push(Sql::Integer(q.limit as i64 + 1));
    params.push(Sql::Integer(q.offset.min(i64::MAX as u64) as i64));
    let first_sort_col = 5 + col.def.fields.len();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut records = Vec::with_capacity(q.limit as usize);
    let mut last_keys = None;
    let mut more = false;
    while let Some(row) = rows.next()? {
        if records.len() == q.limit as usize {
            more = true;
            break;
        }
        records.push(record_from_row(col, row)?);
        let keys: Vec<Sql> = (0..q.sort.len())
            .map(|i| row.get::<_, Sql>(first_sort_col + i))
            .collect::<Result<_, _>>()?;
        last_keys = Some(keys);
    }
    Ok(Page {
        records,
        next: if more { last_keys } else { None },
        total,
    })
}

fn where_clause(conds: &[String]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}
