//! The schema editor's state: a collection definition as form fields (`f3.max_length`),
//! read back from a submitted form, edited (add, remove, move), and turned into the
//! same `CollectionSpec` the API takes. The service validates it; its errors (paths
//! such as `fields[3].max_length`) are placed next to the inputs they name.

use crate::form::{list, Form};
use kernel::FieldError;
use resources::schema::{CollectionView, FieldSpec, FieldTypeName, OnDeleteName, RulesSpec};
use resources::CollectionSpec;
use serde_json::Value;

pub const TYPES: [(&str, &str); 12] = [
    ("text", "Text"),
    ("integer", "Integer"),
    ("number", "Number"),
    ("boolean", "Boolean"),
    ("datetime", "Date and time"),
    ("date", "Date"),
    ("email", "Email"),
    ("url", "URL"),
    ("enum", "Choice (enum)"),
    ("json", "JSON"),
    ("relation", "Relation"),
    ("file", "File"),
];

pub const ACTIONS: [&str; 5] = ["list", "view", "create", "update", "delete"];

#[derive(Clone, Debug, Default)]
pub struct FieldRow {
    pub name: String,
    /// The name the field has in the stored definition (empty for a new field).
    pub orig: String,
    pub ty: String,
    pub required: bool,
    pub unique: bool,
    pub indexed: bool,
    pub default: String,
    pub description: String,
    pub min_length: String,
    pub max_length: String,
    pub pattern: String,
    pub min: String,
    pub max: String,
    pub values: String,
    pub max_bytes: String,
    pub collection: String,
    pub on_delete: String,
    /// file: bytes, types (comma-separated), count, sizes (comma-separated), protected.
    pub max_size: String,
    pub mime_types: String,
    pub max_files: String,
    pub thumbs: String,
    pub protected: bool,
    /// (option, message): `""` for the field as a whole.
    pub errors: Vec<(String, String)>,
}

impl FieldRow {
    pub fn error(&self, option: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(o, _)| o == option)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Clone, Debug, Default)]
pub struct Editor {
    pub name: String,
    pub description: String,
    pub rows: Vec<FieldRow>,
    pub rules: Vec<(String, String)>,
    /// Errors not about one field.
    pub errors: Vec<String>,
    pub name_error: Option<String>,
}

