//! Self sign-up, when an admin has turned it on (setting `allow_signups`, off by default).

use crate::error::AuthError;
use crate::repo::settings;
use crate::service::{AuthService, Ctx, User};
use kernel::{clock, AdminPrincipal};

const ALLOW_SIGNUPS: &str = "allow_signups";

/// Run-time settings the auth module owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSettings {
    pub allow_signups: bool,
}

impl AuthService {
    pub async fn settings(&self) -> Result<AuthSettings, AuthError> {
        let value = self
            .db
            .read(|conn| settings::get(conn, ALLOW_SIGNUPS).map_err(AuthError::from))
            .await?;
        Ok(AuthSettings {
            allow_signups: value.and_then(|v| v.as_bool()).unwrap_or(false),
        })
    }

    pub async fn update_settings(
        &self,
        admin: &AdminPrincipal,
        allow_signups: Option<bool>,
        ctx: &Ctx,
    ) -> Result<AuthSettings, AuthError> {
        if let Some(allow) = allow_signups {
            self.db
                .write(move |conn| {
                    settings::put(
                        conn,
                        ALLOW_SIGNUPS,
                        &serde_json::json!(allow),
                        &clock::now(),
                    )
                    .map_err(AuthError::from)
                })
                .await?;
            self.audit(
                ctx.event("settings.changed")
                    .by(admin.principal())
                    .detail(serde_json::json!({ALLOW_SIGNUPS: allow})),
            );
        }
        self.settings().await
    }

    pub async fn register(
        &self,
        email: &str,
        password: &str,
        ctx: &Ctx,
    ) -> Result<User, AuthError> {
        if !self.settings().await?.allow_signups {
            return Err(AuthError::Forbidden(
                "sign-ups are disabled on this server".into(),
            ));
        }
        let user = self.insert_user(email, password, Vec::new(), false).await?;
        let mut event = ctx.event("user.registered").target(user.id.clone());
        event.actor_id = Some(user.id.clone());
        event.actor_email = Some(user.email.clone());
        self.audit(event);
        Ok(user)
    }
}
