#!/usr/bin/env bash
# Slow-client test (bounded, about 40 s): Hearth with --header-read-timeout 2s keeps
# answering normal clients quickly while 200 slowloris connections trickle request heads,
# and cuts every one of them off after the timeout (ops/load/slowloris.py says how).
# Uses Debian's slowhttptest too when it is installed or installable (root with apt-get);
# otherwise that phase is skipped. Extra arguments go to slowloris.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v slowhttptest >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing slowhttptest (apt-get)"
  apt-get install -y -qq slowhttptest >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq slowhttptest >/dev/null 2>&1; } ||
    echo "could not install slowhttptest; its phase is skipped"
fi
cargo build -q -p hearth
exec python3 ops/load/slowloris.py --binary "${CARGO_TARGET_DIR:-target}/debug/hearth" "$@"
