#!/usr/bin/env python3
"""Disk-full test: Hearth serves a data directory on a small file system (ops/fault/
disk_full.sh mounts an 8 MiB tmpfs there); a filler file takes the remaining space while
the server runs. Then:

  * every write answers 507 insufficient_storage or 503 unavailable as
    application/problem+json (never 500, never a dropped connection), and the server
    stays up;
  * reads (a record, a list, /healthz) still answer 200;
  * once the filler is deleted, writes succeed again without a restart;
  * a realtime stream of the collection, open throughout, stays open and says exactly
    what committed: one `created` event per acknowledged create, none for a refused
    one (the change feed is written in the write's own transaction);
  * the disk is filled again and the server stopped with SIGTERM while full; once there
    is space again it starts, every acknowledged record is there and PRAGMA
    integrity_check is ok. That SIGTERM must exit 0 (the final checkpoint cannot run
    without space; the server says so and leaves the WAL for the next start).

    disk_full.py --binary target/debug/hearth --data-dir /mnt/small-tmpfs

Standard library only; 127.0.0.1 only; bounded (a few hundred requests, fixed timeouts).
"""
import argparse
import errno
import http.client
import os
import sqlite3
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in ops/lib
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import sse_follow  # noqa: E402

COLLECTION = "full"
BLOB = 16 * 1024  # bytes of text per record written while the disk is full


