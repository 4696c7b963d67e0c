#!/usr/bin/env bash
# Hearth side of the records benchmark: build the release binary, start it on loopback
# with a fresh data dir, create the `posts` collection and seed it, the same shape that
# ../shared/peer-bench/pocketbase_setup.sh gives PocketBase.
#
# usage: ops/bench/hearth_setup.sh [start|stop|status]
#   start  (default) build (cargo build --release -p hearth), stop a server this script
#          started before, delete the data dir, create an admin, start `hearth serve`
#          (HEARTH_LOG=info or BENCH_LOG, rate limiting off), create `posts` (title text required
#          max_length 200, body text, views integer min 0 indexed, published boolean;
#          list/view/create/update/delete rules ["public"]), seed SEED_COUNT records
#          with concurrent POSTs, and list their ids into IDS_FILE
#   stop   stop the server started by this script (SIGTERM, by its pid file)
#   status print whether it runs, its pid and address
#
# Environment (defaults in brackets):
#   HEARTH_HOME [/tmp/hearthbench]   data dir, pid file, log and ids file live here
#   HEARTH_ADDR [127.0.0.1:8080]     must be a loopback address
#   ADMIN_EMAIL [bench@example.com]  ADMIN_PASSWORD [bench-password-123]
#   SEED_COUNT [10000]  SEED_CONNS [8]  concurrent connections used to seed
#   HEARTH_SYNCHRONOUS               optional: normal (Hearth's default) or full
#   RATE_LIMIT_PER_SECOND [0]        Hearth's per-client rate limit (0: off; see CLEAN_ENV)
#   BENCH_LOG [info]                 the server's log filter (Hearth's default: info)
#   REALTIME_MAX_STREAMS_PER_USER    optional: Hearth's cap on event streams per user (or per
#                                    client network for anonymous callers; default 8), which
#                                    the realtime benchmark raises (ops/bench/realtime.sh)
#   NO_BUILD=1                       use the existing target/release/hearth
# The pid file and ids file are where ../shared/peer-bench/targets/hearth.env expects
# them. The last line printed is `HEARTH_PID=<pid>`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
HEARTH_HOME="${HEARTH_HOME:-/tmp/hearthbench}"
HEARTH_ADDR="${HEARTH_ADDR:-127.0.0.1:8080}"
ADMIN_EMAIL="${ADMIN_EMAIL:-bench@example.com}"
ADMIN_PASSWORD="${ADMIN_PASSWORD:-bench-password-123}"
SEED_COUNT="${SEED_COUNT:-10000}"
SEED_CONNS="${SEED_CONNS:-8}"
DATA="$HEARTH_HOME/data"
PIDFILE="$HEARTH_HOME/hearth.pid"
LOG="$HEARTH_HOME/hearth.log"
IDS_FILE="${IDS_FILE:-$HEARTH_HOME/ids.txt}"
BIN="$REPO/target/release/hearth"
URL="http://$HEARTH_ADDR"

case "$HEARTH_ADDR" in
  127.*:*|localhost:*|"[::1]:"*) ;;
  *) echo "HEARTH_ADDR must be a loopback address, got $HEARTH_ADDR" >&2; exit 2 ;;
esac

running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  [[ -n "$pid" && -d "/proc/$pid" ]] || return 1
  # Only a pid that is still our hearth binary counts (pids get reused). A rebuild
  # replaces the file, so the link of a server started before it ends in " (deleted)".
  local exe; exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  [[ "${exe% (deleted)}" == "$(readlink -f "$BIN")" ]] || return 1
  echo "$pid"
}

build() {
  if [[ -n "${NO_BUILD:-}" && -x "$BIN" ]]; then return; fi
  echo "building $BIN (cargo build --release -p hearth)"
  (cd "$REPO" && cargo build --release -p hearth)
}

