//! `/admin/settings`: the run-time settings the auth service owns: sign-ups, CORS origins,
//! the shared rate limit and the limit of each audience (anonymous, users, admins, the
//! auth endpoints). CORS and the rate limits start from the server's configuration; a
//! value saved here is stored in the database and wins over it until "Use the configured
//! value" clears it. Each field says where its value comes from.
//!
//! Saving writes only what differs from the value in effect, so saving the sign-up switch
//! does not pin the configured CORS origins or rate limit into the database.

use crate::context::{AdminCtx, Layout};
use crate::form::{list, Form};
use crate::page::{self, Failure};
use crate::pages::common::failure_page;
use crate::pages::settings_limits::{self, audience_key, source_label, Field, LimitGroup};
use crate::Admin;
use askama::Template;
use auth::{AuthSettings, Setting, SettingsUpdate};
use kernel::{FieldCode, FieldError, Problem};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{handler, Response};

const CORS_ORIGINS: &str = "cors_origins";
pub(super) const PER_SECOND: &str = "rate_limit_per_second";
pub(super) const BURST: &str = "rate_limit_burst";

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    layout: Layout,
    allow_signups: bool,
    cors: Field,
    limits: Vec<LimitGroup>,
    failure: Option<Failure>,
}

impl SettingsPage {
    /// The fields with a stored value, which get a "Use the configured value" form.
    fn resettable(&self) -> Vec<&'static str> {
        std::iter::once(&self.cors)
            .chain(self.limits.iter().flat_map(|g| &g.fields))
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
    let configured_origins = if c.cors_origins.is_empty() {
        "none (CORS off)".to_owned()
    } else {
        c.cors_origins.join(", ")
    };
    let cors = Field {
        name: CORS_ORIGINS,
        id: "cors-origins",
        label: "Allowed origins",
        hint: format!("Configured: {configured_origins}."),
        value: value(CORS_ORIGINS, origins),
        stored: origins_stored,
        source: source_label(s.cors_origins.source),
        error: messages(failure.as_ref(), CORS_ORIGINS),
    };
    let field = |name: &'static str, id, label, hint, effective, setting: &Setting<u32>| Field {
        name,
        id,
        label,
        hint,
        value: value(name, effective),
        stored: setting.is_stored(),
        source: source_label(setting.source),
        error: messages(failure.as_ref(), name),
    };
    let limits = settings_limits::groups(s, &field);
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
            other => match audience_key(other) {
                Some(key) => SettingsUpdate {
                    audience_limits: [(key, None)].into(),
                    ..Default::default()
                },
                None => SettingsUpdate::default(),
            },
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
    for limit in current.rate_limits.iter() {
        let a = limit.audience;
        for (key, effective) in [
            (a.per_second_key(), limit.per_second.value),
            (a.burst_key(), limit.burst.value),
        ] {
            if let Some(change) = number(key, effective) {
                update.audience_limits.insert(key, change);
            }
        }
    }
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
    use auth::{AudienceLimits, ConfiguredSettings, SettingSource};

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
            rate_limits: AudienceLimits::resolve(
                &Default::default(),
                (&config(100), &config(200)),
                |key| (key == "rate_limit_admin_per_second").then_some(0),
            ),
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
        // An audience's field: the admin rate is stored as 0, the form sends 50.
        let f = form(&[
            ("rate_limit_admin_per_second", "50"),
            ("rate_limit_user_burst", "200"),
        ]);
        let u = update_from(&f, &current()).unwrap();
        assert_eq!(
            u.audience_limits,
            [("rate_limit_admin_per_second", Some(50))].into()
        );
        let u = update_from(&form(&[("reset", "rate_limit_auth_burst")]), &current()).unwrap();
        assert_eq!(u.audience_limits, [("rate_limit_auth_burst", None)].into());
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
