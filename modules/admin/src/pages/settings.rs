//! `/admin/settings`: the run-time settings the auth service owns: sign-ups, CORS origins
//! and the API rate limit. CORS and the rate limit start from the server's configuration;
//! a value saved here is stored in the database and wins over it until "Use the
//! configured value" clears it. Each field says where its value comes from.
//!
//! Saving writes only what differs from the value in effect, so saving the sign-up switch
//! does not pin the configured CORS origins or rate limit into the database.

use crate::context::{AdminCtx, Layout};
use crate::form::{list, Form};
use crate::page::{self, Failure};
use crate::pages::common::failure_page;
use crate::Admin;
use askama::Template;
use auth::{AuthSettings, Setting, SettingsUpdate};
use kernel::{FieldCode, FieldError, Problem};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{handler, Response};

const CORS_ORIGINS: &str = "cors_origins";
const PER_SECOND: &str = "rate_limit_per_second";
const BURST: &str = "rate_limit_burst";

/// One overridable setting as the form shows it.
struct Field {
    /// The form field's name (also the setting's and the API's).
    name: &'static str,
    /// The element id (`cors-origins`, …).
    id: &'static str,
    label: &'static str,
    hint: String,
    /// What the input holds: the value in effect, or what was just submitted.
    value: String,
    /// The value in effect comes from the database (an admin set it), not the configuration.
    stored: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    layout: Layout,
    allow_signups: bool,
    cors: Field,
    limits: Vec<Field>,
    failure: Option<Failure>,
}

impl SettingsPage {
    /// The fields with a stored value, which get a "Use the configured value" form.
    fn resettable(&self) -> Vec<&'static str> {
        std::iter::once(&self.cors)
            .chain(&self.limits)
            .filter(|f| f.stored)
            .map(|f| f.name)
            .collect()
    }
}

fn shown<T>(s: &Setting<T>, text: impl Fn(&T) -> String) -> (String, bool) {
    (text(&s.value), s.is_stored())
}

fn origins_text(origins: &[String]) -> String {
    origins.join("\n")
}

/// Every message the service gave for `name` (including `name[i]` for list entries).
fn messages(failure: Option<&Failure>, name: &str) -> Option<String> {
    let failure = failure?;
    let found: Vec<&str> = failure
        .fields
        .iter()
        .filter(|f| {
            f.field == name
                || f.field
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('['))
        })
        .map(|f| f.message.as_str())
        .collect();
    (!found.is_empty()).then(|| found.join("; "))
}

fn render(
    ctx: &AdminCtx,
    admin: &Admin,
    s: &AuthSettings,
    submitted: Option<&Form>,
    failure: Option<Failure>,
) -> Response {
    let c = &s.configured;
    // After a refused save the inputs keep what was typed; otherwise the values in effect.
    let value = |name: &str, effective: String| match submitted {
        Some(form) if form.has(name) => form.get(name).to_owned(),
        _ => effective,
    };
    let (origins, origins_stored) = shown(&s.cors_origins, |o| origins_text(o));
    let (per_second, per_second_stored) = shown(&s.rate_limit_per_second, u32::to_string);
    let (burst, burst_stored) = shown(&s.rate_limit_burst, u32::to_string);
    let configured_origins = if c.cors_origins.is_empty() {
        "none (CORS off)".to_owned()
    } else {
        c.cors_origins.join(", ")
    };
    let configured_rate = if c.rate_limit_per_second == 0 {
        "0 (off)".to_owned()
    } else {
        c.rate_limit_per_second.to_string()
    };
    let cors = Field {
        name: CORS_ORIGINS,
        id: "cors-origins",
        label: "Allowed origins",
        hint: format!("Configured: {configured_origins}."),
        value: value(CORS_ORIGINS, origins),
        stored: origins_stored,
        error: messages(failure.as_ref(), CORS_ORIGINS),
    };
    let limits = vec![
        Field {
            name: PER_SECOND,
            id: "rate-limit-per-second",
            label: "Requests per second",
            hint: format!(
                "0 to {}; 0 turns rate limiting off. Configured: {configured_rate}.",
                auth::MAX_PER_SECOND
            ),
            value: value(PER_SECOND, per_second),
            stored: per_second_stored,
            error: messages(failure.as_ref(), PER_SECOND),
        },
        Field {
            name: BURST,
            id: "rate-limit-burst",
            label: "Burst",
            hint: format!(
                "Requests a caller may make at once, 1 to {}. Configured: {}.",
                auth::MAX_BURST,
                c.rate_limit_burst
            ),
            value: value(BURST, burst),
            stored: burst_stored,
            error: messages(failure.as_ref(), BURST),
        },
    ];
    let allow_signups = match submitted {
        Some(form) => form.checked("allow_signups"),
        None => s.allow_signups,
    };
    let status = failure.as_ref().map(|f| f.status).unwrap_or(StatusCode::OK);
    page::html(
        status,
        &SettingsPage {
            layout: ctx.layout(admin, "settings", "Settings"),
            allow_signups,
            cors,
            limits,
            failure,
        },
    )
}

#[handler]
pub async fn show(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    match admin.inner.auth.settings().await {
        Ok(s) => render(&ctx, &admin, &s, None, None),
        Err(e) => failure_page(&ctx, &admin, "settings", Failure::new(e)),
    }
}

