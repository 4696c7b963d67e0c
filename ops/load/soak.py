#!/usr/bin/env python3
"""Soak test: a fixed-rate mixed workload against one Hearth server for a fixed time.

    soak.py --binary target/debug/hearth [--duration 60] [--rate 300] [--connections 16]

It starts `hearth serve` on a temporary data directory (127.0.0.1, a free port), creates
the collection `soak` (title, body, views indexed, published) and seeds it, then sends
--rate requests a second for --duration seconds over --connections keep-alive
connections: 70 % reads (get by id 40 %, list 15 %, filtered and sorted list 10 %, list
with count 5 %) and 30 % writes (create 10 %, patch 10 %, delete 10 %). Deletes remove
records created during the run, oldest first, so the number of records stays about
constant: the SQLite page cache reaches its steady state during the warm-up, and RSS
that keeps growing after it is a leak, not a growing database. The schedule is open-loop:
request i is due at start + i/rate, and its latency is counted from that moment, so a
stalled server shows up in the percentiles instead of silently lowering the rate.

It samples the server's VmRSS (/proc/PID/status) every --rss-every seconds and fails if
any request failed (anything but 2xx, or a connection error), if the server died, or if
the RSS at the end exceeds the RSS after the warm-up (the first minute, or the first
quarter of a shorter run) by more than --rss-growth (default 30 %).

Standard library only; 127.0.0.1 only; stops by itself after --duration.
"""
import argparse
import collections
import http.client
import itertools
import json
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

COLLECTION = "soak"
# (operation, weight in percent)
MIX = [("get", 40), ("list", 15), ("filter", 10), ("count", 5), ("create", 10), ("patch", 10), ("delete", 10)]


