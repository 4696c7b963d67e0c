#!/usr/bin/env python3
"""Slow-client test: while slow clients hold connections, normal clients must keep
getting fast answers, and the slow clients must be cut off by the header read timeout.

    slowloris.py --binary target/debug/hearth [--header-read-timeout 2] [--connections 200]

Hearth runs with --header-read-timeout 2s on 127.0.0.1. Phases, each with a probe thread
sending normal API reads (a new connection each, 20 a second) that must all answer 200:

  A. byte by byte (this script): --connections sockets each send an endless request
     head one byte every 0.25 s; a socket the server closes is replaced until the phase
     ends. Every socket must be closed by the server within the timeout plus 1 s.
  B. slowhttptest -H (Debian's slowhttptest, when installed): 200 slowloris connections
     sending a header line every second; its own probe must always find the service
     available and the server must close every connection.
  C. idle holders: 20 connections that send no byte at all, an HTTP/2 prior-knowledge
     connection that sends the preface and SETTINGS but never a request, and a request
     whose body trickles in. The server must close all of them within the header read
     timeout (the body one: the body read timeout) plus 2 s.

Standard library only (plus slowhttptest for B); 127.0.0.1 only; about 40 s.
"""
import argparse
import csv
import errno
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in ops/lib
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

COLLECTION = "slow"


class Prober(threading.Thread):
    """Normal clients: one GET of a list every 50 ms on a new connection."""

    def __init__(self, port, token):
        super().__init__(daemon=True)
        self.port, self.token = port, token
        self.latencies, self.failures = [], []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                r = harness.request(self.port, "GET", f"/api/v1/{COLLECTION}?limit=5", token=self.token, timeout=5)
                if r.status != 200:
                    self.failures.append(f"status {r.status}: {r.raw[:200]!r}")
            except Exception as e:  # noqa: BLE001 - any failure of a normal request counts
                self.failures.append(repr(e))
            self.latencies.append(time.monotonic() - started)
            self.stop.wait(max(0.0, 0.05 - (time.monotonic() - started)))

    def summary(self):
        v = sorted(self.latencies)
        return (f"{len(v)} normal requests, {len(self.failures)} failed, latency ms p50 "
                f"{harness.percentile(v, 50) * 1000:.1f} p99 {harness.percentile(v, 99) * 1000:.1f} "
                f"max {(v[-1] if v else 0) * 1000:.1f}")


