//! What each subcommand does. Errors carry their exit code: 2 for bad usage or
//! configuration, 1 for anything else (API.md section 6).

use crate::application::{self, Application, StartError};
use crate::cli::{AdminCommand, Command};
use crate::config::Config;
use std::io::BufRead;

#[derive(Debug)]
pub enum CommandError {
    /// Exit 2.
    Usage(String),
    /// Exit 1.
    Failed(String),
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Usage(_) => 2,
            CommandError::Failed(_) => 1,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            CommandError::Usage(m) | CommandError::Failed(m) => m,
        }
    }
}

impl From<StartError> for CommandError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Config(c) => CommandError::Usage(c.0),
            StartError::Locked(m) => CommandError::Usage(m),
            other => CommandError::Failed(other.to_string()),
        }
    }
}

pub async fn run(command: Command, config: Config) -> Result<(), CommandError> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Backup { out } => backup(config, out).await,
        Command::Healthcheck => healthcheck(&config),
        Command::Restore { backup } => restore(&config, &backup),
        Command::Openapi => {
            println!("{}", crate::openapi::new_document().value());
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password_stdin,
                },
        } => admin_create(config, &email, password_stdin).await,
    }
}

async fn serve(config: Config) -> Result<(), CommandError> {
    let app = Application::build(config).await?;
    let addr = app.local_addr();
    let scheme = if app.is_https() { "https" } else { "http" };
    tracing::info!(%addr, "Hearth is listening on {scheme}://{addr} (API docs at {scheme}://{addr}/api/docs)");
    if let Ok(Some(token)) = app.auth().issue_setup_token().await {
        tracing::warn!(
            "no admin account yet: open http://{addr}/admin/setup?token={token} within the hour \
             (or POST it to /api/v1/auth/setup with an email and password), \
             or run `hearth admin create --email you@example.org --password-stdin`"
        );
    }
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}

async fn migrate(config: Config) -> Result<(), CommandError> {
    config
        .ensure_data_dir_writable()
        .map_err(|e| CommandError::Usage(e.0))?;
    let mut storage = storage::StorageConfig::new(config.database_path());
    storage.synchronous = config.synchronous;
    let applied = tokio::task::spawn_blocking(move || {
        storage::migrate_file(&storage, crate::migrations::MIGRATIONS)
    })
    .await
    .map_err(|e| CommandError::Failed(e.to_string()))?
    .map_err(|e| CommandError::Failed(e.to_string()))?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        let list: Vec<String> = applied.iter().map(|v| v.to_string()).collect();
        println!("applied migrations: {}", list.join(", "));
    }
    Ok(())
}

fn restore(config: &Config, backup: &std::path::Path) -> Result<(), CommandError> {
    let db_path = config.database_path();
    let restored =
        crate::restore::restore(backup, &config.data_dir, &db_path).map_err(|e| match e {
            crate::restore::RestoreError::Refused(m) => CommandError::Usage(m),
            crate::restore::RestoreError::Failed(m) => CommandError::Failed(m),
        })?;
    println!("restored {} into {}", backup.display(), db_path.display());
    match restored.files {
        Some(files) => println!(
            "files: {} copied back ({} bytes), {} already in place",
            files.files, files.bytes, files.present
        ),
        None => println!(
            "{} is a database file without files: {} was left as it is",
            backup.display(),
            crate::backup_format::files_root(&config.data_dir).display()
        ),
    }
    if let Some(kept) = restored.kept {
        println!("the previous database is kept as {}", kept.display());
    }
    Ok(())
}

/// `hearth backup OUT`: the directory format of `backup_format`, safe while a server
/// runs on the data directory (it only reads the database and holds off deletions).
async fn backup(config: Config, out: std::path::PathBuf) -> Result<(), CommandError> {
    let db_path = config.database_path();
    if !db_path.exists() {
        return Err(CommandError::Usage(format!(
            "no database at {} (check --data-dir)",
            db_path.display()
        )));
    }
    let files_root = crate::backup_format::files_root(&config.data_dir);
    let out_for_task = out.clone();
    let written = tokio::task::spawn_blocking(move || {
        crate::backup_format::write(&db_path, &files_root, &out_for_task)
    })
    .await
    .map_err(|e| CommandError::Failed(e.to_string()))?
    .map_err(|e| match e {
        storage::StorageError::BackupTargetExists(p) => {
            CommandError::Usage(format!("{} already exists; choose a new name", p.display()))
        }
        other => CommandError::Failed(format!("backup failed: {other}")),
    })?;
    println!(
        "backup written to {} (database integrity check ok; {} files, {} bytes)",
        out.display(),
        written.files,
        written.file_bytes
    );
    Ok(())
}

async fn admin_create(
    config: Config,
    email: &str,
    password_stdin: bool,
) -> Result<(), CommandError> {
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            CommandError::Failed(format!("cannot read the password from stdin: {e}"))
        })?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        std::env::var("HEARTH_ADMIN_PASSWORD").map_err(|_| {
            CommandError::Usage(
                "no password given: pass --password-stdin or set HEARTH_ADMIN_PASSWORD".into(),
            )
        })?
    };
    auth::check_new_account(email, &password).map_err(|e| CommandError::Usage(e.to_string()))?;
    let db = application::open_database(&config).await?;
    let auth = application::auth_service(db.clone(), &config);
    // Accounts keyed before this binary's email rules must be found by their key.
    let result = match auth.normalize_stored_emails().await {
        Ok(()) => auth.create_admin(email, &password).await,
        Err(e) => Err(e),
    };
    let _ = db.close().await;
    match result {
        Ok(user) => {
            let verb = if user.created_at == user.updated_at {
                "created"
            } else {
                "reset"
            };
            println!("admin {} {verb} (id {})", user.email, user.id);
            Ok(())
        }
        Err(auth::AuthError::Invalid(field)) => Err(CommandError::Usage(format!(
            "invalid {}: {}",
            field.field, field.message
        ))),
        Err(e) => Err(CommandError::Failed(e.to_string())),
    }
}

/// Asks the local server for `/healthz` over plain HTTP (with TLS on, a successful TCP
/// connection is taken as healthy: the check runs inside the same container).
fn healthcheck(config: &Config) -> Result<(), CommandError> {
    use std::io::{Read, Write};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
    use std::time::Duration;
    let mut addr = config.bind;
    if addr.ip().is_unspecified() {
        let local = match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        addr = SocketAddr::new(local, addr.port());
    }
    let fail = |why: String| CommandError::Failed(format!("unhealthy: {why}"));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| fail(format!("cannot connect to {addr}: {e}")))?;
    if config.security.tls.is_some() {
        println!("ok (TCP)");
        return Ok(());
    }
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
    stream
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .map_err(|e| fail(e.to_string()))?;
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    if response.starts_with("HTTP/1.1 200") {
        println!("ok");
        Ok(())
    } else {
        Err(fail(
            response.lines().next().unwrap_or("no answer").to_string(),
        ))
    }
}
