#!/usr/bin/env python3
"""Crash test: writers create records and note every acknowledged id; the server is
killed with SIGKILL at a random moment, restarted, and then every acknowledged record
must be there, PRAGMA integrity_check must say ok, and the server must answer /readyz.

    crash.py --binary target/debug/hearth --cycles 50 [--seed N] [--writers 4]

Standard library only. Everything binds 127.0.0.1; bounded by --cycles and --max-seconds.
"""
import argparse
import http.client
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ADMIN = ("crash@example.org", "crash test password")


class Server:
    def __init__(self, binary, data_dir, port):
        self.binary, self.data_dir, self.port = binary, data_dir, port
        self.proc = None

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
        env.update({"HEARTH_LOG": "warn", "HEARTH_RATE_LIMIT_PER_SECOND": "0", "NO_COLOR": "1"})
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--bind", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.data_dir)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.proc.stderr.read().decode(errors="replace"))
            try:
                status, _ = request(self.port, "GET", "/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become ready")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def request(port, method, path, body=None, token=None, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, (json.loads(data) if data else None)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def writer(port, token, acked, stop, lock, n):
    i = 0
    while not stop.is_set():
        i += 1
        try:
            status, body = request(port, "POST", "/api/v1/crash", {"n": n * 1_000_000 + i, "note": "x" * 64}, token, timeout=2)
        except (OSError, http.client.HTTPException):
            continue  # the server died mid-request: not acknowledged
        if status == 201:
            with lock:
                acked.append(body["id"])


def all_ids(port, token):
    ids, cursor = set(), None
    while True:
        path = "/api/v1/crash?limit=200&fields=id" + (f"&cursor={cursor}" if cursor else "")
        status, body = request(port, "GET", path, token=token, timeout=30)
        assert status == 200, (status, body)
        ids.update(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
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
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
        subprocess.run([args.binary, "admin", "create", "--email", ADMIN[0], "--password-stdin", "--data-dir", data_dir],
                       input=(ADMIN[1] + "\n").encode(), check=True, env=env, stdout=subprocess.DEVNULL)
        port = free_port()
        server = Server(args.binary, data_dir, port)
        server.start()
        status, body = request(port, "POST", "/api/v1/auth/login", {"email": ADMIN[0], "password": ADMIN[1]})
        token = body["access_token"]
        status, _ = request(port, "POST", "/api/v1/collections", {"name": "crash", "fields": [
            {"name": "n", "type": "integer", "required": True, "unique": True},
            {"name": "note", "type": "text"}]}, token)
        assert status == 201, status
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
            status, _ = request(port, "GET", "/readyz")
            assert status == 200, f"cycle {cycle}: readyz {status}"
            present = all_ids(port, token)
            with lock:
                missing = [i for i in acked if i not in present]
                count = len(acked)
            assert not missing, f"cycle {cycle}: {len(missing)} acknowledged records lost, e.g. {missing[:3]}"
            print(f"cycle {cycle}: {count} acknowledged records, all present; integrity ok; ready")
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=30)
    print("crash test passed")


if __name__ == "__main__":
    sys.exit(main())
