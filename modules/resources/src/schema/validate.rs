//! From the JSON form to a validated `CollectionDef`, reporting every problem at once
//! with a path such as `fields[2].max_length`.

use super::spec::{CollectionSpec, FieldSpec, FieldTypeName, OnDeleteName, RulesSpec};
use super::{is_valid_name, CollectionDef, FieldDef, MAX_FIELDS, RESERVED_NAMES, SYSTEM_FIELDS};
use crate::fields::*;
use crate::rules::{Action, Grant, Rules};
use kernel::{FieldCode, FieldError};
use serde_json::Value;

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, path: impl Into<String>, code: FieldCode, message: impl Into<String>) {
        self.0.push(FieldError::new(path, code, message));
    }
}

impl CollectionSpec {
    /// Validates everything that can be checked without the database (that relation
    /// targets exist is the service's job).
    pub fn to_def(&self) -> Result<CollectionDef, Vec<FieldError>> {
        let mut errs = Errors(Vec::new());
        if !is_valid_name(&self.name) {
            errs.add(
                "name",
                FieldCode::PatternMismatch,
                "must match ^[a-z][a-z0-9_]{0,62}$",
            );
        } else if RESERVED_NAMES.contains(&self.name.as_str()) {
            errs.add(
                "name",
                FieldCode::Invalid,
                format!("`{}` is reserved for the system", self.name),
            );
        }
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 1000)
        {
            errs.add(
                "description",
                FieldCode::TooLong,
                "must be at most 1000 characters",
            );
        }
        if self.fields.len() > MAX_FIELDS {
            errs.add(
                "fields",
                FieldCode::TooLong,
                format!("at most {MAX_FIELDS} fields"),
            );
        }
        let mut fields = Vec::new();
        for (i, spec) in self.fields.iter().enumerate() {
            let path = format!("fields[{i}]");
            if self.fields[..i].iter().any(|f| f.name == spec.name) {
                errs.add(
                    format!("{path}.name"),
                    FieldCode::Invalid,
                    format!("duplicate field name `{}`", spec.name),
                );
            }
            if let Some(field) = field_def(spec, &path, &mut errs) {
                fields.push(field);
            }
        }
        let rules = rules_from(self.rules.as_ref(), &mut errs);
        if errs.0.is_empty() {
            Ok(CollectionDef {
                name: self.name.clone(),
                description: self.description.clone(),
                fields,
                rules,
            })
        } else {
            Err(errs.0)
        }
    }
}

fn rules_from(spec: Option<&RulesSpec>, errs: &mut Errors) -> Rules {
    let mut rules = Rules::default();
    let Some(spec) = spec else { return rules };
    for action in Action::ALL {
        let list = match action {
            Action::List => &spec.list,
            Action::View => &spec.view,
            Action::Create => &spec.create,
            Action::Update => &spec.update,
            Action::Delete => &spec.delete,
        };
        for (i, grant) in list.iter().enumerate() {
            match Grant::parse(grant) {
                Some(g) if !rules.grants(action).contains(&g) => rules.grants_mut(action).push(g),
                Some(_) => {}
                None => errs.add(
                    format!("rules.{}[{i}]", action.as_str()),
                    FieldCode::Invalid,
                    "must be public, authenticated, owner or role:NAME",
                ),
            }
        }
    }
    rules
}

/// Options present on a field whose type does not use them.
fn stray_options(spec: &FieldSpec) -> Vec<&'static str> {
    use FieldTypeName as T;
    let t = spec.type_;
    let mut stray = Vec::new();
    let mut check = |present: bool, name: &'static str, allowed: &[T]| {
        if present && !allowed.contains(&t) {
            stray.push(name);
        }
    };
    check(spec.min_length.is_some(), "min_length", &[T::Text]);
    check(spec.max_length.is_some(), "max_length", &[T::Text]);
    check(spec.pattern.is_some(), "pattern", &[T::Text]);
    check(spec.min.is_some(), "min", &[T::Integer, T::Number]);
    check(spec.max.is_some(), "max", &[T::Integer, T::Number]);
    check(spec.values.is_some(), "values", &[T::Enum]);
    check(spec.max_bytes.is_some(), "max_bytes", &[T::Json]);
    check(spec.collection.is_some(), "collection", &[T::Relation]);
    check(spec.on_delete.is_some(), "on_delete", &[T::Relation]);
    check(spec.max_size.is_some(), "max_size", &[T::File]);
    check(spec.mime_types.is_some(), "mime_types", &[T::File]);
    check(spec.max_files.is_some(), "max_files", &[T::File]);
    check(spec.thumbs.is_some(), "thumbs", &[T::File]);
    check(spec.protected.is_some(), "protected", &[T::File]);
    stray
}