class Client:
    """One keep-alive connection; reconnects after the server closes it."""

    def __init__(self, port, token):
        self.port, self.token, self.conn = port, token, None

    def call(self, method, path, body=None):
        headers = {"authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["content-type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                if resp.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, raw
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # An idle keep-alive connection the server closed: retry once on a new one.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise


def new_record(rng):
    return {"title": f"soak {rng.randrange(10**9)}", "body": "b" * rng.randrange(50, 500),
            "views": rng.randrange(0, 100_000), "published": rng.random() < 0.5}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--duration", type=float, default=60, help="seconds of load")
    ap.add_argument("--rate", type=float, default=300, help="requests per second")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seed-records", type=int, default=5000)
    ap.add_argument("--rss-every", type=float, default=5)
    ap.add_argument("--rss-growth", type=float, default=30, help="allowed RSS growth after warm-up, in percent")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    harness.exit_on_sigterm(limit=args.duration + 120)
    ops = [op for op, w in MIX for _ in range(w)]
    warmup = min(60.0, args.duration / 4)
    print(f"soak: {args.rate:.0f} req/s for {args.duration:.0f} s over {args.connections} connections; "
          f"mix {', '.join(f'{op} {w}%' for op, w in MIX)}; warm-up {warmup:.0f} s; seed {args.seed}")

    with tempfile.TemporaryDirectory(prefix="hearth-soak-") as tmp:
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        harness.create_admin(args.binary, data)
        server = harness.Server(args.binary, data, os.path.join(tmp, "hearth.log")).start()
        try:
            token = harness.login(server.port)
            harness.create_collection(server.port, token, COLLECTION, [
                {"name": "title", "type": "text", "required": True, "max_length": 200},
                {"name": "body", "type": "text"},
                {"name": "views", "type": "integer", "min": 0, "indexed": True},
                {"name": "published", "type": "boolean"}])
            # ids: the seeded records, read and patched, never deleted. churn: records
            # created during the run, deleted oldest first.
            ids, churn, ids_lock = [], collections.deque(), threading.Lock()

            def seed(k):
                rng, c = random.Random(args.seed + k), Client(server.port, token)
                for _ in range(args.seed_records // 8):
                    status, raw = c.call("POST", f"/api/v1/{COLLECTION}", new_record(rng))
                    assert status == 201, (status, raw)
                    with ids_lock:
                        ids.append(json.loads(raw)["id"])
            seeders = [threading.Thread(target=seed, args=(k,)) for k in range(8)]
            for t in seeders:
                t.start()
            for t in seeders:
                t.join()
            print(f"seeded {len(ids)} records")

            counter = itertools.count()
            stop_at = [0.0]
            results = {op: [] for op, _ in MIX}  # latencies in seconds, per operation
            errors, errors_lock = [], threading.Lock()
            t0 = time.monotonic() + 0.2

            def worker(k):
                rng, c = random.Random(args.seed * 1000 + k), Client(server.port, token)
                while True:
                    i = next(counter)
                    due = t0 + i / args.rate
                    if due >= stop_at[0]:
                        return
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    op = ops[rng.randrange(len(ops))]
                    with ids_lock:
                        rid = ids[rng.randrange(len(ids))]
                        if op == "delete":
                            if churn:
                                rid = churn.popleft()
                            else:
                                op = "create"
                    if op == "get":
                        req = ("GET", f"/api/v1/{COLLECTION}/{rid}", None)
                    elif op == "list":
                        req = ("GET", f"/api/v1/{COLLECTION}?limit=20", None)
                    elif op == "filter":
                        v = rng.randrange(0, 100_000)
                        req = ("GET", f"/api/v1/{COLLECTION}?filter=views%3E%3D{v}%20%26%26%20published%20%3D%20true&sort=views&limit=20", None)
                    elif op == "count":
                        req = ("GET", f"/api/v1/{COLLECTION}?limit=50&count=true&sort=-created_at", None)
                    elif op == "create":
                        req = ("POST", f"/api/v1/{COLLECTION}", new_record(rng))
                    elif op == "patch":
                        req = ("PATCH", f"/api/v1/{COLLECTION}/{rid}", {"views": rng.randrange(0, 100_000)})
                    else:
                        req = ("DELETE", f"/api/v1/{COLLECTION}/{rid}", None)
                    try:
                        status, raw = c.call(*req)
                        latency = time.monotonic() - due
                        if not 200 <= status < 300:
                            raise RuntimeError(f"status {status}: {raw[:300]!r}")
                        if op == "create":
                            with ids_lock:
                                churn.append(json.loads(raw)["id"])
                    except Exception as e:  # noqa: BLE001 - every failure counts as an error
                        with errors_lock:
                            errors.append((op, req[1], type(e).__name__, str(e)[:300]))
                        if c.conn is not None:  # start over on a fresh connection
                            c.conn.close()
                            c.conn = None
                        continue
                    results[op].append(latency)  # list.append is atomic in CPython

            stop_at[0] = t0 + args.duration
            threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(args.connections)]
            for t in threads:
                t.start()
            rss = []  # (seconds since start, KiB)
            next_sample, next_report = t0, t0 + 10
            while time.monotonic() < stop_at[0]:
                now = time.monotonic()
                if now >= next_sample:
                    if not server.alive():
                        raise SystemExit(f"server died during the soak: {server.log_tail()}")
                    rss.append((now - t0, server.rss_kib()))
                    next_sample += args.rss_every
                if now >= next_report:
                    done = sum(len(v) for v in results.values())
                    print(f"  t={now - t0:5.0f}s  requests {done:7d}  errors {len(errors)}  RSS {rss[-1][1] / 1024:.1f} MiB",
                          flush=True)
                    next_report += 10 if args.duration <= 120 else 60
                time.sleep(min(0.2, max(0.0, min(next_sample, next_report) - time.monotonic())))
            for t in threads:
                t.join(timeout=60)
            elapsed = time.monotonic() - t0
            rss.append((elapsed, server.rss_kib()))
            code, _ = server.stop()
            conn = sqlite3.connect(os.path.join(data, "hearth.db"))
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            conn.close()
        finally:
            if server.alive():
                server.proc.kill()
                server.proc.wait()

        # Report.
        total = sum(len(v) for v in results.values()) + len(errors)
        every = sorted(x for v in results.values() for x in v)
        ms = lambda s: f"{s * 1000:.1f}"  # noqa: E731
        print(f"\nrequests {total} in {elapsed:.1f} s ({total / elapsed:.0f}/s, target {args.rate:.0f}/s); errors {len(errors)}")
        print(f"latency ms (from the scheduled send): p50 {ms(harness.percentile(every, 50))}  "
              f"p90 {ms(harness.percentile(every, 90))}  p99 {ms(harness.percentile(every, 99))}  max {ms(every[-1] if every else 0)}")
        print(f"{'operation':<10}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for op, _ in MIX:
            v = sorted(results[op])
            print(f"{op:<10}{len(v):>8}{ms(harness.percentile(v, 50)):>10}{ms(harness.percentile(v, 99)):>10}{ms(v[-1] if v else 0):>10}")
        base = next((kib for t, kib in rss if t >= warmup), rss[-1][1])
        end, peak = rss[-1][1], max(kib for _, kib in rss)
        growth = (end - base) * 100 / base
        print("RSS MiB every %.0f s: %s" % (args.rss_every, " ".join(f"{kib / 1024:.1f}" for _, kib in rss)))
        print(f"RSS after warm-up {base / 1024:.1f} MiB, at the end {end / 1024:.1f} MiB ({growth:+.1f} %), peak {peak / 1024:.1f} MiB")
        print(f"records at the end: {len(ids) + len(churn)} ({len(ids)} seeded); server exit {code}; "
              f"integrity_check {check}")

        failures = []
        if errors:
            counts, examples = {}, {}
            for op, path, kind, message in errors:
                counts[(op, kind)] = counts.get((op, kind), 0) + 1
                examples.setdefault((op, kind), (path, message))
            failures.append(f"{len(errors)} failed requests: " + "; ".join(
                f"{op}: {n} x {kind} (e.g. {examples[(op, kind)][0]}: {examples[(op, kind)][1]})"
                for (op, kind), n in counts.items()))
        if growth > args.rss_growth:
            failures.append(f"RSS grew {growth:.1f} % after the warm-up (limit {args.rss_growth:.0f} %)")
        if total < 0.9 * args.rate * args.duration:
            failures.append(f"only {total} requests were sent; the driver could not keep {args.rate:.0f}/s")
        if code != 0:
            failures.append(f"server exited with {code} at SIGTERM")
        if check != "ok":
            failures.append(f"integrity_check says {check}")
        if failures:
            print("\nFAILED:\n  " + "\n  ".join(failures))
            sys.exit(1)
        print("soak test passed")


if __name__ == "__main__":
    main()
