#!/usr/bin/env bash
# Crash test (bounded): SIGKILL the server at random moments while clients write, then
# check every acknowledged record survived. CI runs 50 cycles; pass --cycles N for more.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q -p hearth
exec python3 ops/fault/crash.py --binary "${CARGO_TARGET_DIR:-target}/debug/hearth" --cycles "${CRASH_CYCLES:-50}" "$@"
