#!/usr/bin/env bash
# Realtime streams with a real third-party SSE client (ops/realtime/test.py says what is
# checked): reconnection with Last-Event-ID, SIGKILL of the server mid-stream, `since=`
# and `reset` past the retained feed. httpx and httpx-sse are pinned in
# ops/realtime/requirements.txt (venv .venv/realtime); needs python3-venv. Debug build,
# 127.0.0.1 only, throwaway data directories; bounded by --max-seconds (default 120).
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.venv/realtime
REQUIREMENTS=ops/realtime/requirements.txt
say() { printf -- '--- %s\n' "$*"; }

if [ ! -x "$VENV/bin/pip" ]; then
  rm -rf "$VENV" # a half-made venv (e.g. python3-venv was missing) is useless
  say "creating $VENV"
  python3 -m venv "$VENV"
fi
if ! cmp -s "$REQUIREMENTS" "$VENV/installed-requirements.txt"; then
  say "installing $(grep '^httpx-sse==' "$REQUIREMENTS") from PyPI"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/installed-requirements.txt"
fi

say "building hearth (debug)"
cargo build --quiet --locked -p hearth
exec "$VENV/bin/python" ops/realtime/test.py --binary "${CARGO_TARGET_DIR:-target}/debug/hearth" "$@"
