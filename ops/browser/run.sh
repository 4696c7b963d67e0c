#!/usr/bin/env bash
# Browser test of the admin dashboard: builds the debug binary, starts a server on a
# free port with a fresh data directory, and runs flow.mjs in headless Debian chromium
# driven by playwright-core (pinned in package-lock.json; no browser download).
# Screenshots go to target/screenshots/. Exits non-zero on failure; bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

if [ ! -x /usr/bin/chromium ]; then
  sudo=""; if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium
fi
# Installed again when the lock file is newer than the last install (a package was added).
if [ ! -d ops/browser/node_modules/playwright-core ] ||
  [ ops/browser/package-lock.json -nt ops/browser/node_modules/.package-lock.json ]; then
  (cd ops/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi

cargo build --locked --bin hearth
data=$(mktemp -d)
log="$data/server.log"
"${CARGO_TARGET_DIR:-target}/debug/hearth" serve --bind 127.0.0.1:0 --data-dir "$data/db" >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

base=""; setup=""
for _ in $(seq 1 100); do
  base=$(grep -o 'listening on http://[0-9.:]*' "$log" | head -1 | sed 's/listening on //' || true)
  setup=$(grep -o '/admin/setup?token=[A-Za-z0-9_]*' "$log" | head -1 || true)
  if [ -n "$base" ] && [ -n "$setup" ]; then break; fi
  sleep 0.1
done
if [ -z "$base" ] || [ -z "$setup" ]; then
  echo "server did not start:"; cat "$log"; exit 1
fi
mkdir -p target/screenshots
BASE="$base" SETUP="$setup" SHOTS="$root/target/screenshots" \
  timeout 180 node ops/browser/flow.mjs
