#!/usr/bin/env bash
# hearth-files' S3 backend against a real S3 API: starts moto on loopback
# (ops/files/moto.sh), runs the S3 integration tests (modules/files/tests/s3) with
# HEARTH_TEST_S3_URL pointing at it, and stops it again, whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/../.."

URL=$(ops/files/moto.sh start)
trap 'ops/files/moto.sh stop' EXIT
printf -- '--- moto S3 server at %s\n' "$URL"
HEARTH_TEST_S3_URL=$URL cargo test --locked -p hearth-files --features s3 --test s3 "$@"