def byte_by_byte(port, connections, seconds, timeout):
    """Phase A. Returns (lifetimes of server-closed sockets, sockets still open at the
    end, sockets opened)."""
    head = (f"GET /api/v1/{COLLECTION} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n").encode()
    head += b"".join(b"X-Slow-%d: %s\r\n" % (i, b"z" * 40) for i in range(200))  # never ends in time
    sel = selectors.DefaultSelector()
    conns = {}  # socket -> [opened, bytes sent, next send time]
    lifetimes, opened = [], 0
    t0 = time.monotonic()
    attack_end = t0 + seconds

    def open_one():
        nonlocal opened
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        now = time.monotonic()
        conns[s] = [now, 0, now]
        sel.register(s, selectors.EVENT_READ)
        opened += 1

    def closed(s):
        lifetimes.append(time.monotonic() - conns[s][0])
        sel.unregister(s)
        s.close()
        del conns[s]

    ramp_per_tick = max(1, connections // 20)  # ramp up over about 2 s
    while True:
        now = time.monotonic()
        attacking = now < attack_end
        if attacking and len(conns) < connections:
            for _ in range(min(ramp_per_tick, connections - len(conns))):
                open_one()
        for s, state in list(conns.items()):
            if attacking and now >= state[2] and state[1] < len(head):
                try:
                    state[1] += s.send(head[state[1]:state[1] + 1])
                except BlockingIOError:
                    pass
                except OSError as e:
                    if e.errno in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                        closed(s)
                        continue
                    raise
                state[2] = now + 0.25
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed(s)
        if not attacking and (not conns or now > attack_end + timeout + 3):
            break
    still_open = len(conns)
    for s in list(conns):
        sel.unregister(s)
        s.close()
    return lifetimes, still_open, opened


def run_slowhttptest(port, tmp, seconds):
    """Phase B. Returns the rows of slowhttptest's CSV statistics."""
    prefix = os.path.join(tmp, "slowhttptest")
    cmd = ["slowhttptest", "-H", "-c", "200", "-r", "100", "-i", "1", "-x", "24", "-p", "2",
           "-l", str(seconds), "-u", f"http://127.0.0.1:{port}/healthz", "-g", "-o", prefix]
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=seconds + 30)
    with open(prefix + ".csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return rows, out.stdout.decode(errors="replace")


def idle_holders(port, token, timeout):
    """Phase C. Returns human-readable findings (empty when every connection was cut)."""
    findings = []
    wait = timeout + 2
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
    h2 = socket.create_connection(("127.0.0.1", port))
    h2.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))  # preface, empty SETTINGS
    body = socket.create_connection(("127.0.0.1", port))
    body.sendall((f"POST /api/v1/{COLLECTION} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                  "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n").encode())
    started = time.monotonic()
    while time.monotonic() - started < wait:
        try:
            body.send(b" ")
        except OSError:
            break
        time.sleep(0.5)

    def is_open(s):
        s.setblocking(False)
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    return False
        except BlockingIOError:
            return True
        except OSError:
            return False

    n_silent = sum(is_open(s) for s in silent)
    if n_silent:
        findings.append(f"{n_silent} of 20 connections that sent no byte are still open after {wait:.0f} s "
                        f"(header read timeout {timeout:.0f} s)")
    if is_open(h2):
        findings.append(f"an HTTP/2 prior-knowledge connection that sent only the preface is still open after {wait:.0f} s")
    if is_open(body):
        findings.append(f"a request whose body trickles in (1 byte every 0.5 s) is still open after {wait:.0f} s")
    for s in silent + [h2, body]:
        s.close()
    return findings


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--header-read-timeout", type=float, default=2)
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10, help="length of each attack phase")
    ap.add_argument("--max-p99-ms", type=float, default=250, help="p99 bound for the normal requests")
    args = ap.parse_args()
    harness.exit_on_sigterm(limit=3 * args.seconds + 90)
    timeout = args.header_read_timeout
    failures = []
    with tempfile.TemporaryDirectory(prefix="hearth-slowloris-") as tmp:
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        harness.create_admin(args.binary, data)
        server = harness.Server(args.binary, data, os.path.join(tmp, "hearth.log"),
                                args=["--header-read-timeout", f"{timeout:g}s",
                                      "--body-read-timeout", f"{timeout:g}s"]).start()
        try:
            token = harness.login(server.port)
            harness.create_collection(server.port, token, COLLECTION, [{"name": "t", "type": "text"}])
            for i in range(20):
                assert harness.request(server.port, "POST", f"/api/v1/{COLLECTION}", {"t": f"r{i}"}, token).status == 201

            def phase(name, attack):
                prober = Prober(server.port, token)
                prober.start()
                try:
                    result = attack()
                finally:
                    prober.stop.set()
                    prober.join()
                print(f"  normal clients meanwhile: {prober.summary()}")
                if prober.failures:
                    failures.append(f"{name}: {len(prober.failures)} normal requests failed, e.g. {prober.failures[:3]}")
                p99 = harness.percentile(sorted(prober.latencies), 99) * 1000
                if p99 > args.max_p99_ms:
                    failures.append(f"{name}: normal requests p99 {p99:.0f} ms > {args.max_p99_ms:.0f} ms")
                if not server.alive():
                    raise SystemExit(f"server died: {server.log_tail()}")
                return result

            print(f"A. {args.connections} connections sending a request head byte by byte for {args.seconds:.0f} s "
                  f"(header read timeout {timeout:g} s)")
            rss_before = server.rss_kib()
            lifetimes, still_open, opened = phase("A", lambda: byte_by_byte(server.port, args.connections, args.seconds, timeout))
            lt = sorted(lifetimes)
            print(f"  slow connections opened {opened}, closed by the server {len(lt)}, still open {still_open}; "
                  f"time until cut s: min {lt[0]:.2f} p50 {harness.percentile(lt, 50):.2f} max {lt[-1]:.2f}; "
                  f"server RSS {rss_before / 1024:.1f} -> {server.rss_kib() / 1024:.1f} MiB")
            if still_open:
                failures.append(f"A: {still_open} slow connections were not cut off")
            if lt and lt[-1] > timeout + 1.0:
                failures.append(f"A: a slow connection lived {lt[-1]:.2f} s (timeout {timeout:g} s)")
            if len(lt) < args.connections:
                failures.append(f"A: only {len(lt)} slow connections were cut off")

            if shutil.which("slowhttptest"):
                print(f"B. slowhttptest -H: 200 connections, a header line every second, {args.seconds:.0f} s")
                rows, out = phase("B", lambda: run_slowhttptest(server.port, tmp, int(args.seconds)))
                # "Service Available" is 0 in a second where slowhttptest's own probe got no
                # answer within 2 s; it ends the test early once the server closed them all.
                down = [r for r in rows if int(r["Service Available"]) == 0]
                closed = max(int(r["Closed"]) for r in rows)
                all_closed = "No open connections left" in out
                print(f"  slowhttptest: {len(rows)} s of statistics, service unavailable in {len(down)} of them, "
                      f"connections closed by the server {closed}+, "
                      + (f"all closed, test ended after {len(rows) - 1} s" if all_closed else "some still open at the end"))
                if down:
                    failures.append(f"B: slowhttptest found the service unavailable in {len(down)} seconds:\n{out[-1500:]}")
                if not all_closed:
                    failures.append(f"B: slowhttptest connections were not all cut off:\n{out[-1500:]}")
            else:
                print("B. skipped: slowhttptest is not installed (apt-get install slowhttptest)")

            print("C. idle holders: no byte at all, HTTP/2 without a request, slow request body")
            findings = phase("C", lambda: idle_holders(server.port, token, timeout))
            for f in findings:
                print("  " + f)
            if not findings:
                print("  all cut off")
            failures.extend("C: " + f for f in findings)
        finally:
            code, took = server.stop()
        print(f"server stopped: exit {code} in {took:.1f} s")
        if code != 0:
            failures.append(f"server exited with {code}")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("slowloris test passed")


if __name__ == "__main__":
    main()