/// What the form asks to change: a `reset` button clears one stored value; otherwise
/// every field whose text differs from the value in effect. Text that is not a number is
/// refused here (the service checks everything else).
fn update_from(form: &Form, current: &AuthSettings) -> Result<SettingsUpdate, Vec<FieldError>> {
    if let Some(reset) = form.opt("reset") {
        return Ok(match reset.as_str() {
            CORS_ORIGINS => SettingsUpdate {
                cors_origins: Some(None),
                ..Default::default()
            },
            PER_SECOND => SettingsUpdate {
                rate_limit_per_second: Some(None),
                ..Default::default()
            },
            BURST => SettingsUpdate {
                rate_limit_burst: Some(None),
                ..Default::default()
            },
            _ => SettingsUpdate::default(),
        });
    }
    let mut update = SettingsUpdate::default();
    let allow = form.checked("allow_signups");
    if allow != current.allow_signups {
        update.allow_signups = Some(allow);
    }
    if form.has(CORS_ORIGINS) {
        let origins = list(form.get(CORS_ORIGINS));
        if origins != current.cors_origins.value {
            update.cors_origins = Some(Some(origins));
        }
    }
    let mut errors = Vec::new();
    let mut number = |name: &str, effective: u32| -> Option<Option<i64>> {
        if !form.has(name) {
            return None;
        }
        let text = form.get(name).trim();
        match text.parse::<i64>() {
            Ok(n) if n == i64::from(effective) => None,
            Ok(n) => Some(Some(n)),
            Err(_) => {
                errors.push(FieldError::new(
                    name,
                    FieldCode::WrongType,
                    "must be a whole number",
                ));
                None
            }
        }
    };
    update.rate_limit_per_second = number(PER_SECOND, current.rate_limit_per_second.value);
    update.rate_limit_burst = number(BURST, current.rate_limit_burst.value);
    if errors.is_empty() {
        Ok(update)
    } else {
        Err(errors)
    }
}

#[handler]
pub async fn save(ctx: Data<&AdminCtx>, admin: Data<&Admin>) -> Response {
    let auth = &admin.inner.auth;
    let current = match auth.settings().await {
        Ok(s) => s,
        Err(e) => return failure_page(&ctx, &admin, "settings", Failure::new(e)),
    };
    let update = match update_from(&ctx.form, &current) {
        Ok(update) => update,
        Err(errors) => {
            let failure = Failure::from_problem(Problem::validation(errors));
            return render(&ctx, &admin, &current, Some(&ctx.form), Some(failure));
        }
    };
    if update.is_empty() {
        return page::see_other("/admin/settings?notice=saved");
    }
    match auth.update_settings(&ctx.admin, update, &ctx.ctx).await {
        Ok(_) => page::see_other("/admin/settings?notice=saved"),
        Err(e) => {
            let failure = Failure::new(e);
            if failure.fields.is_empty() {
                failure_page(&ctx, &admin, "settings", failure)
            } else {
                render(&ctx, &admin, &current, Some(&ctx.form), Some(failure))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth::{ConfiguredSettings, SettingSource};

    fn current() -> AuthSettings {
        let config = |value| Setting {
            value,
            source: SettingSource::Config,
        };
        AuthSettings {
            allow_signups: false,
            cors_origins: Setting {
                value: vec!["https://a.example".into()],
                source: SettingSource::Config,
            },
            rate_limit_per_second: config(100),
            rate_limit_burst: config(200),
            configured: ConfiguredSettings::default(),
        }
    }

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn unchanged_fields_are_not_written() {
        let f = form(&[
            (CORS_ORIGINS, "https://a.example\n"),
            (PER_SECOND, "100"),
            (BURST, " 200 "),
        ]);
        assert!(update_from(&f, &current()).unwrap().is_empty());
    }

    #[test]
    fn changed_fields_and_resets_are() {
        let f = form(&[
            ("allow_signups", "on"),
            (CORS_ORIGINS, "https://a.example, https://b.example"),
            (PER_SECOND, "5"),
            (BURST, "200"),
        ]);
        let u = update_from(&f, &current()).unwrap();
        assert_eq!(u.allow_signups, Some(true));
        assert_eq!(
            u.cors_origins,
            Some(Some(vec![
                "https://a.example".into(),
                "https://b.example".into()
            ]))
        );
        assert_eq!(u.rate_limit_per_second, Some(Some(5)));
        assert_eq!(u.rate_limit_burst, None);
        let u = update_from(&form(&[("reset", BURST)]), &current()).unwrap();
        assert_eq!(u.rate_limit_burst, Some(None));
        assert_eq!(u.rate_limit_per_second, None);
    }

    #[test]
    fn text_that_is_no_number_is_refused_by_field() {
        let f = form(&[(PER_SECOND, "fast"), (BURST, "")]);
        let errors = update_from(&f, &current()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, [PER_SECOND, BURST]);
    }

    #[test]
    fn list_entry_messages_belong_to_the_list_field() {
        let failure = Failure::from_problem(Problem::validation(vec![
            FieldError::new("cors_origins[1]", FieldCode::Invalid, "bad one"),
            FieldError::new("cors_origins_x", FieldCode::Invalid, "other"),
            FieldError::new(BURST, FieldCode::TooSmall, "too small"),
        ]));
        assert_eq!(
            messages(Some(&failure), CORS_ORIGINS).as_deref(),
            Some("bad one")
        );
        assert_eq!(
            messages(Some(&failure), BURST).as_deref(),
            Some("too small")
        );
        assert_eq!(messages(Some(&failure), PER_SECOND), None);
    }
}
