#!/usr/bin/env bash
# OpenAPI contract test: the served document must tell the truth about the server.
#
# Starts a fresh server (debug build, 127.0.0.1 only, throwaway data dir), creates two
# collections that between them use every field type and option (ops/contract/seed.py),
# then runs schemathesis against /api/v1/openapi.json with every check and every phase
# (examples, coverage, fuzzing, stateful), authenticated by personal tokens. Passes only
# with zero 5xx and zero responses that disagree with the document or with HTTP.
#
# Knobs (environment): CONTRACT_MAX_EXAMPLES (default 40 per operation),
# CONTRACT_SEED (default fixed, so a run is reproducible), CARGO_TARGET_DIR.
# The server log and schemathesis reports stay in target/contract/ for debugging.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.venv/contract
REQUIREMENTS=ops/contract/requirements.txt
MAX_EXAMPLES=${CONTRACT_MAX_EXAMPLES:-40}
SEED=${CONTRACT_SEED:-20261125}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=$TARGET/contract
EMAIL=contract-admin@example.org

say() { printf -- '--- %s\n' "$*"; }

# 1. Schemathesis in its own venv, installed from PyPI when the pins change.
if [ ! -x "$VENV/bin/pip" ]; then
  rm -rf "$VENV" # a half-made venv (e.g. python3-venv was missing) is useless
  say "creating $VENV"
  python3 -m venv "$VENV"
fi
if ! cmp -s "$REQUIREMENTS" "$VENV/installed-requirements.txt"; then
  say "installing $(grep '^schemathesis==' "$REQUIREMENTS") from PyPI"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/installed-requirements.txt"
fi
ST="$VENV/bin/schemathesis"
# Bodies it cannot generate by itself (tus PATCH bytes): ops/contract/hooks.py.
export SCHEMATHESIS_HOOKS="$PWD/ops/contract/hooks.py" PYTHONDONTWRITEBYTECODE=1

# 2. The debug binary.
say "building hearth (debug)"
cargo build --quiet --locked -p hearth
BIN="$TARGET/debug/hearth"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# 3. A fresh server on a free port. It runs in the scratch dir with no HEARTH_* settings
#    from the caller's environment, so no hearth.toml or variable can change what is tested.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-contract.XXXXXX")
mkdir -p "$OUT"
LOG="$OUT/server.log"
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^HEARTH_' || true)
PASSWORD=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
(cd "$WORK" && printf '%s\n' "$PASSWORD" |
  "$BIN" admin create --data-dir "$WORK/data" --email "$EMAIL" --password-stdin >/dev/null)
# Rate limiting is off (the shared limit and the auth endpoints' own): thousands of
# requests a minute from one address would otherwise turn most of the run into 429s
# (rate limits have their own tests).
(cd "$WORK" && exec "$BIN" serve --bind 127.0.0.1:0 --data-dir "$WORK/data" \
  --rate-limit-per-second 0 --rate-limit-auth-per-second 0 --log info --log-format text) >"$LOG" 2>&1 &
SERVER_PID=$!

ADDR=
for _ in $(seq 1 300); do
  ADDR=$(grep -o -m1 'listening on http://[0-9.]*:[0-9]*' "$LOG" | sed 's|.*http://||' || true)
  [ -n "$ADDR" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    cat "$LOG" >&2
    echo "contract: the server exited before listening" >&2
    exit 1
  fi
  sleep 0.1
done
[ -n "$ADDR" ] || { cat "$LOG" >&2; echo "contract: no 'listening on' line after 30 s" >&2; exit 1; }
say "server on http://$ADDR (log: $LOG)"

# 4. Two collections covering every field type, and a few records.
# One personal admin token per schemathesis run, made now: the anonymous run's login
# attempts soon trip the failed-login throttle for this address.
mapfile -t TOKENS < <(printf '%s\n' "$PASSWORD" |
  "$VENV/bin/python" ops/contract/seed.py "http://$ADDR" "$EMAIL" 5)
[ "${#TOKENS[@]}" -eq 6 ] || { echo "contract: seeding failed" >&2; exit 1; }
SPEC="http://$ADDR/api/v1/openapi.json"

# The document a caller gets shows only the collections it may use (API.md 5), so each
# run tests against the document of its own credentials, saved to a file first:
# `fetch_document FILE [HEADER]`.
fetch_document() {
  "$VENV/bin/python" - "$SPEC" "$1" "${2:-}" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1])
if sys.argv[3]:
    name, value = sys.argv[3].split(": ", 1)
    req.add_header(name, value)
with urllib.request.urlopen(req, timeout=30) as resp, open(sys.argv[2], "wb") as out:
    out.write(resp.read())
PY
}

# The document itself must be valid OpenAPI 3.0 (schemathesis is lenient about that);
# the admin's is the whole of it.
validate_document() {
  fetch_document "$OUT/openapi.admin.json" "Authorization: Bearer ${TOKENS[0]}"
  "$VENV/bin/python" - "$OUT/openapi.admin.json" <<'PY'
import json, sys
from openapi_spec_validator import validate
doc = json.load(open(sys.argv[1]))
validate(doc)
print(f"--- document is valid OpenAPI {doc['openapi']}: {len(doc['paths'])} paths, "
      f"{len(doc['components']['schemas'])} schemas")
PY
}
validate_document