# The binary runs with its working directory in HEARTH_HOME and no HEARTH_* settings
# from the caller's environment, so no stray hearth.toml or variable changes the setup
# (HEARTH_SYNCHRONOUS is passed on as a flag).
# Rate limiting is per client IP (100/s, burst 200 by default): every benchmark request
# comes from 127.0.0.1, so it would measure the limiter, not the server. It is off
# unless RATE_LIMIT_PER_SECOND says otherwise. The log is Hearth's default (`info`, the
# access log included) unless BENCH_LOG names another filter, e.g. `warn`.
CLEAN_ENV=(env -u RUST_LOG)
while IFS= read -r v; do CLEAN_ENV+=(-u "$v"); done < <(compgen -e | grep '^HEARTH_' || true)
# The cap on concurrent lists per caller is per-caller limiting too (every connection is
# one anonymous caller here): off with the rate limit, unless MAX_CONCURRENT_LISTS says.
CLEAN_ENV+=("HEARTH_LOG=${BENCH_LOG:-info}" "HEARTH_RATE_LIMIT_PER_SECOND=${RATE_LIMIT_PER_SECOND:-0}"
  "HEARTH_MAX_CONCURRENT_LISTS=${MAX_CONCURRENT_LISTS:-0}")
# Every subscriber of the realtime benchmark is one anonymous caller from 127.0.0.1, so
# the per-caller stream cap is per-caller limiting too: raised only when asked.
if [[ -n "${REALTIME_MAX_STREAMS_PER_USER:-}" ]]; then
  CLEAN_ENV+=("HEARTH_REALTIME_MAX_STREAMS_PER_USER=$REALTIME_MAX_STREAMS_PER_USER")
fi
hearth() {
  (cd "$HEARTH_HOME" && "${CLEAN_ENV[@]}" "$BIN" --data-dir "$DATA" "$@")
}

stop_hearth() {
  local pid
  if pid="$(running_pid)"; then
    kill "$pid"
    # Hearth drains in-flight requests (shutdown_timeout, 10 s) and checkpoints the WAL.
    for _ in $(seq 150); do [[ -d "/proc/$pid" ]] || break; sleep 0.1; done
    if [[ -d "/proc/$pid" ]]; then kill -9 "$pid"; echo "hearth pid $pid did not stop; killed" >&2; fi
    echo "stopped hearth pid $pid"
  fi
  rm -f "$PIDFILE"
}

port_in_use() {
  command -v ss >/dev/null || return 1
  [[ -n "$(ss -Hltn "sport = :${HEARTH_ADDR##*:}" 2>/dev/null)" ]]
}

start_hearth() {
  mkdir -p "$HEARTH_HOME"
  stop_hearth
  if port_in_use; then
    echo "port ${HEARTH_ADDR##*:} is already in use by another process; stop it first" >&2
    exit 1
  fi
  rm -rf "$DATA" "$IDS_FILE"
  mkdir -p "$DATA"
  printf '%s\n' "$ADMIN_PASSWORD" | hearth admin create --email "$ADMIN_EMAIL" --password-stdin >/dev/null
  : >"$LOG"
  (
    cd "$HEARTH_HOME"
    exec "${CLEAN_ENV[@]}" nohup "$BIN" serve --bind "$HEARTH_ADDR" --data-dir "$DATA" \
      ${HEARTH_SYNCHRONOUS:+--synchronous "$HEARTH_SYNCHRONOUS"} >>"$LOG" 2>&1
  ) &
  echo $! >"$PIDFILE"
  for _ in $(seq 100); do
    curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
    [[ -d "/proc/$(cat "$PIDFILE")" ]] || break
    sleep 0.1
  done
  curl -fsS "$URL/healthz" >/dev/null || { echo "hearth did not come up; see $LOG" >&2; tail -5 "$LOG" >&2; exit 1; }
  running_pid >/dev/null || { echo "the pid in $PIDFILE is not the hearth binary" >&2; exit 1; }
  echo "started hearth pid $(cat "$PIDFILE") on $URL (data $DATA, log $LOG)"
}

seed_hearth() {
  HEARTH_URL="$URL" ADMIN_EMAIL="$ADMIN_EMAIL" ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    SEED_COUNT="$SEED_COUNT" SEED_CONNS="$SEED_CONNS" IDS_FILE="$IDS_FILE" \
    python3 "$HERE/hearth_seed.py"
}

cmd="${1:-start}"
case "$cmd" in
  start) build; start_hearth; seed_hearth ;;
  stop) stop_hearth; exit 0 ;;
  status)
    if pid="$(running_pid)"; then echo "running pid $pid on $URL"; else echo "not running"; fi
    exit 0 ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
echo "ids file: $IDS_FILE ($(wc -l <"$IDS_FILE") ids)"
echo "HEARTH_PID=$(running_pid)"