/// Words the filter language reserves, so a field with such a name could not be filtered.
const FILTER_KEYWORDS: [&str; 6] = ["in", "is", "not", "null", "true", "false"];

fn field_def(spec: &FieldSpec, path: &str, errs: &mut Errors) -> Option<FieldDef> {
    let before = errs.0.len();
    if !is_valid_name(&spec.name) {
        errs.add(
            format!("{path}.name"),
            FieldCode::PatternMismatch,
            "must match ^[a-z][a-z0-9_]{0,62}$",
        );
    } else if SYSTEM_FIELDS.contains(&spec.name.as_str()) {
        errs.add(
            format!("{path}.name"),
            FieldCode::Invalid,
            format!("`{}` is a system field", spec.name),
        );
    } else if FILTER_KEYWORDS.contains(&spec.name.as_str()) {
        errs.add(
            format!("{path}.name"),
            FieldCode::Invalid,
            format!("`{}` is a keyword of the filter language", spec.name),
        );
    }
    for option in stray_options(spec) {
        errs.add(
            format!("{path}.{option}"),
            FieldCode::Invalid,
            format!(
                "`{option}` does not apply to {} fields",
                field_type_label(spec.type_)
            ),
        );
    }
    let ty = field_type(spec, path, errs)?;
    let required = spec.required.unwrap_or(false);
    let unique = spec.unique.unwrap_or(false);
    let indexed = spec.indexed.unwrap_or(false);
    if matches!(ty, FieldType::Json(_)) && (unique || indexed) {
        errs.add(
            format!("{path}.unique"),
            FieldCode::Invalid,
            "json fields cannot be unique or indexed",
        );
    }
    if matches!(ty, FieldType::File(_)) && unique {
        errs.add(
            format!("{path}.unique"),
            FieldCode::Invalid,
            "file fields cannot be unique (every stored name is unique already)",
        );
    }
    if let FieldType::Relation(r) = &ty {
        if required && r.on_delete == OnDelete::SetNull {
            errs.add(
                format!("{path}.on_delete"),
                FieldCode::Invalid,
                "a required relation cannot use set_null",
            );
        }
    }
    let default = match &spec.default {
        None | Some(Value::Null) => None,
        Some(_) if matches!(ty, FieldType::Relation(_) | FieldType::File(_)) => {
            errs.add(
                format!("{path}.default"),
                FieldCode::Invalid,
                format!("{} fields cannot have a default", ty.name()),
            );
            None
        }
        Some(v) => match ty.to_sql(v) {
            Ok(_) => Some(v.clone()),
            Err((code, message)) => {
                errs.add(format!("{path}.default"), code, message);
                None
            }
        },
    };
    if spec
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 1000)
    {
        errs.add(
            format!("{path}.description"),
            FieldCode::TooLong,
            "must be at most 1000 characters",
        );
    }
    (errs.0.len() == before).then(|| FieldDef {
        name: spec.name.clone(),
        ty,
        required,
        unique,
        indexed,
        default,
        description: spec.description.clone(),
    })
}

fn field_type_label(t: FieldTypeName) -> &'static str {
    use FieldTypeName as T;
    match t {
        T::Text => "text",
        T::Integer => "integer",
        T::Number => "number",
        T::Boolean => "boolean",
        T::Datetime => "datetime",
        T::Date => "date",
        T::Email => "email",
        T::Url => "url",
        T::Enum => "enum",
        T::Json => "json",
        T::Relation => "relation",
        T::File => "file",
    }
}

