#!/usr/bin/env bash
# Generated clients work unmodified (ops/clients/test.py says how): a Python client from
# openapi-python-client and a TypeScript one from openapi-typescript + openapi-fetch, each
# generated from a live server's document and round-tripping records through it.
#
# Tools: Python ones pinned in ops/clients/requirements.txt (venv .venv/clients), npm
# ones pinned by ops/clients/ts/package-lock.json (`npm ci`). Needs python3-venv and
# Node.js 18 or later. Generated code and the server log stay in target/clients/.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.venv/clients
REQUIREMENTS=ops/clients/requirements.txt
NODE_DIR=ops/clients/ts
TARGET=${CARGO_TARGET_DIR:-target}
say() { printf -- '--- %s\n' "$*"; }

command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "clients: Node.js and npm are needed (e.g. apt-get install nodejs npm)" >&2; exit 1; }

if [ ! -x "$VENV/bin/pip" ]; then
  rm -rf "$VENV"
  say "creating $VENV"
  python3 -m venv "$VENV"
fi
if ! cmp -s "$REQUIREMENTS" "$VENV/installed-requirements.txt"; then
  say "installing $(grep '^openapi-python-client==' "$REQUIREMENTS") from PyPI"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/installed-requirements.txt"
fi
# npm ci again whenever the lock changed since the last install.
if ! cmp -s "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.installed-lock.json"; then
  say "installing the npm tools (npm ci)"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.installed-lock.json"
fi

say "building hearth (debug)"
cargo build --quiet --locked -p hearth
rm -rf "$TARGET/clients" "$NODE_DIR/generated"
exec "$VENV/bin/python" ops/clients/test.py --binary "$TARGET/debug/hearth" \
  --python "$VENV/bin/python" --node-dir "$NODE_DIR" --out "$TARGET/clients"
