//! ARCHITECTURE.md "Boundaries": dependencies point one way
//! (app → admin → {resources, auth, observability, realtime} → storage → kernel;
//! resources → {feed, files, thumbs}, feed and files → storage; realtime →
//! {resources, auth, feed}).
//! This fails when a module crate starts depending on one it must not.

use std::collections::{BTreeMap, BTreeSet};

/// For each workspace crate, the workspace crates it may depend on.
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let mut m = BTreeMap::new();
    m.insert("hearth-kernel", BTreeSet::new());
    m.insert("hearth-storage", ["hearth-kernel"].into());
    m.insert("hearth-auth", ["hearth-kernel", "hearth-storage"].into());
    // The change feed knows nothing of collections: resources installs its triggers
    // and renders its records, never the other way round.
    m.insert("hearth-feed", ["hearth-kernel", "hearth-storage"].into());
    // Blob storage (and tus uploads) knows nothing of collections; file fields in
    // resources store their files through it, and thumbnail them with thumbs (pure
    // image code).
    m.insert("hearth-files", ["hearth-kernel", "hearth-storage"].into());
    m.insert("hearth-thumbs", BTreeSet::new());
    m.insert(
        "hearth-resources",
        [
            "hearth-kernel",
            "hearth-storage",
            "hearth-feed",
            "hearth-files",
            "hearth-thumbs",
        ]
        .into(),
    );
    // Realtime reads the feed and asks resources (rules, rendering, filters) and auth
    // (re-checking a stream's token); the dashboard and the binary open its streams.
    m.insert(
        "hearth-realtime",
        [
            "hearth-kernel",
            "hearth-storage",
            "hearth-auth",
            "hearth-resources",
            "hearth-feed",
        ]
        .into(),
    );
    // A benchmark tool (ops/bench): a client of the HTTP API only.
    m.insert("sse-fanout", BTreeSet::new());
    m.insert(
        "hearth-observability",
        ["hearth-kernel", "hearth-storage"].into(),
    );
    m.insert(
        "hearth-admin",
        [
            "hearth-kernel",
            "hearth-storage",
            "hearth-auth",
            "hearth-resources",
            "hearth-observability",
            // The records page's live stream (its session re-checked by admin itself).
            "hearth-realtime",
        ]
        .into(),
    );
    m
}

#[test]
fn module_dependencies_point_one_way() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let members: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let rules = allowed();
    for pkg in packages {
        let name = pkg["name"].as_str().unwrap();
        if name == "hearth" {
            continue; // the binary wires everything together
        }
        let allowed = rules.get(name).unwrap_or_else(|| {
            panic!("{name} has no dependency rule; add one here and in ARCHITECTURE.md")
        });
        for dep in pkg["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            if dep["kind"].is_null() && members.contains(dep_name) {
                assert!(
                    allowed.contains(dep_name),
                    "{name} must not depend on {dep_name}"
                );
            }
        }
    }
}
