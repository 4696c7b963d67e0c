//! What an admin should know about a definition that is valid but gives away more, or
//! less, than it seems to (issue 14, items 5 and 10). Shown as `warnings` on the
//! collection in the API and the dashboard; they never block a change.

use crate::rules::Grant;
use crate::schema::CollectionDef;

/// Whether every caller `grant` admits is also admitted by one of `view`.
fn covered(grant: &Grant, view: &[Grant]) -> bool {
    view.iter().any(|v| match (grant, v) {
        (_, Grant::Public) => true,
        (Grant::Public, _) => false,
        (_, Grant::Authenticated) => true,
        (Grant::Owner, Grant::Owner) => true,
        (Grant::Role(a), Grant::Role(b)) => a == b,
        _ => false,
    })
}

pub fn warnings(def: &CollectionDef) -> Vec<String> {
    let rules = &def.rules;
    let mut out = Vec::new();
    if !rules.list.iter().all(|g| covered(g, &rules.view)) {
        out.push(
            "the `list` rule admits callers the `view` rule does not: a listing shows a \
             caller only the records it may also view"
                .to_string(),
        );
    }
    if !rules.view.contains(&Grant::Public) {
        for field in def.fields.iter().filter(|f| f.unique) {
            out.push(format!(
                "`{}` is unique but not every caller may view every record: a 409 on a \
                 duplicate value tells a caller that a record it cannot see holds that \
                 value; drop `unique` if the values are private",
                field.name
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Grant {
        Grant::parse(s).unwrap()
    }

    #[test]
    fn coverage_of_grants() {
        assert!(covered(&g("owner"), &[g("authenticated")]));
        assert!(covered(&g("role:ed"), &[g("role:ed")]));
        assert!(!covered(&g("role:ed"), &[g("owner")]));
        assert!(!covered(&g("public"), &[g("authenticated")]));
        assert!(!covered(&g("authenticated"), &[g("owner")]));
        assert!(covered(&g("public"), &[g("public")]));
        assert!(!covered(&g("owner"), &[]));
    }
}
