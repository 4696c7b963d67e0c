//! Who is calling. The auth module builds a `Principal`; other modules decide what it may do.

use std::collections::BTreeSet;

/// What a token allows, independent of the user's own rights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// GET and HEAD.
    Read,
    /// Mutations on records.
    Write,
    /// System APIs (only effective for admins).
    Admin,
    /// Creating and revoking personal tokens, for a token rather than a login: without
    /// it, only an interactive login (a session or the dashboard) manages tokens.
    Tokens,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Write, Scope::Admin, Scope::Tokens];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
            Scope::Tokens => "tokens",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// What the caller presented: it decides what the caller may do with its own
/// credentials (a personal token cannot mint tokens that outlive or outrank it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An access token from an interactive login (a password, then refreshes).
    Session,
    /// A personal API token; `expires_at` is its expiry (RFC 3339), if it has one.
    Personal { expires_at: Option<String> },
    /// The dashboard's cookie session (an interactive login).
    Dashboard,
}

impl Credential {
    /// The caller proved its password in this session (login or dashboard).
    pub fn is_interactive(&self) -> bool {
        matches!(self, Credential::Session | Credential::Dashboard)
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub email: String,
    pub is_admin: bool,
    pub roles: BTreeSet<String>,
    pub scopes: BTreeSet<Scope>,
    pub credential: Credential,
}

impl Principal {
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Admin rights need both the user flag and a token that carries the admin scope.
    pub fn acts_as_admin(&self) -> bool {
        self.is_admin && self.has_scope(Scope::Admin)
    }

    /// Admin changes (collections, users, settings) also need the `write` scope.
    pub fn acts_as_admin_writer(&self) -> bool {
        self.acts_as_admin() && self.has_scope(Scope::Write)
    }

    /// Creating or revoking personal tokens: an interactive login, or a token that was
    /// given the `tokens` scope explicitly.
    pub fn may_manage_tokens(&self) -> bool {
        self.credential.is_interactive() || self.has_scope(Scope::Tokens)
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_needs_flag_and_scope() {
        let mut p = Principal {
            user_id: "u".into(),
            email: "a@b.c".into(),
            is_admin: true,
            roles: BTreeSet::new(),
            scopes: [Scope::Read].into(),
            credential: Credential::Session,
        };
        assert!(!p.acts_as_admin());
        p.scopes.insert(Scope::Admin);
        assert!(p.acts_as_admin());
        assert!(!p.acts_as_admin_writer(), "admin without write");
        p.scopes.insert(Scope::Write);
        assert!(p.acts_as_admin_writer());
        p.is_admin = false;
        assert!(!p.acts_as_admin_writer());
        assert!(!p.acts_as_admin());
        assert_eq!(Scope::parse("write"), Some(Scope::Write));
        assert_eq!(Scope::parse("root"), None);
    }
}
