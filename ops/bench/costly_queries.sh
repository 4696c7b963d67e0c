#!/usr/bin/env bash
# Costly list requests against a release build at default settings (issue 14 item 1):
# a public collection of 300,000 rows, the security review's 4 KB filter, the costliest
# filter still allowed, and an ordinary request's latency while one client, or eight,
# send costly lists in a loop. Prints markdown tables (ops/bench/costly_queries.py).
#
# usage: ops/bench/costly_queries.sh        (NO_BUILD=1: use the existing release binary)
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=target/release/hearth
if [[ -z "${NO_BUILD:-}" || ! -x "$BIN" ]]; then
  cargo build --release --locked -p hearth
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-costly.XXXXXX")
PID=
cleanup() {
  if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
EMAIL=bench@example.org PASSWORD=bench-password-123
printf '%s\n' "$PASSWORD" | "$BIN" admin create --data-dir "$WORK/data" --email "$EMAIL" --password-stdin >/dev/null

start() {
  # Default settings but for the proxy: each simulated client gets its own address.
  "$BIN" serve --bind 127.0.0.1:0 --data-dir "$WORK/data" --trusted-proxies 127.0.0.1 \
    --log "warn,hearth::commands=info" >"$WORK/log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    ADDR=$(grep -o -m1 'listening on http://[0-9.]*:[0-9]*' "$WORK/log" | sed 's|.*http://||' || true)
    [[ -n "$ADDR" ]] && return
    sleep 0.1
  done
  cat "$WORK/log" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

start
python3 - "http://$ADDR" "$EMAIL" "$PASSWORD" <<'PY'
import json, sys, urllib.request
base, email, password = sys.argv[1:]
def call(path, body, token=None):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    return json.load(urllib.request.urlopen(req))
token = call("/api/v1/auth/login", {"email": email, "password": password})["access_token"]
call("/api/v1/collections", {"name": "logs", "fields": [{"name": "t", "type": "text"}],
                             "rules": {"list": ["public"], "view": ["public"]}}, token)
PY
stop
# 300,000 rows straight into the table while the server is down (the API would take
# minutes and measure something else).
python3 - "$WORK/data/hearth.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("""
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000)
INSERT INTO rec_logs (id, created_at, updated_at, version, owner, t)
SELECT printf('%08x-0000-7000-8000-%012x', x, x), '2026-01-01T00:00:00.000Z',
       '2026-01-01T00:00:00.000Z', 1, NULL,
       'entry ' || x || ' lorem ipsum dolor sit amet consectetur'
FROM c""")
db.commit()
PY
start
python3 ops/bench/costly_queries.py "http://$ADDR"
