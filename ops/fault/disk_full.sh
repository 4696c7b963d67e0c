#!/usr/bin/env bash
# Disk-full and read-only data directory tests (bounded, about 10 s).
#
# 1. Disk full: the data directory is an 8 MiB tmpfs; a filler file takes every free
#    byte while Hearth serves. Writes must answer 507/503 problem+json (never 500), reads
#    must keep working, and writes must succeed again once the filler is deleted, without
#    a restart (ops/fault/disk_full.py).
# 2. Read-only data directory at start-up: `hearth serve` on a read-only mount (holding a
#    database, and empty) must exit 2 with one line on stderr.
#
# Both need to mount file systems. As root that just works; otherwise the script tries
# again inside a user and mount namespace (`unshare -rm`); where neither is allowed (some
# containers and CI runners) it prints SKIP and exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."

# HEARTH_DISK_FULL_IN_NS=1 marks the re-run inside a user namespace (below): the binary
# is built already, and there is no second retry.
if [ "${HEARTH_DISK_FULL_IN_NS:-}" != "1" ]; then
  cargo build -q -p hearth
fi
bin="$(cd "$(dirname "${CARGO_TARGET_DIR:-target}/debug/hearth")" && pwd)/hearth"

tmp=$(mktemp -d /tmp/hearth-disk-full.XXXXXX)
cleanup() {
  local m
  for m in "$tmp/full" "$tmp/ro" "$tmp/ro-empty"; do
    if mountpoint -q "$m" 2>/dev/null; then umount "$m" || umount -l "$m" || true; fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/full" "$tmp/ro" "$tmp/ro-empty"

if ! mount -t tmpfs -o size=8m,mode=0755 hearth-full "$tmp/full" 2>"$tmp/mount.err"; then
  if [ "${HEARTH_DISK_FULL_IN_NS:-}" != "1" ] && command -v unshare >/dev/null 2>&1 &&
    unshare -rm true 2>/dev/null; then
    echo "cannot mount here ($(head -c 200 "$tmp/mount.err")); retrying in a user namespace"
    trap - EXIT
    cleanup
    HEARTH_DISK_FULL_IN_NS=1 exec unshare -rm "$0" "$@"
  fi
  echo "SKIP disk-full and read-only data dir tests: mounting a tmpfs is not permitted here" \
    "($(head -c 200 "$tmp/mount.err")); run as root or where user namespaces are allowed"
  exit 0
fi

echo "== disk full (8 MiB tmpfs)"
python3 ops/fault/disk_full.py --binary "$bin" --data-dir "$tmp/full"

echo "== read-only data directory at start-up"
# Hearth without any HEARTH_* setting from the caller's environment.
clean=(env)
while IFS= read -r v; do clean+=(-u "$v"); done < <(compgen -e | grep '^HEARTH_' || true)
clean+=(NO_COLOR=1 HEARTH_LOG=warn)
# Root ignores file permissions, so the data directory must be on a read-only mount:
# a tmpfs that gets a database first and is then remounted read-only (per mount point,
# which a user namespace also allows), and an empty one mounted read-only.
mount -t tmpfs -o size=8m hearth-ro "$tmp/ro"
echo 'read-only test password' |
  "${clean[@]}" "$bin" admin create --email ro@example.org --password-stdin --data-dir "$tmp/ro" >/dev/null
mount -o remount,bind,ro "$tmp/ro"
mount -t tmpfs -o size=1m,ro hearth-ro-empty "$tmp/ro-empty"
for dir in "$tmp/ro" "$tmp/ro-empty"; do
  rc=0
  # Bounded: a server that starts anyway is stopped after 20 s (and fails the test).
  timeout 20 "${clean[@]}" "$bin" serve --bind 127.0.0.1:0 --data-dir "$dir" >"$tmp/ro.out" 2>"$tmp/ro.err" || rc=$?
  lines=$(grep -c . "$tmp/ro.err" || true)
  echo "serve on $(basename "$dir") (read-only mount): exit $rc; stderr: $(cat "$tmp/ro.err")"
  if [ "$rc" -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -q 'not writable' "$tmp/ro.err"; then
    echo "FAILED: expected exit 2 and one line saying the data directory is not writable (got exit $rc, $lines lines)"
    cat "$tmp/ro.out"
    exit 1
  fi
done
echo "read-only data dir test passed"
