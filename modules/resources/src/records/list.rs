//! Listing (API.md 2.3): the query parameters are checked against the definition here,
//! then handed to the list repository as a typed query.

use super::cursor;
use crate::error::ResourceError;
use crate::fields::FieldType;
use crate::filter;
use crate::registry::{system_kind, Collection};
use crate::repo::list::{self, ListQuery, SortKey};
use crate::repo::records::{self, Record};
use crate::rules::{authorize, authorize_list, Access, Action};
use crate::schema::{quote, table_name};
use crate::service::Resources;
use kernel::Principal;
use rusqlite::params_from_iter;
use rusqlite::types::Value as Sql;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 200;
const MAX_OFFSET: u64 = 1_000_000;

/// The list parameters exactly as the client sent them.
#[derive(Clone, Debug, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub sort: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub offset: Option<String>,
    pub fields: Option<String>,
    pub expand: Option<String>,
    pub count: Option<String>,
}

/// The list response body (API.md 2.3) is written in two steps, because the rows come
/// before the cursor and the count are known: this opening, the items separated by
/// commas, then `close_page`. Both list paths use it, so the envelope has one spelling.
const PAGE_OPEN: &[u8] = b"{\"items\":[";

fn close_page(body: &mut Vec<u8>, next_cursor: Option<&str>, total: Option<i64>) {
    // Writing into a Vec cannot fail.
    body.extend_from_slice(b"],\"next_cursor\":");
    let _ = serde_json::to_writer(&mut *body, &next_cursor);
    if let Some(total) = total {
        body.extend_from_slice(b",\"total\":");
        let _ = serde_json::to_writer(&mut *body, &total);
    }
    body.push(b'}');
}

pub struct ListResult {
    pub items: Vec<Map<String, Value>>,
    pub next_cursor: Option<String>,
    pub total: Option<i64>,
}

fn bad(detail: impl Into<String>) -> ResourceError {
    ResourceError::InvalidQuery(detail.into())
}

/// `-created_at,title` → keys, always ending with `id`.
fn parse_sort(
    col: &Collection,
    spec: Option<&str>,
) -> Result<(Vec<SortKey>, String), ResourceError> {
    let mut keys: Vec<SortKey> = Vec::new();
    for part in spec
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (desc, name) = match part.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, part.strip_prefix('+').unwrap_or(part)),
        };
        let nullable = if system_kind(name).is_some() {
            name == "owner"
        } else {
            match col.field(name) {
                Some(f) if f.ty.sortable() => !f.required,
                Some(_) => {
                    return Err(bad(format!(
                        "sort: `{name}` is a json field and cannot be sorted"
                    )))
                }
                None => return Err(bad(format!("sort: unknown field `{name}`"))),
            }
        };
        if keys.iter().any(|k| k.field == name) {
            return Err(bad(format!("sort: `{name}` appears twice")));
        }
        if keys.len() == 8 {
            return Err(bad("sort: at most 8 fields"));
        }
        keys.push(SortKey {
            field: name.to_owned(),
            desc,
            nullable,
        });
        if name == "id" {
            break; // id is unique: later keys could never matter
        }
    }
    if keys.last().is_none_or(|k| k.field != "id") {
        keys.push(SortKey {
            field: "id".into(),
            desc: false,
            nullable: false,
        });
    }
    let canonical = keys
        .iter()
        .map(|k| format!("{}{}", if k.desc { "-" } else { "" }, k.field))
        .collect::<Vec<_>>()
        .join(",");
    Ok((keys, canonical))
}

fn parse_bool(name: &str, v: Option<&str>) -> Result<bool, ResourceError> {
    match v {
        None => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(_) => Err(bad(format!("{name}: must be true or false"))),
    }
}

