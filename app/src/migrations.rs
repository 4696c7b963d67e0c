//! The system migrations in `migrations/`, embedded in the binary. Append new files
//! here in order; `every_file_is_listed` fails if one is forgotten.

use storage::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "users_and_tokens",
        sql: include_str!("../../migrations/0001_users_and_tokens.sql"),
    },
    Migration {
        version: 2,
        name: "collections",
        sql: include_str!("../../migrations/0002_collections.sql"),
    },
    Migration {
        version: 3,
        name: "audit_and_settings",
        sql: include_str!("../../migrations/0003_audit_and_settings.sql"),
    },
    Migration {
        version: 4,
        name: "admin_sessions",
        sql: include_str!("../../migrations/0004_admin_sessions.sql"),
    },
    Migration {
        version: 5,
        name: "credentials_changed",
        sql: include_str!("../../migrations/0005_credentials_changed.sql"),
    },
    Migration {
        version: 6,
        name: "email_key",
        sql: include_str!("../../migrations/0006_email_key.sql"),
    },
    Migration {
        version: 7,
        name: "audit_aggregation",
        sql: include_str!("../../migrations/0007_audit_aggregation.sql"),
    },
    Migration {
        version: 8,
        name: "idempotency_scopes",
        sql: include_str!("../../migrations/0008_idempotency_scopes.sql"),
    },
    Migration {
        version: 9,
        name: "change_feed",
        sql: include_str!("../../migrations/0009_change_feed.sql"),
    },
    Migration {
        version: 10,
        name: "file_deletions",
        sql: include_str!("../../migrations/0010_file_deletions.sql"),
    },
    Migration {
        version: 11,
        name: "uploads",
        sql: include_str!("../../migrations/0011_uploads.sql"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_listed() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, listed);
    }
}
