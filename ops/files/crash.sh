#!/usr/bin/env bash
# Crash test for file fields (bounded, under a minute): SIGKILL the server during
# multipart uploads, file replacements and appends, and record deletes; after each
# restart no record references a missing or partial blob, every acknowledged change is
# there, unfinished uploads are cleared, and at the end the deletion queue drains
# (and orphans are swept where the build can shorten the sweep's grace). See crash.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q -p hearth
exec python3 ops/files/crash.py --binary "${CARGO_TARGET_DIR:-target}/debug/hearth" --cycles "${FILES_CRASH_CYCLES:-15}" "$@"
