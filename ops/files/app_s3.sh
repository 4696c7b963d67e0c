#!/usr/bin/env bash
# File fields on S3 through a real `hearth serve` (ops/files/app_s3_test.py says what
# is checked): moto_server and boto3 from the venv of ops/files/moto.sh (pinned in
# ops/files/requirements.txt; needs python3-venv). The test starts and stops its own
# moto_server on 127.0.0.1 (it stops it midway to see uploads fail cleanly). Debug
# build, throwaway directories; bounded by --max-seconds (default 180).
set -euo pipefail
cd "$(dirname "$0")/../.."

MOTO=$(ops/files/moto.sh venv)
printf -- '--- building hearth (debug)\n'
cargo build --quiet --locked -p hearth
exec "$(dirname "$MOTO")/python" ops/files/app_s3_test.py \
  --binary "${CARGO_TARGET_DIR:-target}/debug/hearth" --moto "$MOTO" "$@"