fn field_type(spec: &FieldSpec, path: &str, errs: &mut Errors) -> Option<FieldType> {
    use FieldTypeName as T;
    Some(match spec.type_ {
        T::Text => {
            if let (Some(min), Some(max)) = (spec.min_length, spec.max_length) {
                if min > max {
                    errs.add(
                        format!("{path}.min_length"),
                        FieldCode::Invalid,
                        "must not exceed max_length",
                    );
                }
            }
            let pattern = match &spec.pattern {
                None => None,
                Some(p) if p.len() > 512 => {
                    errs.add(
                        format!("{path}.pattern"),
                        FieldCode::TooLong,
                        "must be at most 512 bytes",
                    );
                    return None;
                }
                Some(p) => match Pattern::new(p) {
                    Ok(pattern) => Some(pattern),
                    Err(message) => {
                        errs.add(format!("{path}.pattern"), FieldCode::Invalid, message);
                        return None;
                    }
                },
            };
            FieldType::Text(TextOptions {
                min_length: spec.min_length,
                max_length: spec.max_length,
                pattern,
            })
        }
        T::Integer => {
            let as_int = |v: Option<f64>, name: &str, errs: &mut Errors| match v {
                Some(f) if f.fract() != 0.0 || f.abs() > 9.0e15 => {
                    errs.add(
                        format!("{path}.{name}"),
                        FieldCode::WrongType,
                        "must be an integer",
                    );
                    None
                }
                other => other.map(|f| f as i64),
            };
            let (min, max) = (as_int(spec.min, "min", errs), as_int(spec.max, "max", errs));
            if let (Some(a), Some(b)) = (min, max) {
                if a > b {
                    errs.add(
                        format!("{path}.min"),
                        FieldCode::Invalid,
                        "must not exceed max",
                    );
                }
            }
            FieldType::Integer(IntegerOptions { min, max })
        }
        T::Number => {
            if let (Some(a), Some(b)) = (spec.min, spec.max) {
                if a > b {
                    errs.add(
                        format!("{path}.min"),
                        FieldCode::Invalid,
                        "must not exceed max",
                    );
                }
            }
            FieldType::Number(NumberOptions {
                min: spec.min,
                max: spec.max,
            })
        }
        T::Boolean => FieldType::Boolean,
        T::Datetime => FieldType::Datetime,
        T::Date => FieldType::Date,
        T::Email => FieldType::Email,
        T::Url => FieldType::Url,
        T::Enum => {
            let values = spec.values.clone().unwrap_or_default();
            if values.is_empty() || values.len() > 100 {
                errs.add(
                    format!("{path}.values"),
                    FieldCode::Invalid,
                    "must list 1 to 100 values",
                );
            }
            for (i, v) in values.iter().enumerate() {
                if v.is_empty() || v.chars().count() > 100 {
                    errs.add(
                        format!("{path}.values[{i}]"),
                        FieldCode::Invalid,
                        "must be 1 to 100 characters",
                    );
                } else if v.contains('\0') {
                    // Values go into the column's CHECK constraint, where SQL text ends at NUL.
                    errs.add(
                        format!("{path}.values[{i}]"),
                        FieldCode::Invalid,
                        "must not contain the NUL character (U+0000)",
                    );
                } else if values[..i].contains(v) {
                    errs.add(
                        format!("{path}.values[{i}]"),
                        FieldCode::Invalid,
                        "duplicate value",
                    );
                }
            }
            FieldType::Enum(EnumOptions { values })
        }
        T::Json => {
            if spec.max_bytes.is_some_and(|m| !(2..=16 << 20).contains(&m)) {
                errs.add(
                    format!("{path}.max_bytes"),
                    FieldCode::Invalid,
                    "must be between 2 and 16777216",
                );
            }
            FieldType::Json(JsonOptions {
                max_bytes: spec.max_bytes,
            })
        }
        T::File => file_options(spec, path, errs),
        T::Relation => {
            let collection = match &spec.collection {
                Some(c) if is_valid_name(c) => c.clone(),
                _ => {
                    errs.add(
                        format!("{path}.collection"),
                        FieldCode::Required,
                        "must name the related collection",
                    );
                    return None;
                }
            };
            let on_delete = match spec.on_delete.unwrap_or(OnDeleteName::Restrict) {
                OnDeleteName::Restrict => OnDelete::Restrict,
                OnDeleteName::Cascade => OnDelete::Cascade,
                OnDeleteName::SetNull => OnDelete::SetNull,
            };
            FieldType::Relation(RelationOptions {
                collection,
                on_delete,
            })
        }
    })
}