/// Field names from a comma list, each checked to exist; `relations_only` for `expand`.
fn parse_names(
    col: &Collection,
    param: &str,
    v: &str,
    relations_only: bool,
) -> Result<Vec<String>, ResourceError> {
    let mut names = Vec::new();
    for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let ok = if relations_only {
            col.field(name)
                .is_some_and(|f| matches!(f.ty, FieldType::Relation(_)))
        } else {
            system_kind(name).is_some() || col.field(name).is_some()
        };
        if !ok {
            let what = if relations_only {
                "relation field"
            } else {
                "field"
            };
            return Err(bad(format!(
                "{param}: `{name}` is not a {what} of this collection"
            )));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// A listing checked against the definition, ready to run.
struct ListPlan {
    col: std::sync::Arc<Collection>,
    query: ListQuery,
    sort_spec: String,
    fields: Option<Vec<String>>,
    expand: Option<Vec<String>>,
}

/// A page already rendered as the response body (API.md 2.3), for the HTTP API.
pub struct JsonPage {
    pub body: Vec<u8>,
    pub next_cursor: Option<String>,
}

impl Resources {
    fn plan_list(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        params: &ListParams,
    ) -> Result<ListPlan, ResourceError> {
        let col = self.collection(collection)?;
        let access = authorize_list(&col.def.rules, caller).map_err(ResourceError::Denied)?;
        let filter = match params.filter.as_deref() {
            None => None,
            Some(f) if f.trim().is_empty() => None,
            Some(f) => {
                Some(filter::compile(f, col.as_ref()).map_err(ResourceError::InvalidFilter)?)
            }
        };
        let (sort, sort_spec) = parse_sort(&col, params.sort.as_deref())?;
        let limit = match params.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| bad(format!("limit: must be an integer from 1 to {MAX_LIMIT}")))?,
        };
        let offset = match params.offset.as_deref() {
            None => 0,
            Some(o) => o
                .parse::<u64>()
                .ok()
                .filter(|o| *o <= MAX_OFFSET)
                .ok_or_else(|| bad(format!("offset: must be an integer from 0 to {MAX_OFFSET}")))?,
        };
        let after = match params.cursor.as_deref() {
            None => None,
            Some(_) if offset > 0 => return Err(bad("cursor and offset cannot be combined")),
            Some(c) => Some(cursor::decode(c, &sort_spec, sort.len()).ok_or_else(|| {
                bad("cursor: not a cursor from this listing (was the sort changed?)")
            })?),
        };
        let fields = params
            .fields
            .as_deref()
            .map(|f| parse_names(&col, "fields", f, false))
            .transpose()?
            .filter(|f| !f.is_empty());
        let expand = params
            .expand
            .as_deref()
            .map(|e| parse_names(&col, "expand", e, true))
            .transpose()?
            .filter(|e| !e.is_empty());
        let count = parse_bool("count", params.count.as_deref())?;
        let query = ListQuery {
            filter,
            sort,
            limit,
            offset,
            after,
            access,
            count,
        };
        Ok(ListPlan {
            col,
            query,
            sort_spec,
            fields,
            expand,
        })
    }

    /// A page of records as JSON objects (the dashboard, and the API when it expands).
    pub async fn list_records(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        params: &ListParams,
    ) -> Result<ListResult, ResourceError> {
        let plan = self.plan_list(caller, collection, params)?;
        self.list_maps(caller, plan).await
    }

    async fn list_maps(
        &self,
        caller: Option<&Principal>,
        plan: ListPlan,
    ) -> Result<ListResult, ResourceError> {
        let ListPlan {
            col,
            query,
            sort_spec,
            fields,
            expand,
        } = plan;
        let read_col = col.clone();
        let page = self
            .db
            .read(move |conn| {
                storage::describe_query("SELECT", read_col.name());
                list::list(conn, &read_col, &query)
            })
            .await?;
        let mut items: Vec<Map<String, Value>> = page.records.into_iter().map(|r| r.json).collect();
        if let Some(expand) = expand {
            self.expand(caller, &col, &expand, &mut items).await?;
        }
        if let Some(fields) = fields {
            for item in &mut items {
                item.retain(|k, _| k == "expand" || fields.iter().any(|f| f == k));
            }
        }
        Ok(ListResult {
            items,
            next_cursor: page.next.map(|keys| cursor::encode(&sort_spec, &keys)),
            total: page.total,
        })
    }

    /// A page rendered straight to the response body: rows are written as JSON text on
    /// the reader thread, with no intermediate maps (the hot path of listing). Expanding
    /// needs the maps, so it takes the general path.
    pub async fn list_records_json(
        &self,
        caller: Option<&Principal>,
        collection: &str,
        params: &ListParams,
    ) -> Result<JsonPage, ResourceError> {
        let plan = self.plan_list(caller, collection, params)?;
        if plan.expand.is_some() {
            let result = self.list_maps(caller, plan).await?;
            let mut body = PAGE_OPEN.to_vec();
            for (i, item) in result.items.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                let _ = serde_json::to_writer(&mut body, item);
            }
            close_page(&mut body, result.next_cursor.as_deref(), result.total);
            return Ok(JsonPage {
                body,
                next_cursor: result.next_cursor,
            });
        }
        let ListPlan {
            col,
            query,
            sort_spec,
            fields,
            ..
        } = plan;
        self.db
            .read(move |conn| {
                storage::describe_query("SELECT", col.name());
                // ~300 bytes a record is typical; one allocation for most pages.
                let mut body = Vec::with_capacity(64 + query.limit as usize * 320);
                body.extend_from_slice(PAGE_OPEN);
                let mut first = true;
                let end = list::list_rows(conn, &col, &query, |row| {
                    if !first {
                        body.push(b',');
                    }
                    first = false;
                    records::write_record_json(&col, row, fields.as_deref(), &mut body)?;
                    Ok(())
                })?;
                let next_cursor = end.next.map(|keys| cursor::encode(&sort_spec, &keys));
                close_page(&mut body, next_cursor.as_deref(), end.total);
                Ok(JsonPage { body, next_cursor })
            })
            .await
    }

    /// Inlines related records under `expand`, one query per relation field for the whole
    /// page. Related records the caller may not view are left out, not reported.
    async fn expand(
        &self,
        caller: Option<&Principal>,
        col: &Collection,
        fields: &[String],
        items: &mut [Map<String, Value>],
    ) -> Result<(), ResourceError> {
        for name in fields {
            let Some(FieldType::Relation(rel)) = col.field(name).map(|f| &f.ty) else {
                continue;
            };
            let Some(target) = self.registry.get(&rel.collection) else {
                continue;
            };
            let Ok(access) = authorize(&target.def.rules, Action::View, caller) else {
                continue;
            };
            let ids: BTreeSet<String> = items
                .iter()
                .filter_map(|item| item.get(name).and_then(Value::as_str).map(str::to_owned))
                .collect();
            if ids.is_empty() {
                continue;
            }
            let found = self
                .db
                .read(move |conn| {
                    storage::describe_query("SELECT", target.name());
                    let mut params: Vec<Sql> = ids.into_iter().map(Sql::Text).collect();
                    let marks = vec!["?"; params.len()].join(", ");
                    let mut sql = format!(
                        "SELECT {} FROM {} WHERE \"id\" IN ({marks})",
                        records::select_list(&target),
                        quote(&table_name(target.name()))
                    );
                    if let Access::OwnedBy(user) = &access {
                        sql.push_str(" AND \"owner\" = ?");
                        params.push(Sql::Text(user.clone()));
                    }
                    let mut stmt = conn.prepare(&sql)?;
                    let rows = stmt.query_map(params_from_iter(params), |r| {
                        records::record_from_row(&target, r)
                    })?;
                    let mut by_id = HashMap::new();
                    for row in rows {
                        let Record { json, .. } = row?;
                        if let Some(Value::String(id)) = json.get("id") {
                            by_id.insert(id.clone(), json.clone());
                        }
                    }
                    Ok::<_, ResourceError>(by_id)
                })
                .await?;
            for item in items.iter_mut() {
                let related = item
                    .get(name)
                    .and_then(Value::as_str)
                    .and_then(|id| found.get(id))
                    .cloned();
                if let Some(related) = related {
                    let expand = item
                        .entry("expand")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(obj) = expand.as_object_mut() {
                        obj.insert(name.clone(), Value::Object(related));
                    }
                }
            }
        }
        Ok(())
    }
}
