//! The real `hearth` binary, for tests that run it as a user would (the CLI, a server in
//! its own process beside the test's).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_hearth");

/// `hearth ARGS` in `dir`, with no `HEARTH_*` setting of the caller's environment that
/// could change what is tested.
pub fn hearth(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(args)
        .env_remove("HEARTH_BIND")
        .env_remove("HEARTH_DATA_DIR")
        .env_remove("HEARTH_CONFIG")
        .env_remove("HEARTH_ADMIN_PASSWORD")
        .env_remove("HEARTH_LOG")
        .env_remove("RUST_LOG");
    cmd
}

/// The `IP:PORT` a served child logs in its "listening on http://…" line (its stderr
/// must be piped; it is read to the end on a thread of its own).
pub fn listening_address(child: &mut Child) -> String {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                let _ = tx.send(addr);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("server started")
}
