#!/usr/bin/env python3
"""Litestream test: Hearth serves a temporary data directory while `litestream replicate`
(configured by ops/litestream.yml, with its two paths pointed at temporary directories)
copies the database to a local file replica. Writers create records and log every
acknowledged id; then the writers stop, the test waits (bounded) until the replica holds
the database's latest transaction, stops Hearth and Litestream, restores the replica
into a fresh directory with `litestream restore`, and checks that PRAGMA integrity_check
is ok, that every acknowledged record is there, and that Hearth serves the restored
database.

    test.py --binary target/debug/hearth --litestream .venv/ops-litestream/bin/litestream

Standard library only; everything on 127.0.0.1; bounded by --seconds and fixed timeouts.
"""
import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in ops/lib
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

DB_IN_CONFIG = "/var/lib/hearth/hearth.db"
REPLICA_IN_CONFIG = "path: /var/lib/hearth-replica"
COLLECTION = "replicated"


def config_for(template, db_path, replica_dir):
    """ops/litestream.yml with its database and replica paths replaced; fails if the
    file no longer has them, so the test always runs the shipped configuration."""
    with open(template) as f:
        text = f.read()
    for needle in (DB_IN_CONFIG, REPLICA_IN_CONFIG):
        if text.count(needle) != 1:
            raise SystemExit(f"{template}: expected exactly one {needle!r}; update ops/litestream/test.py with it")
    return text.replace(DB_IN_CONFIG, db_path).replace(REPLICA_IN_CONFIG, "path: " + replica_dir)


def litestream_json(litestream, *args):
    out = subprocess.run([litestream, *args], check=True, capture_output=True, timeout=30).stdout
    return json.loads(out or b"null") or []


def local_txid(litestream, config, db):
    """The last transaction Litestream has read from the WAL (its local L0 files)."""
    status = litestream_json(litestream, "status", "-config", config, "-json", db)
    txid = status[0]["local_txid"] if status else "-"
    return int(txid, 16) if txid not in ("-", "") else 0


def replica_txid(litestream, config, db):
    """The last transaction present in the replica, over every level."""
    files = litestream_json(litestream, "ltx", "-config", config, "-json", "-level", "all", db)
    return max((int(f["max_txid"], 16) for f in files), default=0)


