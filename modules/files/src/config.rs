//! Where files are stored. A plain struct the app fills from its flags, environment and
//! `hearth.toml` (the field names are the settings' names); this crate reads no
//! environment itself, except the credentials of the AWS environment when no key is
//! configured (see `s3_access_key_id`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Which backend holds the blobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FilesBackend {
    /// Under `<data_dir>/files/`.
    #[default]
    Local,
    /// An S3-compatible service.
    S3,
}

impl FilesBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            FilesBackend::Local => "local",
            FilesBackend::S3 => "s3",
        }
    }
}

impl FromStr for FilesBackend {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(FilesBackend::Local),
            "s3" => Ok(FilesBackend::S3),
            _ => Err(ConfigError(format!(
                "unknown files_backend {s:?}; expected \"local\" or \"s3\""
            ))),
        }
    }
}

#[derive(Clone, Default, PartialEq, Eq)]
pub struct FilesConfig {
    pub files_backend: FilesBackend,
    /// The service's URL, e.g. `https://s3.eu-central-1.amazonaws.com` or
    /// `http://127.0.0.1:9000` (MinIO). Unset: AWS's endpoint for `s3_region`.
    pub s3_endpoint: Option<String>,
    pub s3_bucket: Option<String>,
    /// Unset: `us-east-1` (what most S3-compatible services accept).
    pub s3_region: Option<String>,
    /// With `s3_secret_access_key` or `s3_secret_access_key_file`. When neither key is
    /// set, the AWS environment's credentials are used (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, web identity, instance metadata).
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    /// A file holding the secret key (a container secret); trailing white space is
    /// ignored. Exclusive with `s3_secret_access_key`.
    pub s3_secret_access_key_file: Option<PathBuf>,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`: needed
    /// by MinIO, moto and most self-hosted services.
    pub s3_path_style: bool,
}

/// What is wrong with a configuration, written for the operator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The S3 settings after validation, with the secret read.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    /// `None`: the AWS environment's credentials.
    pub credentials: Option<(String, String)>,
    pub path_style: bool,
}

pub const DEFAULT_S3_REGION: &str = "us-east-1";

impl FilesConfig {
    /// Checks the settings without touching the network: for `local`, that no `s3_*`
    /// setting is given (it would be silently ignored); for `s3`, a bucket, an http(s)
    /// endpoint if one is given, both halves of a key or neither, and at most one
    /// source for the secret. Reading the secret file is `s3_settings`' job.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.files_backend {
            FilesBackend::Local => self.validate_local(),
            FilesBackend::S3 => self.validate_s3(),
        }
    }

    /// `validate`, then the S3 settings with the secret read from its file if so
    /// configured. An error for `files_backend = "local"`.
    pub fn s3_settings(&self) -> Result<S3Settings, ConfigError> {
        if self.files_backend != FilesBackend::S3 {
            return Err(ConfigError(
                "files_backend is \"local\"; there are no S3 settings to use".into(),
            ));
        }
        self.validate_s3()?;
        let secret = match (&self.s3_secret_access_key, &self.s3_secret_access_key_file) {
            (Some(secret), None) => Some(secret.clone()),
            (None, Some(path)) => Some(read_secret_file(path)?),
            _ => None,
        };
        let credentials = match (&self.s3_access_key_id, secret) {
            (Some(id), Some(secret)) => Some((id.trim().to_string(), secret)),
            _ => None,
        };
        Ok(S3Settings {
            endpoint: self
                .s3_endpoint
                .as_deref()
                .map(|e| e.trim().trim_end_matches('/').to_string()),
            bucket: self
                .s3_bucket
                .clone()
                .unwrap_or_default()
                .trim()
                .to_string(),
            region: self
                .s3_region
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .unwrap_or(DEFAULT_S3_REGION)
                .to_string(),
            credentials,
            path_style: self.s3_path_style,
        })
    }

    fn validate_local(&self) -> Result<(), ConfigError> {
        let set: Vec<&str> = [
            ("s3_endpoint", self.s3_endpoint.is_some()),
            ("s3_bucket", self.s3_bucket.is_some()),
            ("s3_region", self.s3_region.is_some()),
            ("s3_access_key_id", self.s3_access_key_id.is_some()),
            ("s3_secret_access_key", self.s3_secret_access_key.is_some()),
            (
                "s3_secret_access_key_file",
                self.s3_secret_access_key_file.is_some(),
            ),
        ]
        .into_iter()
        .filter_map(|(name, is_set)| is_set.then_some(name))
        .collect();
        if set.is_empty() {
            return Ok(());
        }
        Err(ConfigError(format!(
            "{} set but files_backend is \"local\", so files would not go to S3; set files_backend = \"s3\" or remove the S3 settings",
            set.join(", ")
        )))
    }

    fn validate_s3(&self) -> Result<(), ConfigError> {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if blank(&self.s3_bucket) {
            return Err(ConfigError(
                "files_backend is \"s3\" but s3_bucket is not set; name the bucket Hearth stores files in".into(),
            ));
        }
        if let Some(endpoint) = &self.s3_endpoint {
            let endpoint = endpoint.trim();
            let rest = endpoint
                .strip_prefix("https://")
                .or_else(|| endpoint.strip_prefix("http://"));
            if rest.is_none_or(|host| host.is_empty() || host.starts_with('/')) {
                return Err(ConfigError(format!(
                    "s3_endpoint {endpoint:?} is not an http:// or https:// URL with a host, e.g. https://s3.eu-central-1.amazonaws.com"
                )));
            }
        }
        if self.s3_secret_access_key.is_some() && self.s3_secret_access_key_file.is_some() {
            return Err(ConfigError(
                "both s3_secret_access_key and s3_secret_access_key_file are set; keep one".into(),
            ));
        }
        let has_secret =
            self.s3_secret_access_key.is_some() || self.s3_secret_access_key_file.is_some();
        match (self.s3_access_key_id.is_some(), has_secret) {
            (true, false) => Err(ConfigError(
                "s3_access_key_id is set without s3_secret_access_key (or s3_secret_access_key_file); set both, or neither to use the AWS environment's credentials".into(),
            )),
            (false, true) => Err(ConfigError(
                "the S3 secret key is set without s3_access_key_id; set both, or neither to use the AWS environment's credentials".into(),
            )),
            _ if blank(&self.s3_access_key_id) && self.s3_access_key_id.is_some() => Err(
                ConfigError("s3_access_key_id is empty".into()),
            ),
            _ => Ok(()),
        }
    }
}

fn read_secret_file(path: &std::path::Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        ConfigError(format!(
            "cannot read s3_secret_access_key_file {}: {err}",
            path.display()
        ))
    })?;
    let secret = text.trim_end().to_string();
    if secret.is_empty() {
        return Err(ConfigError(format!(
            "s3_secret_access_key_file {} is empty",
            path.display()
        )));
    }
    Ok(secret)
}

/// Secrets never reach a log line.
impl fmt::Debug for FilesConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilesConfig")
            .field("files_backend", &self.files_backend)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &self.s3_secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("s3_secret_access_key_file", &self.s3_secret_access_key_file)
            .field("s3_path_style", &self.s3_path_style)
            .finish()
    }
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field(
                "access_key_id",
                &self.credentials.as_ref().map(|(id, _)| id),
            )
            .field("path_style", &self.path_style)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3() -> FilesConfig {
        FilesConfig {
            files_backend: FilesBackend::S3,
            s3_bucket: Some("hearth".into()),
            ..FilesConfig::default()
        }
    }

    #[test]
    fn default_is_local_and_valid() {
        let c = FilesConfig::default();
        assert_eq!(c.files_backend, FilesBackend::Local);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!("S3".parse(), Ok(FilesBackend::S3));
        assert!("gcs"
            .parse::<FilesBackend>()
            .unwrap_err()
            .0
            .contains("\"local\" or \"s3\""));
    }

    #[test]
    fn s3_settings_on_local_are_refused_by_name() {
        let c = FilesConfig {
            s3_bucket: Some("b".into()),
            s3_region: Some("r".into()),
            ..FilesConfig::default()
        };
        let err = c.validate().unwrap_err().0;
        assert!(err.contains("s3_bucket, s3_region set"), "{err}");
    }

    #[test]
    fn s3_needs_a_bucket_a_real_endpoint_and_whole_credentials() {
        assert!(FilesConfig {
            s3_bucket: None,
            ..s3()
        }
        .validate()
        .unwrap_err()
        .0
        .contains("s3_bucket"));
        for endpoint in ["s3.example.org", "ftp://x", "https://", "http:///x"] {
            let c = FilesConfig {
                s3_endpoint: Some(endpoint.into()),
                ..s3()
            };
            assert!(
                c.validate().unwrap_err().0.contains("s3_endpoint"),
                "{endpoint}"
            );
        }
        let c = FilesConfig {
            s3_access_key_id: Some("id".into()),
            ..s3()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .0
            .contains("without s3_secret_access_key"));
        let c = FilesConfig {
            s3_secret_access_key: Some("s".into()),
            ..s3()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .0
            .contains("without s3_access_key_id"));
        let c = FilesConfig {
            s3_access_key_id: Some("id".into()),
            s3_secret_access_key: Some("s".into()),
            s3_secret_access_key_file: Some("/x".into()),
            ..s3()
        };
        assert!(c.validate().unwrap_err().0.contains("keep one"));
    }

    #[test]
    fn settings_resolve_defaults_and_read_the_secret_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cr3t\n").unwrap();
        let c = FilesConfig {
            s3_endpoint: Some("http://127.0.0.1:9000/".into()),
            s3_access_key_id: Some("id".into()),
            s3_secret_access_key_file: Some(path.clone()),
            s3_path_style: true,
            ..s3()
        };
        let s = c.s3_settings().unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s.region, DEFAULT_S3_REGION);
        assert_eq!(s.credentials, Some(("id".into(), "s3cr3t".into())));
        assert!(s.path_style);
        assert!(!format!("{s:?}").contains("s3cr3t"));

        std::fs::write(&path, "\n").unwrap();
        assert!(c.s3_settings().unwrap_err().0.contains("is empty"));
        let missing = FilesConfig {
            s3_secret_access_key_file: Some(dir.path().join("nope")),
            ..c
        };
        assert!(missing.s3_settings().unwrap_err().0.contains("cannot read"));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let c = FilesConfig {
            s3_access_key_id: Some("id".into()),
            s3_secret_access_key: Some("hunter2".into()),
            ..s3()
        };
        let text = format!("{c:?}");
        assert!(
            !text.contains("hunter2") && text.contains("<redacted>"),
            "{text}"
        );
    }
}
