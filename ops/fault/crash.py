#!/usr/bin/env python3
"""Crash test: writers create records and note every acknowledged id; the server is
killed with SIGKILL at a random moment, restarted, and then every acknowledged record
must be there, PRAGMA integrity_check must say ok, and the server must answer /readyz.

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
                acked.append(r.json["id"])


def all_ids(port, token):
    ids, cursor = set(), None
    while True:
        path = "/api/v1/crash?limit=200&fields=id" + (f"&cursor={cursor}" if cursor else "")
        r = harness.request(port, "GET", path, token=token, timeout=30)
        assert r.status == 200, r
        ids.update(item["id"] for item in r.json["items"])
        cursor = r.json["next_cursor"]
        if not cursor:
            return ids


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
            db = os.path.join(data_dir, "hearth.db")
            check = sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0]
            assert check == "ok", f"cycle {cycle}: integrity_check says {check}"
            server.start()
            r = harness.request(port, "GET", "/readyz")
            assert r.status == 200, f"cycle {cycle}: readyz {r}"
            present = all_ids(port, token)
            with lock:
                missing = [i for i in acked if i not in present]
                count = len(acked)
            assert not missing, f"cycle {cycle}: {len(missing)} acknowledged records lost, e.g. {missing[:3]}"
            print(f"cycle {cycle}: {count} acknowledged records, all present; integrity ok; ready")
        server.stop()
    print("crash test passed")


if __name__ == "__main__":
    sys.exit(main())
