"""Shared pieces of the stdlib-Python drivers under ops/ (litestream, fault, load):
start a Hearth binary on a data directory, wait until it is ready, talk HTTP to it on
127.0.0.1, create the first admin and a collection, read the server's RSS.

Standard library only. Every server started here binds 127.0.0.1 and logs to a file, so
a busy log can never fill a pipe and stall the server under test.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

ADMIN = ("ops@example.org", "ops test password")


def exit_on_sigterm(limit=None):
    """Turn SIGTERM (and, after `limit` seconds, SIGALRM) into SystemExit, so a driver
    that runs too long or is stopped still runs its `finally` blocks and stops the
    servers it started."""
    def stop(signum, _frame):
        what = "time limit of %ss reached" % limit if signum == signal.SIGALRM else "SIGTERM"
        sys.exit(f"stopped: {what}")
    signal.signal(signal.SIGTERM, stop)
    if limit:
        signal.signal(signal.SIGALRM, stop)
        signal.alarm(int(limit))


def clean_env(**extra):
    """The caller's environment without HEARTH_* (so nothing outside the test changes
    the server's settings), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update({"NO_COLOR": "1"})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Response:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def json(self):
        return json.loads(self.raw) if self.raw else None

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    def __repr__(self):
        return f"{self.status} {self.content_type} {self.raw[:300]!r}"


def request(port, method, path, body=None, token=None, timeout=10, headers=None):
    """One request on a fresh connection; returns a Response."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = {"content-type": "application/json"}
        if token:
            h["authorization"] = "Bearer " + token
        h.update(headers or {})
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, raw)
    finally:
        conn.close()


class Server:
    """`hearth serve` on `data_dir`, 127.0.0.1 and a free port, stderr to `log_path`."""

    def __init__(self, binary, data_dir, log_path, args=(), env=None):
        self.binary, self.data_dir, self.log_path = os.path.abspath(binary), data_dir, log_path
        self.args, self.port, self.proc = list(args), free_port(), None
        self.env = env or clean_env(HEARTH_LOG="warn", HEARTH_RATE_LIMIT_PER_SECOND="0")

    def start(self, ready_timeout=30):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--bind", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir, *self.args],
            env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.data_dir)
        log.close()
        deadline = time.time() + ready_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if request(self.port, "GET", "/readyz", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become ready: " + self.log_tail())

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGTERM and wait; returns (exit code, seconds it took)."""
        if not self.alive():
            return self.proc.returncode if self.proc else None, 0.0
        started = time.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode, time.time() - started

    def kill(self):
        """SIGKILL, as a crash would, and reap the process."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def rss_kib(self):
        """VmRSS of the server process in KiB (from /proc/PID/status)."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-n:]
        except OSError:
            return ""


def create_admin(binary, data_dir):
    subprocess.run([os.path.abspath(binary), "admin", "create", "--email", ADMIN[0], "--password-stdin",
                    "--data-dir", data_dir], input=(ADMIN[1] + "\n").encode(), check=True,
                   env=clean_env(HEARTH_LOG="warn"), stdout=subprocess.DEVNULL)


def login(port):
    r = request(port, "POST", "/api/v1/auth/login", {"email": ADMIN[0], "password": ADMIN[1]})
    assert r.status == 200, f"login: {r}"
    return r.json["access_token"]


def create_collection(port, token, name, fields):
    r = request(port, "POST", "/api/v1/collections", {"name": name, "fields": fields}, token)
    assert r.status == 201, f"create collection {name}: {r}"


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]