def fill(path):
    """Write zeros to `path` until the file system says ENOSPC; returns bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 64 << 10, 4 << 10, 512, 1):
            block = b"\0" * chunk
            while True:
                try:
                    n = f.write(block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
                written += n
                if n < chunk:
                    break
    return written


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class Failure(Exception):
    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data-dir", required=True, help="an empty directory on a small file system")
    ap.add_argument("--log", default=None, help="server log file (default: a temporary file)")
    args = ap.parse_args()
    harness.exit_on_sigterm(limit=120)
    data = args.data_dir
    log = args.log or os.path.join("/tmp", f"hearth-disk-full-{os.getpid()}.log")
    filler = os.path.join(data, "filler")
    problems = []  # every answer that is not what the test allows, with details

    harness.create_admin(args.binary, data)
    server = harness.Server(args.binary, data, log).start()
    pid = server.pid
    acked = {}
    refused = set()  # numbers of creates answered 507/503

    def create(n, blob):
        """POST one record; returns the Response, or None for a dropped connection."""
        try:
            r = harness.request(server.port, "POST", f"/api/v1/{COLLECTION}", {"n": n, "note": "d" * blob}, token, timeout=15)
        except (OSError, http.client.HTTPException) as e:
            problems.append(f"POST n={n}: connection failed: {e!r}")
            return None
        if r.status == 201:
            acked[r.json["id"]] = n
        return r

    try:
        token = harness.login(server.port)
        harness.create_collection(server.port, token, COLLECTION, [
            {"name": "n", "type": "integer", "required": True, "unique": True},
            {"name": "note", "type": "text"}])
        for n in range(1, 21):
            r = create(n, 200)
            if r is None or r.status != 201:
                raise Failure(f"baseline write {n}: {r}")
        baseline_id = next(iter(acked))
        stream = sse_follow.Follower(server.port, f"/api/v1/{COLLECTION}/events", token)
        r = harness.request(server.port, "POST", "/api/v1/auth/login", {"email": harness.ADMIN[0], "password": harness.ADMIN[1]})
        refresh_token = r.json["refresh_token"]
        print(f"disk full: 20 baseline records written; {free_bytes(data) // 1024} KiB free on the data file system")

        # Take every free byte.
        filled = fill(filler)
        print(f"filler took {filled // 1024} KiB; {free_bytes(data)} bytes free now")

        # Writes while full: at most 300 attempts; large records, so the -wal file must
        # grow within a few of them. Allowed: 201 (SQLite reused space it already had),
        # 507 and 503 as problem+json.
        statuses = {}
        refusals = 0
        first_refusal = None
        for i in range(300):
            n = 1000 + i
            r = create(n, BLOB)
            if r is None:
                continue
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status in (507, 503):
                refused.add(n)
                refusals += 1
                first_refusal = first_refusal or r
                body = r.json if r.content_type.startswith("application/problem+json") else None
                want = "insufficient_storage" if r.status == 507 else "unavailable"
                if body is None or body.get("code") != want or body.get("status") != r.status:
                    problems.append(f"POST n={n}: {r.status} without the problem+json body for {want}: {r}")
            elif r.status != 201:
                problems.append(f"POST n={n}: {r}")
            if refusals >= 20:
                break
        print(f"writes while full: {sum(statuses.values())} attempts, statuses {dict(sorted(statuses.items()))}")
        if first_refusal is not None:
            print(f"  first refusal: {first_refusal.status} {first_refusal.raw.decode(errors='replace')}")
        if refusals == 0:
            problems.append("no write was refused although the disk was full")

        # A patch and a delete while full answer the same way.
        for method, body in (("PATCH", {"note": "p" * BLOB}), ("DELETE", None)):
            try:
                r = harness.request(server.port, method, f"/api/v1/{COLLECTION}/{baseline_id}", body, token, timeout=15)
                print(f"  {method} while full: {r.status}")
                if r.status not in (200, 204, 503, 507):
                    problems.append(f"{method} while full: {r}")
                if method == "DELETE" and r.status == 204:
                    acked.pop(baseline_id)
            except (OSError, http.client.HTTPException) as e:
                problems.append(f"{method} while full: connection failed: {e!r}")
        # Every other kind of write answers the same way: auth, tokens, users, schema.
        others = [
            ("POST", "/api/v1/auth/login", {"email": harness.ADMIN[0], "password": harness.ADMIN[1]}),
            ("POST", "/api/v1/auth/refresh", {"refresh_token": refresh_token}),
            ("POST", "/api/v1/auth/tokens", {"name": "while full", "scopes": ["read"]}),
            ("POST", "/api/v1/users", {"email": "full@example.org", "password": "a long enough password"}),
            ("POST", "/api/v1/collections", {"name": "another", "fields": [{"name": "t", "type": "text"}]}),
        ]
        for method, path, body in others:
            try:
                r = harness.request(server.port, method, path, body, token, timeout=15)
            except (OSError, http.client.HTTPException) as e:
                problems.append(f"{method} {path} while full: connection failed: {e!r}")
                continue
            print(f"  {method} {path} while full: {r.status}")
            if r.status not in (200, 201, 503, 507) or (r.status >= 500 and not r.content_type.startswith("application/problem+json")):
                problems.append(f"{method} {path} while full: {r}")
        r = harness.request(server.port, "GET", "/readyz")
        print(f"  /readyz while full: {r.status}")
        if r.status not in (200, 503):
            problems.append(f"/readyz while full: {r}")

        # Reads while full.
        some_id = next(i for i in acked if i != baseline_id)
        read_statuses = []
        for path in (f"/api/v1/{COLLECTION}/{some_id}", f"/api/v1/{COLLECTION}?limit=50", "/healthz"):
            r = harness.request(server.port, "GET", path, token=token)
            read_statuses.append(r.status)
            if r.status != 200:
                problems.append(f"GET {path} while full: {r}")
        print(f"reads while full: record, list, /healthz answered {read_statuses}")
        if not server.alive():
            raise Failure(f"server exited while the disk was full: {server.log_tail()}")

        # Space comes back: no restart, writes succeed again (within a few seconds:
        # the clients are told Retry-After: 1).
        os.unlink(filler)
        t0 = time.time()
        n = 100_000
        while True:
            n += 1
            r = create(n, BLOB)
            if r is not None and r.status == 201:
                break
            if time.time() - t0 > 15:
                raise Failure(f"writes still fail 15 s after space returned: {r}")
            time.sleep(0.5)
        recovered = time.time() - t0
        for _ in range(20):
            n += 1
            r = create(n, 200)
            if r is None or r.status != 201:
                problems.append(f"write after recovery: {r}")
        r = harness.request(server.port, "GET", "/readyz")
        if r.status != 200:
            problems.append(f"/readyz after recovery: {r}")
        if server.pid != pid or not server.alive():
            raise Failure("the server restarted or died")
        print(f"space returned: writes succeed again after {recovered:.1f} s, same process (pid {pid})")

        # The stream heard every acknowledged create made while it was open, once, and
        # nothing of a refused one.
        followed = {i: n for i, n in acked.items() if n > 20}
        deadline = time.time() + 15
        while True:
            created = [d["record"] for e, _, d in stream.snapshot() if e == "created" and d]
            seen = {}
            for record in created:
                seen[record["id"]] = seen.get(record["id"], 0) + 1
            if all(i in seen for i in followed) or time.time() > deadline:
                break
            time.sleep(0.2)
        missing_events = [n for i, n in followed.items() if i not in seen]
        doubled = [i for i, c in seen.items() if c > 1]
        ghosts = sorted(r["n"] for r in created if r["n"] in refused)
        unknown = [r["n"] for r in created if r["id"] not in acked and r["n"] not in refused]
        print(f"stream: {len(created)} created events for {len(followed)} acknowledged creates "
              f"and {len(refused)} refused ones; stream error: {stream.error}")
        if missing_events:
            problems.append(f"{len(missing_events)} acknowledged creates have no event, e.g. n={missing_events[:5]}")
        if doubled:
            problems.append(f"{len(doubled)} records have more than one created event")
        if ghosts:
            problems.append(f"refused creates have events: n={ghosts[:10]}")
        if unknown:
            problems.append(f"events for creates neither acknowledged nor refused (connection failures): n={unknown[:10]}")
        if stream.error is not None:
            problems.append(f"the stream broke while the disk was full: {stream.error!r}")
        stream.close()

        # Stopped while the disk is full: every acknowledged record must survive it and
        # the next start (once there is space again).
        filled = fill(filler)
        r = create(200_000, BLOB)
        print(f"full again ({filled // 1024} KiB filler): a write answers {r.status if r else None}; SIGTERM")
    finally:
        code, took = server.stop()
    full_stop_line = server.log_tail(400).strip().splitlines()[-1:] or [""]
    print(f"  stop while full: exit {code} after {took:.1f} s; last log line: {full_stop_line[0][:200]}")
    if code != 0:
        problems.append(f"SIGTERM while the disk is full: exit {code} (not 0); last log line: {full_stop_line[0][:300]}")
    if os.path.exists(filler):
        os.unlink(filler)

    server = harness.Server(args.binary, data, log).start()
    token = harness.login(server.port)
    present = set()
    cursor = None
    while True:
        path = f"/api/v1/{COLLECTION}?limit=200&fields=id,n" + (f"&cursor={cursor}" if cursor else "")
        r = harness.request(server.port, "GET", path, token=token)
        assert r.status == 200, r
        present.update((item["id"], item["n"]) for item in r.json["items"])
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    code2, _ = server.stop()
    if code2 != 0:
        problems.append(f"server exited with {code2} at SIGTERM after the restart")
    conn = sqlite3.connect(os.path.join(data, "hearth.db"))
    check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    if check != "ok":
        problems.append(f"integrity_check says {check}")
    missing = [i for i in acked if (i, acked[i]) not in present]
    if missing:
        problems.append(f"{len(missing)} acknowledged records missing after the restart, e.g. {missing[:3]}")
    print(f"after a restart with space: integrity_check {check}; {len(acked) - len(missing)} of {len(acked)} "
          f"acknowledged records present")
    with open(log, errors="replace") as f:
        text = f.read()
    if "panicked" in text:
        problems.append(f"server log mentions a panic: see {log}")
    if problems:
        print("\nPROBLEMS:")
        for p in problems:
            print("  - " + p)
        print(f"server log: {log}\n" + "".join(l + "\n" for l in text.splitlines()[-30:]))
        sys.exit(1)
    if not args.log:
        os.unlink(log)
    print("disk-full test passed")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"FAILED: {e}")
        sys.exit(1)
