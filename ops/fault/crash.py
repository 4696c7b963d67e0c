#!/usr/bin/env python3
"""Crash test: writers create records and note every acknowledged id; the server is
killed with SIGKILL at a random moment and started again on the same data directory, so
that Hearth's own recovery is the first to open the files (nothing else touches them in
between). Then the server must answer /readyz, every acknowledged record must be there
with its value, through the HTTP API, and only then a read-only Python look at the
recovered files must find PRAGMA integrity_check ok.

A SIGKILL keeps the OS page cache: this proves recovery after a crash of the process,
not after a power cut (that is modules/storage/tests/power_loss.rs).

    crash.py --binary target/debug/hearth --cycles 50 [--seed N] [--writers 4]

Standard library only. Everything binds 127.0.0.1; bounded by --cycles and --max-seconds.
"""
import argparse
import http.client
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in ops/lib
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402


def writer(port, token, acked, stop, lock, n):
    i = 0
    while not stop.is_set():
        i += 1
        try:
            r = harness.request(port, "POST", "/api/v1/crash", {"n": n * 1_000_000 + i, "note": "x" * 64}, token, timeout=2)
        except (OSError, http.client.HTTPException):
            continue  # the server died mid-request: not acknowledged
        if r.status == 201:
            with lock:
                acked.append((r.json["id"], n * 1_000_000 + i))


def all_records(port, token):
    """Every record's id and n, through the list endpoint."""
    records, cursor = {}, None
    while True:
        path = "/api/v1/crash?limit=200&fields=id,n" + (f"&cursor={cursor}" if cursor else "")
        r = harness.request(port, "GET", path, token=token, timeout=30)
        assert r.status == 200, r
        records.update((item["id"], item["n"]) for item in r.json["items"])
        cursor = r.json["next_cursor"]
        if not cursor:
            return records


def check_acknowledged(port, token, acked, cycle, rng):
    """Every acknowledged record is listed with its value, and a sample reads back one by one."""
    present = all_records(port, token)
    missing = [i for i, _ in acked if i not in present]
    assert not missing, f"cycle {cycle}: {len(missing)} acknowledged records lost, e.g. {missing[:3]}"
    wrong = [(i, n, present[i]) for i, n in acked if present[i] != n]
    assert not wrong, f"cycle {cycle}: acknowledged records changed (id, written, read), e.g. {wrong[:3]}"
    for i, n in rng.sample(acked, min(20, len(acked))):
        r = harness.request(port, "GET", f"/api/v1/crash/{i}", token=token, timeout=10)
        assert r.status == 200 and r.json["n"] == n, f"cycle {cycle}: GET {i}: {r}"


def integrity_after_recovery(data_dir):
    """A read-only look at the files Hearth has already recovered (mode=ro: Python
    replays nothing and creates nothing)."""
    db = os.path.join(data_dir, "hearth.db")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--max-seconds", type=int, default=600)
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    rng = random.Random(args.seed)
    print(f"crash test: {args.cycles} cycles, {args.writers} writers, seed {args.seed}")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="hearth-crash-") as data_dir:
        harness.create_admin(args.binary, data_dir)
        server = harness.Server(args.binary, data_dir, os.path.join(data_dir, "server.log")).start()
        port = server.port
        token = harness.login(port)
        harness.create_collection(port, token, "crash", [
            {"name": "n", "type": "integer", "required": True, "unique": True},
            {"name": "note", "type": "text"}])
        acked, lock = [], threading.Lock()
        for cycle in range(1, args.cycles + 1):
            if time.time() - started > args.max_seconds:
                print(f"stopping after {cycle - 1} cycles: --max-seconds reached")
                break
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(port, token, acked, stop, lock, cycle * 100 + w)) for w in range(args.writers)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.05, 0.6))
            server.kill()
            stop.set()
            for t in threads:
                t.join()
            # Hearth's own recovery first: the files are opened by nothing else before
            # the server starts on them again.
            server.start()
            r = harness.request(port, "GET", "/readyz")
            assert r.status == 200, f"cycle {cycle}: readyz {r}"
            with lock:
                snapshot = list(acked)
            count = len(snapshot)
            check_acknowledged(port, token, snapshot, cycle, rng)
            check = integrity_after_recovery(data_dir)
            assert check == "ok", f"cycle {cycle}: integrity_check says {check}"
            print(f"cycle {cycle}: {count} acknowledged records, all present; integrity ok; ready")
        server.stop()
    print("crash test passed")


if __name__ == "__main__":
    sys.exit(main())