fn file_options(spec: &FieldSpec, path: &str, errs: &mut Errors) -> FieldType {
    use crate::fields::file::{DEFAULT_MAX_SIZE, MAX_MAX_FILES, MAX_MAX_SIZE};
    let max_size = spec.max_size.unwrap_or(DEFAULT_MAX_SIZE);
    if !(1..=MAX_MAX_SIZE).contains(&max_size) {
        errs.add(
            format!("{path}.max_size"),
            FieldCode::Invalid,
            format!("must be between 1 and {MAX_MAX_SIZE} bytes (5 GiB)"),
        );
    }
    let max_files = spec.max_files.unwrap_or(1);
    if !(1..=MAX_MAX_FILES).contains(&max_files) {
        errs.add(
            format!("{path}.max_files"),
            FieldCode::Invalid,
            format!("must be between 1 and {MAX_MAX_FILES}"),
        );
    }
    let mut mime_types: Vec<String> = Vec::new();
    for (i, mime) in spec.mime_types.iter().flatten().enumerate() {
        let normal = mime.trim().to_ascii_lowercase();
        if !is_mime_pattern(&normal) {
            errs.add(
                format!("{path}.mime_types[{i}]"),
                FieldCode::Invalid,
                "must be a media type such as image/png, or a kind such as image/*",
            );
        } else if mime_types.contains(&normal) {
            errs.add(
                format!("{path}.mime_types[{i}]"),
                FieldCode::Invalid,
                "duplicate value",
            );
        } else {
            mime_types.push(normal);
        }
    }
    let mut thumbs: Vec<String> = Vec::new();
    for (i, text) in spec.thumbs.iter().flatten().enumerate() {
        match text.parse::<thumbs::ThumbSpec>() {
            Ok(size) if thumbs.contains(&size.to_string()) => {
                errs.add(
                    format!("{path}.thumbs[{i}]"),
                    FieldCode::Invalid,
                    "duplicate size",
                );
            }
            Ok(size) => thumbs.push(size.to_string()),
            Err(e) => errs.add(
                format!("{path}.thumbs[{i}]"),
                FieldCode::Invalid,
                format!("{e} (sizes are WxH, WxHf, Wx0 or 0xH)"),
            ),
        }
    }
    if thumbs.len() > 16 {
        errs.add(
            format!("{path}.thumbs"),
            FieldCode::Invalid,
            "at most 16 sizes",
        );
    }
    FieldType::File(FileOptions {
        max_size,
        mime_types,
        max_files,
        thumbs,
        protected: spec.protected.unwrap_or(false),
    })
}

/// `type/subtype` or `type/*`, in the token characters of RFC 6838 (lowercase).
fn is_mime_pattern(text: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty()
            && t.len() <= 127
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$&-^_.+".contains(&b))
    };
    match text.split_once('/') {
        Some((kind, "*")) => token(kind),
        Some((kind, sub)) => token(kind) && token(sub),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<CollectionDef, Vec<FieldError>> {
        serde_json::from_value::<CollectionSpec>(v)
            .unwrap()
            .to_def()
    }

    #[test]
    fn contract_example_is_valid_and_round_trips() {
        let def = parse(json!({"name": "posts", "description": "Blog posts",
         "fields": [
           {"name": "title", "type": "text", "required": true, "min_length": 1, "max_length": 200},
           {"name": "slug", "type": "text", "unique": true, "pattern": "^[a-z0-9-]+$"},
           {"name": "views", "type": "integer", "min": 0, "default": 0, "indexed": true},
           {"name": "status", "type": "enum", "values": ["draft", "published"], "default": "draft"},
           {"name": "author", "type": "relation", "collection": "authors", "on_delete": "set_null"}],
         "rules": {"list": ["public"], "view": ["public"], "create": ["authenticated"],
                   "update": ["owner", "role:editor"], "delete": ["owner"]}}))
        .unwrap();
        assert_eq!(def.fields.len(), 5);
        assert_eq!(
            def.rules.update,
            vec![Grant::Owner, Grant::Role("editor".into())]
        );
        let again = def.spec().to_def().unwrap();
        assert_eq!(again, def);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let errs = parse(json!({"name": "users", "fields": [
            {"name": "Title", "type": "text", "min": 3},
            {"name": "id", "type": "integer", "min": 1.5},
            {"name": "n", "type": "integer", "min": 5, "max": 1},
            {"name": "n", "type": "enum", "values": []},
            {"name": "r", "type": "relation"},
            {"name": "p", "type": "text", "pattern": "(unclosed"},
            {"name": "d", "type": "integer", "default": "zero"}],
            "rules": {"list": ["everyone"]}}))
        .unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for p in [
            "name",
            "fields[0].name",
            "fields[0].min",
            "fields[1].name",
            "fields[1].min",
            "fields[2].min",
            "fields[3].name",
            "fields[3].values",
            "fields[4].collection",
            "fields[5].pattern",
            "fields[6].default",
            "rules.list[0]",
        ] {
            assert!(paths.contains(&p), "{p} missing from {paths:?}");
        }
        let default_err = errs
            .iter()
            .find(|e| e.field == "fields[6].default")
            .unwrap();
        assert_eq!(default_err.code, "wrong_type");
    }
}
