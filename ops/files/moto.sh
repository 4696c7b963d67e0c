#!/usr/bin/env bash
# A real S3 API server on loopback for the files tests: moto's moto_server, from a
# venv (.venv/files, pinned in ops/files/requirements.txt; needs python3-venv).
#
#   ops/files/moto.sh venv    # create/update the venv, print the moto_server path
#   ops/files/moto.sh start   # start on 127.0.0.1 and a free port, print its URL
#   ops/files/moto.sh url     # the URL of the running server
#   ops/files/moto.sh stop    # stop it (no-op when none runs)
#
# State (pid, port, log) lives in ${CARGO_TARGET_DIR:-target}/moto/. moto keeps
# everything in memory: a stopped server forgets every bucket.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.venv/files
REQUIREMENTS=ops/files/requirements.txt
STATE=${CARGO_TARGET_DIR:-target}/moto
say() { printf -- '--- %s\n' "$*" >&2; }

ensure_venv() {
  if [ ! -x "$VENV/bin/pip" ]; then
    rm -rf "$VENV" # a half-made venv (e.g. python3-venv was missing) is useless
    say "creating $VENV"
    python3 -m venv "$VENV"
  fi
  if ! cmp -s "$REQUIREMENTS" "$VENV/installed-requirements.txt"; then
    say "installing $(grep '^moto==' "$REQUIREMENTS") from PyPI"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    cp "$REQUIREMENTS" "$VENV/installed-requirements.txt"
  fi
}

running() {
  [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "${1:-}" in
  venv)
    ensure_venv
    echo "$PWD/$VENV/bin/moto_server"
    ;;
  start)
    ensure_venv
    mkdir -p "$STATE"
    if running; then
      echo "http://127.0.0.1:$(cat "$STATE/port")"
      exit 0
    fi
    port=$(free_port)
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$STATE/moto.log" 2>&1 </dev/null &
    echo $! >"$STATE/pid"
    echo "$port" >"$STATE/port"
    for _ in $(seq 1 100); do
      if ! running; then
        say "moto_server exited: $(tail -5 "$STATE/moto.log")"
        exit 1
      fi
      # Any HTTP answer means it listens (the root lists buckets).
      if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/', timeout=1)" 2>/dev/null; then
        echo "http://127.0.0.1:$port"
        exit 0
      fi
      sleep 0.1
    done
    say "moto_server did not answer within 10 s: $(tail -5 "$STATE/moto.log")"
    kill "$(cat "$STATE/pid")" 2>/dev/null || true
    exit 1
    ;;
  url)
    running || { say "no moto server is running (ops/files/moto.sh start)"; exit 1; }
    echo "http://127.0.0.1:$(cat "$STATE/port")"
    ;;
  stop)
    if running; then
      pid=$(cat "$STATE/pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/pid" "$STATE/port"
    ;;
  *)
    echo "usage: $0 venv|start|url|stop" >&2
    exit 2
    ;;
esac
