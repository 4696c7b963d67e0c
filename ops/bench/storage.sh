#!/usr/bin/env sh
# Storage throughput (modules/storage/benches/writer.rs): single-row inserts per second
# through the writer thread, unbatched (max_batch=1) vs group commit (max_batch=256), at
# 1, 16 and 64 concurrent tasks, with synchronous=NORMAL (default) and FULL (fsync per
# commit), and point reads by primary key of random ids through the reader pool.
# Each insert cell uses a fresh SQLite file in a temporary directory. Prints a markdown
# table. BENCH_QUICK=1 runs a tenth of the operations (a smoke test, not a measurement);
# BENCH_DIR=/path puts the files on the file system you want to measure (default: $TMPDIR).
set -eu
cd "$(dirname "$0")/../.."
exec cargo bench -p hearth-storage --bench writer "$@"
