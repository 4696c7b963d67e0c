//! Email addresses as accounts know them. An address is shown as its owner typed it
//! (trimmed, NFKC-normalised so compatibility characters such as fullwidth letters
//! become the ordinary ones), and is unique by its *key*: NFKC, then lower case, then
//! NFKC again (lower-casing can leave a string that is no longer normalised). So
//! `Ada@Example.org`, `ada@example.org` and `ａｄａ@example.org` are one account, for
//! sign-up, admin creation, login and email changes alike.

use crate::error::AuthError;
use crate::repo;
use crate::service::AuthService;
use kernel::FieldCode;
use unicode_normalization::UnicodeNormalization;

/// The key uniqueness and login go by.
pub fn email_key(email: &str) -> String {
    let lower = email.trim().nfkc().collect::<String>().to_lowercase();
    lower.nfkc().collect()
}

/// Trims, NFKC-normalises and checks the shape of an email; returns it as stored
/// (case kept: uniqueness goes by [`email_key`]).
pub(crate) fn normalize_email(email: &str) -> Result<String, AuthError> {
    let email: String = email.trim().nfkc().collect();
    let invalid =
        || AuthError::invalid("email", FieldCode::InvalidEmail, "must be an email address");
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(email)
        }
        _ => Err(invalid()),
    }
}

impl AuthService {
    /// Gives every account whose address is not plain ASCII its normalised key (the
    /// migration that added keys could only lower-case ASCII in SQL). Run before serving
    /// and by the CLI before it touches accounts. An account whose key another account
    /// already holds (a look-alike registered before keys existed) is kept as it is,
    /// without a key: it cannot log in until an admin gives it a distinct address, and
    /// every start logs it.
    pub async fn normalize_stored_emails(&self) -> Result<(), AuthError> {
        let collisions = self
            .db
            .write(|conn| {
                let mut collisions = Vec::new();
                for (id, email) in repo::users_without_email_key(conn)? {
                    let key = email_key(&email);
                    match repo::user_id_by_email_key(conn, &key)? {
                        Some(holder) => collisions.push((id, email, holder)),
                        None => repo::set_email_key(conn, &id, &key)?,
                    }
                }
                Ok::<_, AuthError>(collisions)
            })
            .await?;
        for (id, email, holder) in collisions {
            tracing::warn!(
                user = %id,
                email = %email,
                same_as = %holder,
                "this account's email looks like another account's; it cannot log in until an admin changes its email"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        assert_eq!(
            normalize_email("  Ada@Example.org ").unwrap(),
            "Ada@Example.org"
        );
        assert_eq!(
            normalize_email("ａｄａ＠example.org").unwrap(),
            "ada@example.org"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a b@example.org",
            "a@b@c.org",
            "ada@example.org.",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn look_alikes_share_a_key() {
        let key = email_key("ada@example.org");
        for alike in [
            "Ada@Example.ORG",
            " ada@example.org ",
            "ａｄａ@example.org",
            "ＡＤＡ@ｅｘａｍｐｌｅ.org",
        ] {
            assert_eq!(email_key(alike), key, "{alike}");
        }
        assert_eq!(email_key("ﬁ@example.org"), "fi@example.org", "ligature");
        assert_ne!(email_key("ada@example.org"), email_key("adb@example.org"));
    }
}