def writer(port, token, stop, acked, lock, log, w, errors):
    """Creates records until `stop`; logs each acknowledged id. Any failure is recorded
    in `errors` (the server should never refuse or drop a write here) and ends it."""
    i = 0
    while not stop.is_set():
        i += 1
        n = w * 10_000_000 + i
        try:
            r = harness.request(port, "POST", f"/api/v1/{COLLECTION}", {"n": n, "note": "r" * 200}, token, timeout=10)
            if r.status != 201:
                raise RuntimeError(f"create answered {r}")
            rid = r.json["id"]
        except Exception as e:  # noqa: BLE001 - every failure fails the test
            errors.append(f"writer {w}, n={n}: {e!r}")
            return
        with lock:
            acked[rid] = n
            log.write(f"{rid} {n}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--litestream", required=True)
    ap.add_argument("--config", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "litestream.yml"))
    ap.add_argument("--seconds", type=float, default=15, help="how long the writers write")
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--catch-up-timeout", type=float, default=30)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    harness.exit_on_sigterm(limit=args.seconds + args.catch_up_timeout + 75)
    litestream = os.path.abspath(args.litestream)
    tmp = tempfile.mkdtemp(prefix="hearth-litestream-")
    data, replica, restored_dir = (os.path.join(tmp, d) for d in ("data", "replica", "restored"))
    os.makedirs(data)
    db = os.path.join(data, "hearth.db")
    config = os.path.join(tmp, "litestream.yml")
    with open(config, "w") as f:
        f.write(config_for(args.config, db, replica))
    server, ls = None, None
    ok = False
    try:
        harness.create_admin(args.binary, data)
        server = harness.Server(args.binary, data, os.path.join(tmp, "hearth.log")).start()
        ls_log = open(os.path.join(tmp, "litestream.log"), "ab")
        ls = subprocess.Popen([litestream, "replicate", "-config", config], stdin=subprocess.DEVNULL,
                              stdout=ls_log, stderr=ls_log, cwd=tmp)
        token = harness.login(server.port)
        harness.create_collection(server.port, token, COLLECTION, [
            {"name": "n", "type": "integer", "required": True, "unique": True},
            {"name": "note", "type": "text"}])

        acked, lock, stop, writer_errors = {}, threading.Lock(), threading.Event(), []
        with open(os.path.join(tmp, "acked.log"), "w") as log:
            threads = [threading.Thread(target=writer, args=(server.port, token, stop, acked, lock, log, w, writer_errors),
                                        daemon=True)
                       for w in range(1, args.writers + 1)]
            started = time.time()
            for t in threads:
                t.start()
            wal, wal_peak = db + "-wal", 0
            while time.time() - started < args.seconds:
                time.sleep(0.25)
                try:
                    wal_peak = max(wal_peak, os.path.getsize(wal))
                except OSError:
                    pass
            stop.set()
            for t in threads:
                t.join(timeout=30)
            wrote = time.time() - started
        if ls.poll() is not None:
            raise SystemExit(f"litestream exited with {ls.returncode} during the writes; see {tmp}/litestream.log")
        if writer_errors:
            raise SystemExit(f"{len(writer_errors)} writes failed while Hearth and Litestream ran: {writer_errors[:3]}")
        print(f"wrote {len(acked)} acknowledged records in {wrote:.1f} s with {args.writers} writers; "
              f"largest -wal file seen: {wal_peak / 2**20:.1f} MiB")

        # Catch-up: Litestream reads the WAL every monitor-interval (1 s) and ships to the
        # replica every sync-interval (1 s). Wait until its local position has been still
        # for two seconds and the replica holds that position.
        t0, last, still_since = time.time(), None, time.time()
        while True:
            local = local_txid(litestream, config, db)
            remote = replica_txid(litestream, config, db)
            if local != last:
                last, still_since = local, time.time()
            if local and remote >= local and time.time() - still_since >= 2:
                break
            if time.time() - t0 > args.catch_up_timeout:
                raise SystemExit(f"replica did not catch up within {args.catch_up_timeout:.0f} s: "
                                 f"local txid {local:#x}, replica txid {remote:#x}")
            time.sleep(0.25)
        print(f"replica caught up {time.time() - t0:.1f} s after the writers stopped (txid {remote:#x})")

        code, took = server.stop()
        print(f"hearth stopped: exit {code} after {took:.1f} s")
        if code != 0:
            raise SystemExit(f"hearth exited with {code}: {server.log_tail()}")
        ls_started = time.time()
        ls.send_signal(signal.SIGTERM)
        ls_code = ls.wait(timeout=60)
        print(f"litestream stopped: exit {ls_code} after {time.time() - ls_started:.1f} s")
        if ls_code != 0:
            raise SystemExit(f"litestream exited with {ls_code}; see {tmp}/litestream.log")
        with open(os.path.join(tmp, "litestream.log"), errors="replace") as f:
            ls_text = f.read()
        errors = [line for line in ls_text.splitlines() if "level=ERROR" in line]
        resnapshots = ls_text.count("wal truncated by another process") + ls_text.count("salt reset")
        print(f"litestream log: {len(errors)} errors, {resnapshots} re-snapshots forced by outside checkpoints")
        if errors:
            raise SystemExit("litestream logged errors:\n" + "\n".join(errors[:10]))

        # Restore into a directory that has never held the database.
        os.makedirs(restored_dir)
        restored = os.path.join(restored_dir, "hearth.db")
        t0 = time.time()
        subprocess.run([litestream, "restore", "-config", config, "-o", restored, db], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        print(f"litestream restore: {os.path.getsize(restored)} bytes in {time.time() - t0:.1f} s")
        conn = sqlite3.connect(restored)
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise SystemExit(f"restored database: integrity_check says {check}")
        rows = dict(conn.execute(f"SELECT id, n FROM rec_{COLLECTION}").fetchall())
        conn.close()
        missing = [i for i in acked if i not in rows]
        wrong = [i for i in acked if i in rows and rows[i] != acked[i]]
        if missing or wrong:
            raise SystemExit(f"restored database lacks {len(missing)} of {len(acked)} acknowledged records "
                             f"(e.g. {missing[:3]}) and has {len(wrong)} with other values")
        print(f"restored database: integrity_check ok; all {len(acked)} acknowledged records present "
              f"({len(rows)} rows)")

        # The operator's last step (README "Backups"): `hearth restore` makes the restored
        # file the database of a data directory, and Hearth serves it.
        fresh = os.path.join(tmp, "fresh")
        r = subprocess.run([os.path.abspath(args.binary), "restore", restored, "--data-dir", fresh],
                           env=harness.clean_env(HEARTH_LOG="warn"), capture_output=True, timeout=60)
        if r.returncode != 0:
            raise SystemExit(f"hearth restore exited with {r.returncode}: {r.stderr.decode(errors='replace')}")
        server = harness.Server(args.binary, fresh, os.path.join(tmp, "hearth-restored.log")).start()
        token = harness.login(server.port)
        sample = list(acked)[:: max(1, len(acked) // 20)]
        for rid in sample:
            r = harness.request(server.port, "GET", f"/api/v1/{COLLECTION}/{rid}", token=token)
            if r.status != 200 or r.json["n"] != acked[rid]:
                raise SystemExit(f"restored server: GET {rid} answered {r}")
        code, _ = server.stop()
        if code != 0:
            raise SystemExit(f"restored server exited with {code}")
        print(f"hearth restore + serve: {len(sample)} records read back through the API")
        ok = True
    finally:
        for proc in (server.proc if server else None, ls):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        if ok and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"files kept in {tmp}")
    print("litestream test passed")


if __name__ == "__main__":
    sys.exit(main())
