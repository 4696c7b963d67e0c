#!/usr/bin/env bash
# The one test command (README): formatting, lints, then every test suite.
# Works on a fresh Debian machine with the Rust toolchain; installs what it needs.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

# A CI run builds once from a clean clone: incremental-compilation caches would only
# take disk (a CI machine may have little) and time.
if [ "${CI:-}" = true ]; then
  export CARGO_INCREMENTAL=0
fi

# rustfmt and clippy come with rustup's default profile; add them if this toolchain lacks them.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  step "installing rustfmt and clippy"
  rustup component add rustfmt clippy
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "unit and integration tests (real SQLite files, real sockets)"
cargo test --workspace --locked

# The contract test needs `python3 -m venv`, which Debian ships apart (python3-venv);
# try it for real, since `venv` itself loads fine without the ensurepip it needs.
venv_works() {
  local probe rc
  probe=$(mktemp -d)
  python3 -m venv "$probe/v" >/dev/null 2>&1
  rc=$?
  rm -rf "$probe"
  return "$rc"
}
if [ ! -x .venv/contract/bin/pip ] && ! venv_works; then
  step "installing python3 and python3-venv"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq python3 python3-venv
fi

step "files: the S3 backend against a real S3 API (moto_server on loopback; ops/files)"
ops/files/s3_test.sh

step "files: file fields on S3 through the app, and uploads while S3 is down (moto_server; ops/files)"
ops/files/app_s3.sh

step "OpenAPI contract test (schemathesis: every check, every phase)"
ops/contract/run.sh

step "generated clients: openapi-python-client and openapi-typescript + openapi-fetch round-trip records (ops/clients)"
ops/clients/run.sh

step "crash test: SIGKILL while writing, every acknowledged record survives (ops/fault)"
ops/fault/crash.sh

step "files crash test: SIGKILL during uploads, replaces and deletes; no record references a missing blob; online backup under load restores whole (ops/files)"
ops/files/crash.sh

step "realtime: real SSE client reconnects and survives SIGKILL (ops/realtime)"
ops/realtime/run.sh

step "tus uploads: tuspy is killed and resumes, the server is SIGKILLed and resumes, checksums match (ops/tus)"
ops/tus/run.sh

step "deployment files (hadolint, kubernetes-validate, systemd-analyze)"
ops/lint.sh

step "admin dashboard in headless chromium (screenshots in target/screenshots/)"
ops/browser/run.sh

step "observability files (promtool check config/rules, promtool test rules, dashboard JSON)"
ops/observability/check.sh

step "Litestream: replicate while writing, restore, every acknowledged record is there (ops/litestream)"
ops/litestream/test.sh

step "disk full answers 507/503 and recovers; read-only data dir exits 2 (ops/fault; SKIPs without mounts)"
ops/fault/disk_full.sh

step "soak: 60 s of fixed-rate mixed load, no errors, flat RSS (ops/load)"
ops/load/soak.sh --duration 60

step "slow clients: slowloris connections are cut off, others keep being served (ops/load)"
ops/load/slowloris.sh

step "all suites passed"
