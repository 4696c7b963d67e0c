//! HTTPS served directly (`tls_cert`/`tls_key`), with a self-signed certificate made by
//! each test: requests over TLS carry HSTS, plain HTTP on the TLS port gets no answer,
//! certificate problems are configuration errors (exit 2), and graceful shutdown drains
//! TLS connections like plain ones.

mod common;

use common::{spawn_app, spawn_app_with, test_config, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use hearth::config::TlsFiles;
use hearth::{Application, StartError};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

const HSTS: &str = "max-age=31536000; includeSubDomains";

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
struct Cert {
    dir: tempfile::TempDir,
    pem: String,
    der: rustls::pki_types::CertificateDer<'static>,
}

impl Cert {
    fn new() -> Cert {
        let made = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_string(),
            "localhost".to_string(),
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pem = made.cert.pem();
        std::fs::write(dir.path().join("cert.pem"), &pem).unwrap();
        std::fs::write(dir.path().join("key.pem"), made.signing_key.serialize_pem()).unwrap();
        Cert {
            dir,
            pem,
            der: made.cert.der().clone(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn files(&self) -> TlsFiles {
        TlsFiles {
            cert: self.path("cert.pem"),
            key: self.path("key.pem"),
        }
    }

    /// A reqwest client that trusts this certificate and nothing else.
    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.pem.as_bytes()).unwrap())
            .build()
            .unwrap()
    }

    /// A raw TLS connection offering `alpn`.
    async fn connect(
        &self,
        addr: std::net::SocketAddr,
        alpn: &[&[u8]],
    ) -> tokio_rustls::client::TlsStream<TcpStream> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        connector.connect(name, tcp).await.expect("TLS handshake")
    }
}

async fn spawn_tls_app(cert: &Cert, adjust: impl FnOnce(&mut hearth::Config)) -> TestApp {
    let files = cert.files();
    spawn_app_with(move |config| {
        config.security.tls = Some(files);
        adjust(config);
    })
    .await
}

fn https(app: &TestApp, path: &str) -> String {
    format!("https://{}{}", app.addr, path)
}

