//! Access rules (API.md 2.2), decided in one place for every action. Each action has a
//! list of grants; any one admits the caller; an empty list means admins only.

use kernel::{Principal, Problem, ProblemCode, Scope};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    Public,
    Authenticated,
    /// The record's owner; on `list`, the caller's own records only.
    Owner,
    Role(String),
}

impl Grant {
    pub fn parse(s: &str) -> Option<Grant> {
        match s {
            "public" => Some(Grant::Public),
            "authenticated" => Some(Grant::Authenticated),
            "owner" => Some(Grant::Owner),
            _ => {
                let role = s.strip_prefix("role:")?;
                let ok = !role.is_empty()
                    && role.len() <= 64
                    && role
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                ok.then(|| Grant::Role(role.to_owned()))
            }
        }
    }

    pub fn as_string(&self) -> String {
        match self {
            Grant::Public => "public".into(),
            Grant::Authenticated => "authenticated".into(),
            Grant::Owner => "owner".into(),
            Grant::Role(r) => format!("role:{r}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    List,
    View,
    Create,
    Update,
    Delete,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::List,
        Action::View,
        Action::Create,
        Action::Update,
        Action::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::View => "view",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }

    fn scope(self) -> Scope {
        match self {
            Action::List | Action::View => Scope::Read,
            _ => Scope::Write,
        }
    }

    /// View, update and delete hide the record (404); create and list say why.
    fn hides(self) -> bool {
        matches!(self, Action::View | Action::Update | Action::Delete)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub list: Vec<Grant>,
    pub view: Vec<Grant>,
    pub create: Vec<Grant>,
    pub update: Vec<Grant>,
    pub delete: Vec<Grant>,
}

impl Rules {
    pub fn grants(&self, action: Action) -> &[Grant] {
        match action {
            Action::List => &self.list,
            Action::View => &self.view,
            Action::Create => &self.create,
            Action::Update => &self.update,
            Action::Delete => &self.delete,
        }
    }

    pub fn grants_mut(&mut self, action: Action) -> &mut Vec<Grant> {
        match action {
            Action::List => &mut self.list,
            Action::View => &mut self.view,
            Action::Create => &mut self.create,
            Action::Update => &mut self.update,
            Action::Delete => &mut self.delete,
        }
    }
}

/// What the caller may do; `OwnedBy` restricts the action to records it owns (the
/// repository adds `owner = ?` to the SQL, so others' records are simply not found).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    All,
    OwnedBy(String),
}

/// The single access decision for `action` on a collection with `rules`.
pub fn authorize(
    rules: &Rules,
    action: Action,
    caller: Option<&Principal>,
) -> Result<Access, Problem> {
    if let Some(p) = caller {
        if !p.has_scope(action.scope()) {
            return Err(Problem::new(ProblemCode::Forbidden).with_detail(format!(
                "the token lacks the `{}` scope",
                action.scope().as_str()
            )));
        }
        if p.acts_as_admin() {
            return Ok(Access::All);
        }
    }
    let grants = rules.grants(action);
    let mut owner_only = false;
    for grant in grants {
        match (grant, caller) {
            (Grant::Public, _) => return Ok(Access::All),
            (Grant::Authenticated, Some(_)) => return Ok(Access::All),
            (Grant::Role(role), Some(p)) if p.has_role(role) => return Ok(Access::All),
            // Creating makes the caller the owner, so `owner` admits any signed-in caller.
            (Grant::Owner, Some(_)) if action == Action::Create => return Ok(Access::All),
            (Grant::Owner, Some(_)) => owner_only = true,
            _ => {}
        }
    }
    match caller {
        Some(p) if owner_only => Ok(Access::OwnedBy(p.user_id.clone())),
        // An anonymous caller whom signing in could admit (`owner`, `authenticated`,
        // `role:…`) is told so: the answer does not depend on the record (no record is
        // an anonymous caller's), so 401 leaks nothing that 404 would hide.
        None if action.hides() && grants.is_empty() => Err(Problem::not_found()),
        Some(_) if action.hides() => Err(Problem::not_found()),
        None => Err(Problem::unauthenticated(format!(
            "{} on this collection requires authentication",
            action.as_str()
        ))),
        Some(_) => Err(Problem::new(ProblemCode::Forbidden).with_detail(format!(
            "you may not {} records of this collection",
            action.as_str()
        ))),
    }
}

/// The access of a listing: a listed record passes both the `list` and the `view` rule,
/// so a listing never shows what viewing the record would hide (`list: public` with
/// `view: owner` lists the caller's own records only).
pub fn authorize_list(rules: &Rules, caller: Option<&Principal>) -> Result<Access, Problem> {
    let list = authorize(rules, Action::List, caller)?;
    let view = authorize(rules, Action::View, caller).map_err(|_| match caller {
        None => Problem::unauthenticated(
            "viewing the records of this collection requires authentication, and so does \
             listing them",
        ),
        Some(_) => Problem::new(ProblemCode::Forbidden)
            .with_detail("you may not view records of this collection, so you may not list them"),
    })?;
    Ok(match (list, view) {
        (Access::All, Access::All) => Access::All,
        (Access::OwnedBy(user), _) | (_, Access::OwnedBy(user)) => Access::OwnedBy(user),
    })
}

/// Whether `caller` may view a record owned by `owner`: a write answers with the record
/// only then, so that an `update` (or `create`) rule never grants reading.
pub fn may_view(rules: &Rules, caller: Option<&Principal>, owner: Option<&str>) -> bool {
    match authorize(rules, Action::View, caller) {
        Ok(Access::All) => true,
        Ok(Access::OwnedBy(user)) => owner == Some(user.as_str()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn user(roles: &[&str], admin: bool, scopes: &[Scope]) -> Principal {
        Principal {
            user_id: "u1".into(),
            email: "u@example.org".into(),
            is_admin: admin,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            scopes: scopes.iter().copied().collect::<BTreeSet<_>>(),
            credential: kernel::Credential::Session,
        }
    }

    fn rules(grants: &[&str]) -> Rules {
        let g: Vec<Grant> = grants.iter().map(|s| Grant::parse(s).unwrap()).collect();
        Rules {
            list: g.clone(),
            view: g.clone(),
            create: g.clone(),
            update: g.clone(),
            delete: g,
        }
    }

    #[test]
    fn empty_rules_mean_admins_only_and_denials_differ_by_action() {
        let r = rules(&[]);
        let alice = user(&[], false, &Scope::ALL);
        assert_eq!(
            authorize(&r, Action::View, Some(&alice)).unwrap_err().code,
            ProblemCode::NotFound
        );
        assert_eq!(
            authorize(&r, Action::List, None).unwrap_err().code,
            ProblemCode::Unauthenticated
        );
        assert_eq!(
            authorize(&r, Action::Create, Some(&alice))
                .unwrap_err()
                .code,
            ProblemCode::Forbidden
        );
        let admin = user(&[], true, &Scope::ALL);
        assert_eq!(authorize(&r, Action::Delete, Some(&admin)), Ok(Access::All));
    }

    #[test]
    fn anonymous_callers_whom_signing_in_could_admit_get_401_even_where_records_hide() {
        for grants in [&["owner"][..], &["authenticated"], &["role:editor"]] {
            for action in [Action::View, Action::Update, Action::Delete] {
                assert_eq!(
                    authorize(&rules(grants), action, None).unwrap_err().code,
                    ProblemCode::Unauthenticated,
                    "{grants:?} {action:?}"
                );
            }
        }
        assert_eq!(
            authorize(&rules(&[]), Action::View, None).unwrap_err().code,
            ProblemCode::NotFound,
            "admins-only collections still hide their records"
        );
    }

    #[test]
    fn owner_role_public_and_scopes() {
        let r = rules(&["owner", "role:editor"]);
        let alice = user(&[], false, &Scope::ALL);
        assert_eq!(
            authorize(&r, Action::Update, Some(&alice)),
            Ok(Access::OwnedBy("u1".into()))
        );
        assert_eq!(authorize(&r, Action::Create, Some(&alice)), Ok(Access::All));
        let editor = user(&["editor"], false, &Scope::ALL);
        assert_eq!(
            authorize(&r, Action::Delete, Some(&editor)),
            Ok(Access::All)
        );
        assert_eq!(
            authorize(&rules(&["public"]), Action::List, None),
            Ok(Access::All)
        );
        let read_only = user(&[], true, &[Scope::Read]);
        assert_eq!(
            authorize(&r, Action::Update, Some(&read_only))
                .unwrap_err()
                .code,
            ProblemCode::Forbidden
        );
        assert_eq!(
            authorize(&r, Action::View, Some(&read_only)),
            Ok(Access::OwnedBy("u1".into())),
            "admin flag without the admin scope is not admin"
        );
    }

    #[test]
    fn a_listing_passes_both_list_and_view() {
        let mut r = rules(&["public"]);
        r.view = vec![Grant::Owner];
        let alice = user(&[], false, &Scope::ALL);
        assert_eq!(
            authorize_list(&r, Some(&alice)),
            Ok(Access::OwnedBy("u1".into()))
        );
        assert_eq!(
            authorize_list(&r, None).unwrap_err().code,
            ProblemCode::Unauthenticated
        );
        r.view = vec![];
        assert_eq!(
            authorize_list(&r, Some(&alice)).unwrap_err().code,
            ProblemCode::Forbidden
        );
        let admin = user(&[], true, &Scope::ALL);
        assert_eq!(authorize_list(&r, Some(&admin)), Ok(Access::All));
        assert_eq!(authorize_list(&rules(&["public"]), None), Ok(Access::All));
    }

    #[test]
    fn may_view_follows_the_view_rule_and_the_owner() {
        let mut r = rules(&["authenticated"]);
        r.view = vec![Grant::Owner];
        let alice = user(&[], false, &Scope::ALL);
        assert!(may_view(&r, Some(&alice), Some("u1")));
        assert!(!may_view(&r, Some(&alice), Some("u2")));
        assert!(!may_view(&r, Some(&alice), None));
        assert!(!may_view(&r, None, None));
        assert!(may_view(&rules(&["public"]), None, None));
    }

    #[test]
    fn grant_syntax() {
        assert_eq!(
            Grant::parse("role:ed-itor_1"),
            Some(Grant::Role("ed-itor_1".into()))
        );
        assert_eq!(Grant::parse("role:"), None);
        assert_eq!(Grant::parse("role:a b"), None);
        assert_eq!(Grant::parse("everyone"), None);
    }
}
