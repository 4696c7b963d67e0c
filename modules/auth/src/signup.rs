//! Self sign-up, when an admin has turned it on (setting `allow_signups`, off by default).

use crate::error::AuthError;
use crate::service::{AuthService, Ctx, User};

impl AuthService {
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
