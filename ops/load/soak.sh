#!/usr/bin/env bash
# Soak/load test: a fixed-rate mixed workload (70 % reads, 30 % writes) against one
# Hearth on 127.0.0.1; fails on any error or if the server's RSS grows more than 30 %
# after the warm-up. Prints requests, errors, p50/p99 latency and RSS samples.
#
#   ops/load/soak.sh                     60 s, debug build (what test.sh runs)
#   ops/load/soak.sh --duration 600      10 minutes
#   ops/load/soak.sh --release           release build (cargo build --release)
#   ops/load/soak.sh --rate 1000         requests per second (default 300)
# Other arguments go to ops/load/soak.py (--connections, --rss-growth, --seed, ...).
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=debug
args=()
for arg in "$@"; do
  case "$arg" in
    --release) profile=release ;;
    *) args+=("$arg") ;;
  esac
done
if [ "$profile" = release ]; then
  cargo build -q --release -p hearth
else
  cargo build -q -p hearth
fi
exec python3 ops/load/soak.py --binary "${CARGO_TARGET_DIR:-target}/$profile/hearth" ${args[@]+"${args[@]}"}