fn num(v: Option<f64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

fn type_str(t: FieldTypeName) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn default_text(v: &Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

impl Editor {
    pub fn empty() -> Editor {
        Editor {
            rows: vec![FieldRow {
                ty: "text".into(),
                ..Default::default()
            }],
            rules: ACTIONS
                .iter()
                .map(|a| (a.to_string(), String::new()))
                .collect(),
            ..Default::default()
        }
    }

    pub fn from_view(c: &CollectionView) -> Editor {
        let rows = c
            .fields
            .iter()
            .map(|f| FieldRow {
                name: f.name.clone(),
                orig: f.name.clone(),
                ty: type_str(f.type_),
                required: f.required.unwrap_or(false),
                unique: f.unique.unwrap_or(false),
                indexed: f.indexed.unwrap_or(false),
                default: default_text(&f.default),
                description: f.description.clone().unwrap_or_default(),
                min_length: f.min_length.map(|n| n.to_string()).unwrap_or_default(),
                max_length: f.max_length.map(|n| n.to_string()).unwrap_or_default(),
                pattern: f.pattern.clone().unwrap_or_default(),
                min: num(f.min),
                max: num(f.max),
                values: f.values.clone().unwrap_or_default().join(", "),
                max_bytes: f.max_bytes.map(|n| n.to_string()).unwrap_or_default(),
                collection: f.collection.clone().unwrap_or_default(),
                on_delete: f
                    .on_delete
                    .and_then(|o| serde_json::to_value(o).ok())
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                max_size: f.max_size.map(|n| n.to_string()).unwrap_or_default(),
                mime_types: f.mime_types.clone().unwrap_or_default().join(", "),
                max_files: f.max_files.map(|n| n.to_string()).unwrap_or_default(),
                thumbs: f.thumbs.clone().unwrap_or_default().join(", "),
                protected: f.protected.unwrap_or(false),
                errors: Vec::new(),
            })
            .collect();
        let r = &c.rules;
        let rules = [&r.list, &r.view, &r.create, &r.update, &r.delete];
        Editor {
            name: c.name.clone(),
            description: c.description.clone().unwrap_or_default(),
            rows,
            rules: ACTIONS
                .iter()
                .zip(rules)
                .map(|(a, g)| (a.to_string(), g.join(", ")))
                .collect(),
            ..Default::default()
        }
    }

    pub fn from_form(form: &Form) -> Editor {
        let n: usize = form
            .get("n")
            .parse()
            .unwrap_or(0)
            .min(resources::schema::MAX_FIELDS);
        let rows = (0..n)
            .map(|i| {
                let g = |k: &str| form.get(&format!("f{i}.{k}")).to_owned();
                FieldRow {
                    name: g("name").trim().to_owned(),
                    orig: g("orig"),
                    ty: g("type"),
                    required: form.checked(&format!("f{i}.required")),
                    unique: form.checked(&format!("f{i}.unique")),
                    indexed: form.checked(&format!("f{i}.indexed")),
                    default: g("default"),
                    description: g("description"),
                    min_length: g("min_length"),
                    max_length: g("max_length"),
                    pattern: g("pattern"),
                    min: g("min"),
                    max: g("max"),
                    values: g("values"),
                    max_bytes: g("max_bytes"),
                    collection: g("collection"),
                    on_delete: g("on_delete"),
                    max_size: g("max_size"),
                    mime_types: g("mime_types"),
                    max_files: g("max_files"),
                    thumbs: g("thumbs"),
                    protected: form.checked(&format!("f{i}.protected")),
                    errors: Vec::new(),
                }
            })
            .collect();
        Editor {
            name: form.get("name").trim().to_owned(),
            description: form.get("description").to_owned(),
            rows,
            rules: ACTIONS
                .iter()
                .map(|a| (a.to_string(), form.get(&format!("rules.{a}")).to_owned()))
                .collect(),
            ..Default::default()
        }
    }

    /// `add`, `remove:I`, `up:I`, `down:I`; true when the action was one of these.
    pub fn edit(&mut self, action: &str) -> bool {
        let at = |p: &str| action.strip_prefix(p).and_then(|i| i.parse::<usize>().ok());
        if action == "add" {
            self.rows.push(FieldRow {
                ty: "text".into(),
                ..Default::default()
            });
        } else if let Some(i) = at("remove:").filter(|i| *i < self.rows.len()) {
            self.rows.remove(i);
        } else if let Some(i) = at("up:").filter(|i| *i > 0 && *i < self.rows.len()) {
            self.rows.swap(i, i - 1);
        } else if let Some(i) = at("down:").filter(|i| i + 1 < self.rows.len()) {
            self.rows.swap(i, i + 1);
        } else {
            return false;
        }
        true
    }

    /// The definition as the API takes it. Text that is not a number where one is
    /// needed is reported here, before the service sees it.
    pub fn build_spec(&mut self) -> Option<CollectionSpec> {
        let mut fields = Vec::new();
        let mut ok = true;
        for row in &mut self.rows {
            let mut bad = |opt: &str, msg: &str| {
                row_err(&mut row.errors, opt, msg);
                ok = false;
            };
            let ty: FieldTypeName = match serde_json::from_value(Value::String(row.ty.clone())) {
                Ok(t) => t,
                Err(_) => {
                    bad("type", "choose a type");
                    continue;
                }
            };
            let uint = |s: &str| -> Result<Option<u32>, ()> {
                let s = s.trim();
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse().map(Some).map_err(|_| ())
                }
            };
            let float = |s: &str| -> Result<Option<f64>, ()> {
                let s = s.trim();
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse().map(Some).map_err(|_| ())
                }
            };
            let (min_length, max_length, max_bytes) = (
                uint(&row.min_length),
                uint(&row.max_length),
                uint(&row.max_bytes),
            );
            let (min, max) = (float(&row.min), float(&row.max));
            for (opt, r) in [
                ("min_length", &min_length),
                ("max_length", &max_length),
                ("max_bytes", &max_bytes),
            ] {
                if r.is_err() {
                    bad(opt, "must be a whole number of 0 or more");
                }
            }
            for (opt, r) in [("min", &min), ("max", &max)] {
                if r.is_err() {
                    bad(opt, "must be a number");
                }
            }
            let default = match default_value(ty, &row.default) {
                Ok(v) => v,
                Err(m) => {
                    bad("default", m);
                    None
                }
            };
            let on_delete = match row.on_delete.as_str() {
                "" => None,
                s => serde_json::from_value::<OnDeleteName>(Value::String(s.into())).ok(),
            };
            let values = list(&row.values);
            let is_file = ty == FieldTypeName::File;
            let max_size = match row.max_size.trim() {
                "" => None,
                s => match s.parse::<u64>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        bad("max_size", "must be a whole number of bytes");
                        None
                    }
                },
            };
            let max_files = uint(&row.max_files).unwrap_or_else(|()| {
                bad("max_files", "must be a whole number of 1 or more");
                None
            });
            let (mime_types, thumbs) = (list(&row.mime_types), list(&row.thumbs));
            fields.push(FieldSpec {
                name: row.name.clone(),
                type_: ty,
                required: row.required.then_some(true),
                unique: row.unique.then_some(true),
                indexed: row.indexed.then_some(true),
                default,
                description: Some(row.description.trim().to_owned()).filter(|d| !d.is_empty()),
                min_length: min_length.unwrap_or(None),
                max_length: max_length.unwrap_or(None),
                pattern: Some(row.pattern.clone()).filter(|p| !p.is_empty()),
                min: min.unwrap_or(None),
                max: max.unwrap_or(None),
                values: (!values.is_empty()).then_some(values),
                max_bytes: max_bytes.unwrap_or(None),
                collection: Some(row.collection.trim().to_owned()).filter(|c| !c.is_empty()),
                on_delete,
                max_size: max_size.filter(|_| is_file),
                mime_types: (is_file && !mime_types.is_empty()).then_some(mime_types),
                max_files: max_files.filter(|_| is_file),
                thumbs: (is_file && !thumbs.is_empty()).then_some(thumbs),
                protected: (is_file && row.protected).then_some(true),
                renamed_from: (!row.orig.is_empty() && row.orig != row.name)
                    .then(|| row.orig.clone()),
            });
        }
        let grants = |a: &str| {
            list(
                self.rules
                    .iter()
                    .find(|(k, _)| k == a)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or(""),
            )
        };
        let rules = RulesSpec {
            list: grants("list"),
            view: grants("view"),
            create: grants("create"),
            update: grants("update"),
            delete: grants("delete"),
        };
        ok.then(|| CollectionSpec {
            name: self.name.clone(),
            description: Some(self.description.trim().to_owned()).filter(|d| !d.is_empty()),
            fields,
            rules: Some(rules),
        })
    }

    /// Puts the service's errors next to what they name.
    pub fn place_errors(&mut self, errors: &[FieldError]) {
        for e in errors {
            let path = e.field.as_str();
            if let Some(rest) = path.strip_prefix("fields[") {
                if let Some((i, tail)) = rest.split_once(']') {
                    if let Some(row) = i.parse::<usize>().ok().and_then(|i| self.rows.get_mut(i)) {
                        let opt = tail.trim_start_matches('.');
                        let opt = opt.split(['[', '.']).next().unwrap_or("");
                        row_err(&mut row.errors, opt, &e.message);
                        continue;
                    }
                }
            }
            if path == "name" {
                self.name_error = Some(e.message.clone());
            } else {
                self.errors.push(format!("{path}: {}", e.message));
            }
        }
    }
}

fn row_err(errors: &mut Vec<(String, String)>, opt: &str, msg: &str) {
    // Errors about a field's flags or name show by the name input.
    let opt = match opt {
        "renamed_from" => "name",
        o => o,
    };
    errors.push((opt.to_owned(), msg.to_owned()));
}

/// The default as JSON of the field's type: numbers and booleans parsed, JSON read as
/// JSON, everything else kept as text for the service to check.
fn default_value(ty: FieldTypeName, text: &str) -> Result<Option<Value>, &'static str> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let t = text.trim();
    Ok(Some(match ty {
        FieldTypeName::Integer | FieldTypeName::Number => {
            serde_json::from_str::<serde_json::Number>(t)
                .map(Value::Number)
                .map_err(|_| "must be a number")?
        }
        FieldTypeName::Boolean => match t {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err("must be true or false"),
        },
        FieldTypeName::Json => serde_json::from_str(t).map_err(|_| "must be valid JSON")?,
        _ => Value::String(text.to_owned()),
    }))
}
