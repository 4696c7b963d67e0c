//! HTTPS served directly: the PEM certificate chain and key named by `tls_cert` and
//! `tls_key`, loaded once at start-up into a rustls server configuration (ring provider,
//! ALPN `h2` and `http/1.1`). Every problem is a one-line configuration error, so
//! `hearth serve` exits 2 before it listens; changing the files needs a restart.

use crate::config::{ConfigError, TlsFiles};
use rustls::crypto::ring;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// Reads and checks the files, and returns the acceptor the server hands each
/// connection to.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ConfigError> {
    server_config(files).map(|config| TlsAcceptor::from(Arc::new(config)))
}

pub fn server_config(files: &TlsFiles) -> Result<ServerConfig, ConfigError> {
    let chain = certificates(&files.cert)?;
    let key = private_key(&files.key)?;
    let provider = Arc::new(ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError(format!("cannot set up TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => ConfigError(format!(
                "tls_key {} does not match the certificate in tls_cert {}",
                files.key.display(),
                files.cert.display()
            )),
            other => ConfigError(format!(
                "cannot use tls_cert {} with tls_key {}: {other}",
                files.cert.display(),
                files.key.display()
            )),
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn read(name: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| ConfigError(format!("cannot read {name} {}: {e}", path.display())))
}

/// The chain in file order: the server's certificate first, then intermediates.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = read("tls_cert", path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            ConfigError(format!(
                "tls_cert {} is not a valid PEM file: {e}",
                path.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(ConfigError(format!(
            "tls_cert {} holds no certificate (expected a PEM `BEGIN CERTIFICATE` block)",
            path.display()
        )));
    }
    Ok(chain)
}

/// The first PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key in the file.
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let pem = read("tls_key", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        pem::Error::NoItemsFound => ConfigError(format!(
            "tls_key {} holds no private key (expected a PEM `BEGIN PRIVATE KEY`, \
             `BEGIN RSA PRIVATE KEY` or `BEGIN EC PRIVATE KEY` block)",
            path.display()
        )),
        other => ConfigError(format!(
            "tls_key {} is not a valid PEM file: {other}",
            path.display()
        )),
    })
}