#[tokio::test]
async fn https_requests_carry_hsts() {
    let cert = Cert::new();
    let app = spawn_tls_app(&cert, |_| {}).await;
    let client = cert.client();

    let resp = client.get(https(&app, "/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["strict-transport-security"], HSTS);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");

    // Errors pass through the same stack, so they carry it too.
    let resp = client
        .get(https(&app, "/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["strict-transport-security"], HSTS);
    common::assert_problem(resp, 401, "unauthenticated").await;
}

#[tokio::test]
async fn plain_http_sends_no_hsts() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn alpn_offers_h2_and_http1() {
    let cert = Cert::new();
    let app = spawn_tls_app(&cert, |_| {}).await;
    let h2 = cert.connect(app.addr, &[b"h2", b"http/1.1"]).await;
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let h1 = cert.connect(app.addr, &[b"http/1.1"]).await;
    assert_eq!(h1.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn plain_http_on_the_tls_port_gets_no_answer() {
    let cert = Cert::new();
    let app = spawn_tls_app(&cert, |_| {}).await;
    let result = reqwest::Client::new()
        .get(app.url("/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    if let Ok(resp) = result {
        panic!("plain HTTP was answered with {}", resp.status());
    }
    // The server still serves TLS afterwards.
    let resp = cert
        .client()
        .get(https(&app, "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// The configuration error `Application::build` gives for these files.
async fn build_error(cert: PathBuf, key: PathBuf) -> String {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(data.path());
    config.security.tls = Some(TlsFiles { cert, key });
    match Application::build(config).await {
        Ok(_) => panic!("build accepted bad TLS files"),
        Err(StartError::Config(e)) => {
            assert!(!e.0.contains('\n'), "one line: {}", e.0);
            e.0
        }
        Err(other) => panic!("not a configuration error: {other}"),
    }
}

#[tokio::test]
async fn bad_tls_files_are_configuration_errors() {
    let cert = Cert::new();
    let (c, k) = (cert.path("cert.pem"), cert.path("key.pem"));

    let e = build_error(cert.path("missing.pem"), k.clone()).await;
    assert!(e.starts_with("cannot read tls_cert "), "{e}");
    assert!(e.contains("missing.pem"), "{e}");
    let e = build_error(c.clone(), cert.path("missing.pem")).await;
    assert!(e.starts_with("cannot read tls_key "), "{e}");

    let e = build_error(k.clone(), k.clone()).await;
    assert!(e.contains("holds no certificate"), "{e}");
    let e = build_error(c.clone(), c.clone()).await;
    assert!(e.contains("holds no private key"), "{e}");

    let garbage = cert.path("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\n%%%\n").unwrap();
    let e = build_error(garbage, k.clone()).await;
    assert!(e.contains("is not a valid PEM file"), "{e}");

    let other = cert.path("other-key.pem");
    std::fs::write(&other, rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let e = build_error(c, other).await;
    assert!(e.contains("does not match the certificate"), "{e}");
}

async fn read_response<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf);
                if text.contains("\"access_token\"") || text.contains("\"status\"") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&buf).to_string()
}

/// Whether the server closes the connection (EOF or a reset) within a bound; bytes
/// still in flight before the close are skipped.
async fn closed<S: AsyncRead + Unpin>(stream: &mut S) -> bool {
    let mut chunk = [0u8; 4096];
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    });
    drained.await.is_ok()
}

#[tokio::test]
async fn shutdown_drains_tls_connections() {
    let cert = Cert::new();
    // Long timeouts: the stop below must come from the drain, not from a timer.
    let mut app = spawn_tls_app(&cert, |config| {
        config.header_read_timeout = Duration::from_secs(120);
        config.shutdown_timeout = Duration::from_secs(120);
    })
    .await;
    app.auth
        .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let addr = app.addr;

    // A request in flight: headers and half the body sent.
    let body = format!("{{\"email\":\"{ADMIN_EMAIL}\",\"password\":\"{ADMIN_PASSWORD}\"}}");
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut busy = cert.connect(addr, &[b"http/1.1"]).await;
    busy.write_all(head.as_bytes()).await.unwrap();
    busy.write_all(&body.as_bytes()[..10]).await.unwrap();
    busy.flush().await.unwrap();
    // An idle keep-alive connection after one answered request.
    let mut idle = cert.connect(addr, &[b"http/1.1"]).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    idle.flush().await.unwrap();
    let mut chunk = [0u8; 4096];
    let n = idle.read(&mut chunk).await.unwrap();
    assert!(String::from_utf8_lossy(&chunk[..n]).starts_with("HTTP/1.1 200"));
    // A connection that never starts its handshake.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    app.trigger_stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    busy.write_all(&body.as_bytes()[10..]).await.unwrap();
    busy.flush().await.unwrap();
    let response = read_response(&mut busy).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"access_token\""), "{response}");

    tokio::time::timeout(Duration::from_secs(60), app.wait_stopped())
        .await
        .expect("shutdown finished without waiting for the timeouts");
    assert!(closed(&mut idle).await, "idle TLS connection closed");
    assert!(closed(&mut silent).await, "handshake abandoned");
}

// ---- through the binary: exit 2 for bad files, the https:// start line ----

const BIN: &str = env!("CARGO_BIN_EXE_hearth");

fn hearth(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("HEARTH_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn assert_usage_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
}

#[test]
fn serve_with_bad_tls_files_exits_2_with_one_line() {
    let cert = Cert::new();
    let d = cert.dir.path();
    let out = hearth(
        d,
        &["serve", "--tls-cert", "missing.pem", "--tls-key", "x.pem"],
    )
    .output()
    .unwrap();
    assert_usage_error(&out, "cannot read tls_cert missing.pem");

    let out = hearth(d, &["serve", "--tls-cert", "cert.pem"])
        .output()
        .unwrap();
    assert_usage_error(&out, "tls_cert and tls_key must be given together");

    // Files that exist but hold the wrong thing fail in Application::build: still exit 2.
    let out = hearth(
        d,
        &["serve", "--tls-cert", "key.pem", "--tls-key", "key.pem"],
    )
    .output()
    .unwrap();
    assert_usage_error(&out, "tls_cert key.pem holds no certificate");
}

#[test]
fn serve_with_tls_logs_an_https_address_and_answers_over_tls() {
    let cert = Cert::new();
    let d = cert.dir.path();
    let mut child = hearth(
        d,
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--log-format",
            "text",
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
        ],
    )
    .env("NO_COLOR", "1")
    .env("HEARTH_LOG", "info")
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let url: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                let _ = tx.send(url);
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(30));
    let result = url.map(|url| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let resp = rt.block_on(async {
            cert.client()
                .get(format!("{url}/healthz"))
                .send()
                .await
                .map(|r| {
                    (
                        r.status(),
                        r.headers().get("strict-transport-security").cloned(),
                    )
                })
        });
        (url, resp)
    });
    let _ = child.kill();
    let _ = child.wait();
    let (url, resp) = result.expect("server started");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let (status, hsts) = resp.unwrap();
    assert_eq!(status, 200);
    assert_eq!(hsts.unwrap(), HSTS);
}
