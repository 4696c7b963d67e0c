#!/usr/bin/env bash
# The one test command (README): formatting, lints, then every test suite.
# Works on a fresh Debian machine with the Rust toolchain; installs what it needs.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

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

step "all suites passed"
