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
use rusqlite::{params_from_iter, Connection, Row};

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

/// The page query and its parameters (also what the query-plan tests inspect).
pub fn page_sql(col: &Collection, q: &ListQuery) -> (String, Vec<Sql>) {
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
        "SELECT {}, {} FROM {}{} ORDER BY {} LIMIT ? OFFSET ?",
        select_list(col),
        sort_cols.join(", "),
        quote(&col.table),
        where_clause(&conds),
        order.join(", ")
    );
    params.push(Sql::Integer(q.limit as i64 + 1));
    params.push(Sql::Integer(q.offset.min(i64::MAX as u64) as i64));
    (sql, params)
}

pub fn count_sql(col: &Collection, q: &ListQuery) -> (String, Vec<Sql>) {
    let mut params = Vec::new();
    let conds = base_conditions(q, &mut params);
    let sql = format!(
        "SELECT count(*) FROM {}{}",
        quote(&col.table),
        where_clause(&conds)
    );
    (sql, params)
}

/// What follows a page once its rows have been handed out.
pub struct PageEnd {
    /// Sort values of the last record, when more rows follow.
    pub next: Option<Vec<Sql>>,
    pub total: Option<i64>,
}

/// Runs the list query, handing each row of the page (in `select_list` shape) to `each`,
/// which decides how to render it: maps for the dashboard, JSON text for the API.
pub fn list_rows<F>(
    conn: &Connection,
    col: &Collection,
    q: &ListQuery,
    mut each: F,
) -> Result<PageEnd, ResourceError>
where
    F: FnMut(&Row<'_>) -> Result<(), ResourceError>,
{
    let total = if q.count {
        let (sql, params) = count_sql(col, q);
        Some(
            conn.prepare_cached(&sql)?
                .query_row(params_from_iter(params), |r| r.get(0))?,
        )
    } else {
        None
    };
    let (sql, params) = page_sql(col, q);
    let first_sort_col = 5 + col.def.fields.len();
    let limit = q.limit as usize;
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut seen = 0;
    let mut last_keys = None;
    while let Some(row) = rows.next()? {
        if seen == limit {
            // The extra row only says that another page follows.
            return Ok(PageEnd {
                next: last_keys,
                total,
            });
        }
        each(row)?;
        seen += 1;
        if seen == limit {
            // Only the page's last row can carry a cursor.
            let keys: Vec<Sql> = (0..q.sort.len())
                .map(|i| row.get::<_, Sql>(first_sort_col + i))
                .collect::<Result<_, _>>()?;
            last_keys = Some(keys);
        }
    }
    Ok(PageEnd { next: None, total })
}

pub fn list(conn: &Connection, col: &Collection, q: &ListQuery) -> Result<Page, ResourceError> {
    let mut records = Vec::with_capacity(q.limit as usize);
    let end = list_rows(conn, col, q, |row| {
        records.push(record_from_row(col, row)?);
        Ok(())
    })?;
    Ok(Page {
        records,
        next: end.next,
        total: end.total,
    })
}

fn where_clause(conds: &[String]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

#[cfg(test)]
mod tests {
    //! Queries must use the indexes (issue: "test that a filter or sort on an indexed
    //! field does not scan"): EXPLAIN QUERY PLAN on a real table with real indexes.
    use super::*;
    use crate::ddl;
    use crate::filter;
    use crate::schema::CollectionSpec;
    use rusqlite::Connection;

    fn setup() -> (Connection, Collection) {
        let spec: CollectionSpec = serde_json::from_value(serde_json::json!({
            "name": "posts", "fields": [
                {"name": "title", "type": "text", "required": true},
                {"name": "views", "type": "integer", "indexed": true},
                {"name": "slug", "type": "text", "unique": true},
                {"name": "body", "type": "text"}]}))
        .unwrap();
        let def = spec.to_def().unwrap();
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE users (id TEXT PRIMARY KEY)")
            .unwrap();
        conn.execute_batch(&ddl::create_table(&def, &def.table()))
            .unwrap();
        for sql in ddl::create_indexes(&def) {
            conn.execute_batch(&sql).unwrap();
        }
        // Statistics as a populated table would have them, so the planner is realistic.
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO rec_posts (id, created_at, updated_at, title, views, slug)
             SELECT printf('%08d', i), printf('2026-01-01T00:00:%05d', i), 'x', 't' || i, i % 500, 's' || i FROM n;
             ANALYZE;",
        )
        .unwrap();
        let col = Collection::new(def, 1, "x".into(), "x".into());
        (conn, col)
    }

    fn query(
        col: &Collection,
        filter_text: Option<&str>,
        sort: &[(&str, bool, bool)],
        after: bool,
    ) -> ListQuery {
        let sort: Vec<SortKey> = sort
            .iter()
            .map(|(f, desc, nullable)| SortKey {
                field: f.to_string(),
                desc: *desc,
                nullable: *nullable,
            })
            .collect();
        let after = after.then(|| {
            sort.iter()
                .map(|k| {
                    if k.field == "id" || k.field == "created_at" {
                        Sql::Text("00000100".into())
                    } else {
                        Sql::Integer(10)
                    }
                })
                .collect()
        });
        ListQuery {
            filter: filter_text.map(|f| filter::compile(f, col).unwrap()),
            sort,
            limit: 50,
            offset: 0,
            after,
            access: Access::All,
            count: false,
        }
    }

    fn plan(conn: &Connection, sql: &str, params: Vec<Sql>) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map(params_from_iter(params), |r| r.get::<_, String>(3))
            .unwrap();
        rows.map(|r| r.unwrap()).collect::<Vec<_>>().join(" | ")
    }

    fn assert_indexed(plan: &str, index: &str) {
        assert!(plan.contains(index), "expected {index}: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "sorts in memory: {plan}");
        assert!(
            !plan.contains("SCAN rec_posts") || plan.contains("USING"),
            "table scan: {plan}"
        );
    }

    #[test]
    fn sort_on_an_indexed_field_walks_its_index() {
        let (conn, col) = setup();
        for desc in [false, true] {
            let q = query(
                &col,
                None,
                &[("views", desc, true), ("id", desc, false)],
                false,
            );
            let (sql, params) = page_sql(&col, &q);
            assert_indexed(&plan(&conn, &sql, params), "rec_posts__i_views");
        }
        let q = query(
            &col,
            None,
            &[("created_at", true, false), ("id", true, false)],
            false,
        );
        let (sql, params) = page_sql(&col, &q);
        assert_indexed(&plan(&conn, &sql, params), "rec_posts__created_at");
    }

    #[test]
    fn keyset_page_seeks_instead_of_scanning() {
        let (conn, col) = setup();
        let q = query(
            &col,
            None,
            &[("created_at", true, false), ("id", true, false)],
            true,
        );
        let (sql, params) = page_sql(&col, &q);
        let p = plan(&conn, &sql, params);
        assert!(
            p.contains("SEARCH rec_posts USING INDEX rec_posts__created_at"),
            "{p}"
        );
        let q = query(&col, None, &[("id", false, false)], true);
        let (sql, params) = page_sql(&col, &q);
        let p = plan(&conn, &sql, params);
        assert!(
            p.contains("SEARCH rec_posts USING INDEX sqlite_autoindex_rec_posts_1"),
            "{p}"
        );
    }

    #[test]
    fn filters_on_indexed_fields_search_the_index() {
        let (conn, col) = setup();
        let q = query(
            &col,
            Some("views >= 10 && views < 20"),
            &[("id", false, false)],
            false,
        );
        let (sql, params) = count_sql(&col, &q);
        let p = plan(&conn, &sql, params);
        assert!(
            p.contains("SEARCH rec_posts USING COVERING INDEX rec_posts__i_views"),
            "{p}"
        );
        let q = query(&col, Some("slug = 's5'"), &[("id", false, false)], false);
        let (sql, params) = page_sql(&col, &q);
        let p = plan(&conn, &sql, params);
        assert!(p.contains("rec_posts__u_slug"), "{p}");
        let q = query(
            &col,
            Some("views = 7"),
            &[("views", true, true), ("id", true, false)],
            false,
        );
        let (sql, params) = page_sql(&col, &q);
        assert_indexed(&plan(&conn, &sql, params), "rec_posts__i_views");
    }
}