# 5. Schemathesis: every check and every phase (examples, coverage, fuzzing, stateful).
#    Among them: no 5xx; every status, Content-Type, header and body as documented;
#    schema-valid requests accepted and schema-invalid ones refused; 401 without
#    credentials; 405 with `Allow` for undocumented methods; created records readable,
#    deleted ones gone. Answers a valid request may legitimately get are listed for
#    positive_data_acceptance in the .toml files (e.g. 409 for a taken unique value).
COMMON=(--checks all --phases examples,coverage,fuzzing,stateful --mode all
  --max-examples "$MAX_EXAMPLES" --seed "$SEED"
  --generation-database none --request-timeout 20 --no-color)
# Operations that change who the admin is or what the document says run after the rest,
# so the other runs test the seeded state against the document they loaded, each group
# with its own token: logging out revokes it, and a user change may disable the admin.
COLLECTIONS='^(create|update|delete)_collection$'
USERS='^(update_user|delete_user)$'
LOGOUT='^logout$'
# Settings go last of all: a rate limit (or CORS list) it stores applies to every later
# request, so a run after it could drown in 429s whatever the seed (API.md 4).
SETTINGS='^update_settings$'
# Creating and revoking personal tokens needs a login session (API.md 3): that run uses
# the seed's session token (it lives 15 minutes, longer than the run).
TOKEN_ROUTES='^(create_token|revoke_token)$'
LAST="$COLLECTIONS|$USERS|$LOGOUT|$SETTINGS|$TOKEN_ROUTES"
# Realtime streams (`GET /realtime` and each collection's `GET /{collection}/events`)
# answer a valid request with a text/event-stream that never ends, so every such call
# would only wait out --request-timeout and count as a failure. They are left out of
# every run, found in the run's own document by their text/event-stream answer (and
# excluded by path: schemathesis ANDs a path regex with the operation-id regex the runs
# use, while each --exclude-path is a filter of its own). Streams are tested by
# app/tests/realtime.rs, app/tests/realtime_http2.rs and ops/realtime (a real SSE
# client). `POST /realtime/tickets` answers and ends, so it stays in.
stream_paths() {
  "$VENV/bin/python" - "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for path, item in doc["paths"].items():
    ok = item.get("get", {}).get("responses", {}).get("200", {})
    if "text/event-stream" in ok.get("content", {}):
        print(path)
PY
}
failed=0
run() {
  local name=$1 config=$2 auth= path
  shift 2
  if [ "${1:-}" = -H ]; then auth=$2; fi
  say "schemathesis: $name"
  fetch_document "$OUT/openapi.$name.json" "$auth"
  local streams=()
  while IFS= read -r path; do streams+=(--exclude-path "$path"); done < <(stream_paths "$OUT/openapi.$name.json")
  # Every document has /realtime: none found means the lookup broke, and the run would hang.
  [ "${#streams[@]}" -gt 0 ] || { echo "contract: no stream operations found in $name's document" >&2; exit 1; }
  say "leaving out $((${#streams[@]} / 2)) stream operations (covered by ops/realtime and app/tests)"
  if ! "$ST" --config-file "ops/contract/$config.toml" run "$OUT/openapi.$name.json" \
    --url "http://$ADDR/api/v1" "${COMMON[@]}" "${streams[@]}" \
    --report junit --report-junit-path "$OUT/$name.junit.xml" "$@"; then
    failed=1
  fi
}
bearer() { printf 'Authorization: Bearer %s' "${TOKENS[$1]}"; }
# As the admin: every operation but the ones above.
run admin strict -H "$(bearer 0)" --exclude-operation-id-regex "$LAST"
# Anonymous: public rules admit some calls; the rest must be documented 401s and 404s
# (the personal-token routes too: an anonymous caller can change nothing there).
run anonymous lenient --exclude-operation-id-regex "$COLLECTIONS|$USERS|$LOGOUT|$SETTINGS"
# As the admin again, each group of ground-changing operations on its own token.
run tokens strict -H "$(bearer 5)" --include-operation-id-regex "$TOKEN_ROUTES"
run users lenient -H "$(bearer 1)" --include-operation-id-regex "$USERS"
run logout lenient -H "$(bearer 2)" --include-operation-id-regex "$LOGOUT"
run collections strict -H "$(bearer 3)" --include-operation-id-regex "$COLLECTIONS"
run settings lenient -H "$(bearer 4)" --include-operation-id-regex "$SETTINGS"
# Whatever definitions that run managed to create, the document must still be valid.
validate_document || failed=1

if [ "$failed" -ne 0 ]; then
  echo "contract: schemathesis found failures (server log: $LOG)" >&2
  exit 1
fi
say "contract test passed"
