#!/usr/bin/env bash
# tus uploads with a real third-party client (ops/tus/test.py says what is checked):
# tuspy uploads a multi-MB file in small chunks, is killed midway and resumes, the
# server is SIGKILLed midway and restarted, and the staged file's SHA-256 must equal the
# source's. tuspy is pinned in ops/tus/requirements.txt (venv .venv/tus); needs
# python3-venv. Debug build, 127.0.0.1 only, throwaway data directories; bounded by
# --max-seconds (default 180).
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.venv/tus
REQUIREMENTS=ops/tus/requirements.txt
say() { printf -- '--- %s\n' "$*"; }

if [ ! -x "$VENV/bin/pip" ]; then
  rm -rf "$VENV" # a half-made venv (e.g. python3-venv was missing) is useless
  say "creating $VENV"
  python3 -m venv "$VENV"
fi
if ! cmp -s "$REQUIREMENTS" "$VENV/installed-requirements.txt"; then
  say "installing $(grep '^tuspy==' "$REQUIREMENTS") from PyPI"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/installed-requirements.txt"
fi

say "building hearth (debug)"
cargo build --quiet --locked -p hearth
exec "$VENV/bin/python" ops/tus/test.py --binary "${CARGO_TARGET_DIR:-target}/debug/hearth" "$@"
