//! Where file fields keep their blobs: `files_backend` and the `s3_*` settings, handed
//! to `files::FilesConfig` as given (that crate checks how they fit together, so the
//! rules live in one place). The secret key is never echoed in an error.

use super::sources::{one, Source};
use super::ConfigError;
use files::{FilesBackend, FilesConfig};
use std::path::PathBuf;

pub(super) fn resolve(
    field: &dyn Fn(&str) -> (String, Source),
) -> Result<FilesConfig, ConfigError> {
    let files_backend = one(&field("files_backend"), "files_backend", |v| {
        match v.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(FilesBackend::Local),
            "s3" => Ok(FilesBackend::S3),
            _ => Err("expected local or s3".to_string()),
        }
    })?;
    // An empty value is the same as none (the default of every `s3_*` setting).
    let text = |name: &str| {
        let (value, _) = field(name);
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_string())
    };
    let (secret, secret_source) = field("s3_secret_access_key");
    if secret.chars().any(char::is_control) {
        return Err(ConfigError(format!(
            "invalid s3_secret_access_key (from {secret_source}): it contains control characters"
        )));
    }
    let s3_path_style = one(&field("s3_path_style"), "s3_path_style", |v| {
        super::security::boolean(v)
    })?;
    let config = FilesConfig {
        files_backend,
        s3_endpoint: text("s3_endpoint"),
        s3_bucket: text("s3_bucket"),
        s3_region: text("s3_region"),
        s3_access_key_id: text("s3_access_key_id"),
        // Not trimmed: a secret is taken as given (a file's trailing newline is dropped
        // by `files` when it reads the file).
        s3_secret_access_key: (!secret.is_empty()).then_some(secret),
        s3_secret_access_key_file: text("s3_secret_access_key_file").map(PathBuf::from),
        s3_path_style,
    };
    // How the settings fit together (a bucket for s3, no s3_* for local, …); the
    // messages name the settings. Reading the secret file waits for `BlobStore::open`.
    config.validate().map_err(|e| ConfigError(e.0))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_with(pairs: &[(&str, &str)]) -> Result<FilesConfig, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        resolve(&|name| {
            let value = pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| {
                    if name == "files_backend" {
                        "local".into()
                    } else if name == "s3_path_style" {
                        "false".into()
                    } else {
                        String::new()
                    }
                });
            (value, Source::Env("HEARTH_TEST"))
        })
    }

    #[test]
    fn local_by_default_and_s3_with_its_settings() {
        assert_eq!(resolve_with(&[]).unwrap(), FilesConfig::default());
        let c = resolve_with(&[
            ("files_backend", "S3"),
            ("s3_endpoint", " http://127.0.0.1:9000 "),
            ("s3_bucket", "hearth-files"),
            ("s3_region", "eu-central-1"),
            ("s3_access_key_id", "AKIA"),
            ("s3_secret_access_key", "hunter2"),
            ("s3_path_style", "true"),
        ])
        .unwrap();
        assert_eq!(c.files_backend, FilesBackend::S3);
        assert_eq!(c.s3_endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(c.s3_bucket.as_deref(), Some("hearth-files"));
        assert_eq!(c.s3_region.as_deref(), Some("eu-central-1"));
        assert_eq!(c.s3_secret_access_key.as_deref(), Some("hunter2"));
        assert!(c.s3_path_style);
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn the_whole_configuration_reads_the_env_and_never_shows_the_secret() {
        let env = |name: &str| {
            let value = match name {
                "HEARTH_FILES_BACKEND" => "s3",
                "HEARTH_S3_BUCKET" => "hearth-files",
                "HEARTH_S3_ACCESS_KEY_ID" => "AKIA",
                "HEARTH_S3_SECRET_ACCESS_KEY" => "hunter2-secret",
                "HEARTH_S3_PATH_STYLE" => "yes",
                _ => return None,
            };
            Some(value.to_string())
        };
        let config =
            super::super::sources::resolve(&super::super::Flags::default(), &env, None).unwrap();
        assert_eq!(config.files.files_backend, FilesBackend::S3);
        assert_eq!(config.files.s3_bucket.as_deref(), Some("hearth-files"));
        assert!(config.files.s3_path_style);
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn bad_combinations_are_refused_by_name_without_the_secret() {
        let err = resolve_with(&[("files_backend", "gcs")]).unwrap_err();
        assert!(err.0.starts_with("invalid files_backend \"gcs\""), "{err}");
        let err = resolve_with(&[("files_backend", "s3")]).unwrap_err();
        assert!(err.0.contains("s3_bucket is not set"), "{err}");
        let err = resolve_with(&[("s3_bucket", "b")]).unwrap_err();
        assert!(err.0.contains("files_backend is \"local\""), "{err}");
        let err = resolve_with(&[
            ("files_backend", "s3"),
            ("s3_bucket", "b"),
            ("s3_secret_access_key", "hunter2"),
        ])
        .unwrap_err();
        assert!(err.0.contains("without s3_access_key_id"), "{err}");
        assert!(!err.0.contains("hunter2"), "{err}");
        let err = resolve_with(&[
            ("files_backend", "s3"),
            ("s3_bucket", "b"),
            ("s3_access_key_id", "id"),
            ("s3_secret_access_key", "hunter\n2"),
        ])
        .unwrap_err();
        assert!(err.0.contains("control characters"), "{err}");
        assert!(!err.0.contains("hunter"), "{err}");
        let err = resolve_with(&[("s3_path_style", "sometimes")]).unwrap_err();
        assert!(err.0.starts_with("invalid s3_path_style"), "{err}");
    }
}
