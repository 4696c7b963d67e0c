#!/usr/bin/env python3
"""Crash test for file fields (issue 17): writers upload files with multipart record
creates, replace and append files with multipart updates, and delete records, while the
server is killed with SIGKILL at random moments and started again on the same data
directory. After every restart, with nothing in flight:

- every record's file names exist as blobs on disk, whole (each file's content says
  its record, its length and its kind): no record references a missing or partial blob;
- every acknowledged create is present with its file (unless a delete of it was
  acknowledged, or was in flight at the kill), every acknowledged replace and append
  shows, and every acknowledged delete is gone;
- the store's `.tmp/` is empty (unfinished uploads are cleared when the store opens);
- blobs no record references (orphans: uploads whose record did not commit before the
  kill, deletions not yet done) are only ever under `<collection>/<record>/`.

At the end the server is stopped cleanly and started again: the deletion queue drains,
and if this build has a setting for the orphan sweep's grace period (found in
`hearth serve --help`), it is started with a 1 s grace and every orphan must be swept
away; without one the orphans are counted and the sweep step is reported as skipped.

In cycle 2, `hearth backup` runs from another process while the writers go on: every
blob its database references must be in it, whole; at the end that backup is restored
into a fresh data directory and served, and checked like the live one.

A SIGKILL keeps the OS page cache: this proves recovery after a crash of the process,
not a power cut.

    crash.py --binary target/debug/hearth [--cycles 15] [--writers 4] [--seed N]

Standard library only. Everything binds 127.0.0.1; bounded by --max-seconds.
"""
import argparse
import http.client
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in ops/lib
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

COLLECTION = "attach"


def content(kind, n, rng):
    """A file whose bytes name its record (n), its kind and its length, so that a blob
    can be checked whole without remembering it."""
    size = rng.choice([40, 900, 20_000, 150_000, 600_000])
    head = f"{kind}-{n}-{size}-".encode()
    return head + b"." * (size - len(head))


def check_content(data, kind, n):
    parts = data[:40].split(b"-")
    if len(parts) < 4 or parts[0] != kind.encode() or parts[1] != str(n).encode():
        return f"starts {data[:30]!r}, not {kind}-{n}-"
    if int(parts[2]) != len(data):
        return f"is {len(data)} bytes, written as {int(parts[2])}"
    return None


def multipart(port, method, path, token, texts, files, timeout=5):
    """One multipart/form-data request; `files` is [(field, filename, bytes)]."""
    boundary = "hearth" + uuid.uuid4().hex
    body = bytearray()
    for name, value in texts:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for name, filename, data in files:
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n").encode()
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=bytes(body), headers={
            "content-type": f"multipart/form-data; boundary={boundary}",
            "authorization": "Bearer " + token})
        resp = conn.getresponse()
        return harness.Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


class State:
    """What the server acknowledged, and what was in flight at a kill (uncertain)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.records = {}      # id -> {"n", "doc", "more": set}, acknowledged
        self.deleted = set()   # ids whose delete was acknowledged
        self.uncertain = set() # ids with a change in flight at a kill


def writer(port, token, state, stop, seed, base):
    rng = random.Random(seed)
    i = 0
    while not stop.is_set():
        i += 1
        action = rng.random()
        rid = None
        if action >= 0.55:
            # One writer at a time per record (picked and marked under one lock), so
            # the order of its acknowledgements is the order of its commits.
            with state.lock:
                live = [k for k in state.records if k not in state.uncertain]
                if live:
                    rid = rng.choice(live)
                    n = state.records[rid]["n"]
                    state.uncertain.add(rid)  # until the answer arrives
        try:
            if rid is None:
                n = base + i
                r = multipart(port, "POST", f"/api/v1/{COLLECTION}", token, [("n", n)],
                              [("doc", "doc.bin", content("doc", n, rng))])
                if r.status == 201:
                    with state.lock:
                        state.records[r.json["id"]] = {"n": n, "doc": r.json["doc"], "more": set(r.json["more"] or [])}
                continue
            if action < 0.7:
                r = multipart(port, "PATCH", f"/api/v1/{COLLECTION}/{rid}", token, [],
                              [("doc", "doc.bin", content("doc", n, rng))])
            elif action < 0.85:
                r = multipart(port, "PATCH", f"/api/v1/{COLLECTION}/{rid}", token, [],
                              [("more+", "more.bin", content("more", n, rng))])
            else:
                r = harness.request(port, "DELETE", f"/api/v1/{COLLECTION}/{rid}", token=token, timeout=5)
        except (OSError, http.client.HTTPException):
            continue  # the server died mid-request: the record stays uncertain
        # Answered: applied if it succeeded, not at all otherwise (e.g. a full list).
        with state.lock:
            if r.status == 200:
                state.records[rid]["doc"] = r.json["doc"]
                state.records[rid]["more"] = set(r.json["more"] or [])
            elif r.status == 204:
                state.records.pop(rid)
                state.deleted.add(rid)
            state.uncertain.discard(rid)


def all_records(port, token):
    records, cursor = {}, None
    while True:
        path = f"/api/v1/{COLLECTION}?limit=200&fields=id,n,doc,more" + (f"&cursor={cursor}" if cursor else "")
        r = harness.request(port, "GET", path, token=token, timeout=30)
        assert r.status == 200, r
        records.update((item["id"], item) for item in r.json["items"])
        cursor = r.json["next_cursor"]
        if not cursor:
            return records


def blobs_on_disk(root):
    """Relative paths of every file under the store's root but its dot-names."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for f in filenames:
            if not f.startswith("."):
                out.add(os.path.relpath(os.path.join(dirpath, f), root))
    return out


def check(port, token, state, data_dir, cycle):
    root = os.path.join(data_dir, "files")
    present = all_records(port, token)
    referenced = set()
    for rid, rec in present.items():
        names = ([rec["doc"]] if rec["doc"] else []) + list(rec["more"] or [])
        for name in names:
            rel = os.path.join(COLLECTION, rid, name)
            referenced.add(rel)
            path = os.path.join(root, rel)
            assert os.path.isfile(path), f"cycle {cycle}: record {rid} references missing blob {rel}"
            with open(path, "rb") as f:
                bad = check_content(f.read(), "doc" if name == rec["doc"] else "more", rec["n"])
            assert not bad, f"cycle {cycle}: blob {rel} {bad}"
    with state.lock:
        for rid, rec in state.records.items():
            if rid in state.uncertain:
                continue
            assert rid in present, f"cycle {cycle}: acknowledged record {rid} lost"
            got = present[rid]
            assert got["n"] == rec["n"] and got["doc"] == rec["doc"], f"cycle {cycle}: {rid} is {got}, acked {rec}"
            assert set(got["more"] or []) == rec["more"], f"cycle {cycle}: {rid} more {got['more']}, acked {rec['more']}"
        for rid in state.deleted:
            assert rid not in present, f"cycle {cycle}: acknowledged delete of {rid} undone"
        # What was in flight has settled one way or the other: follow the server.
        for rid in list(state.uncertain):
            if rid in present:
                got = present[rid]
                state.records[rid] = {"n": got["n"], "doc": got["doc"], "more": set(got["more"] or [])}
            else:
                state.records.pop(rid, None)
                state.deleted.add(rid)
        state.uncertain.clear()
    tmp = os.path.join(root, ".tmp")
    leftovers = os.listdir(tmp) if os.path.isdir(tmp) else []
    assert not leftovers, f"cycle {cycle}: unfinished uploads not cleared at open: {leftovers[:3]}"
    orphans = blobs_on_disk(root) - referenced
    for rel in orphans:
        parts = rel.split(os.sep)
        assert len(parts) == 3 and parts[0] == COLLECTION, f"cycle {cycle}: unexpected file {rel}"
    return len(present), len(referenced), orphans


def backup_while_writing(binary, data_dir, out):
    """`hearth backup` from another process while the writers go on, then a look at
    what it holds: every blob its database references is in its files/, whole."""
    subprocess.run([binary, "backup", out, "--data-dir", data_dir], check=True,
                   env=harness.clean_env(HEARTH_LOG="warn"), stdout=subprocess.DEVNULL)
    conn = sqlite3.connect(f"file:{os.path.join(out, 'hearth.db')}?mode=ro", uri=True)
    try:
        rows = conn.execute(f"SELECT id, n, doc, more FROM rec_{COLLECTION}").fetchall()
    finally:
        conn.close()
    blobs = 0
    for rid, n, doc, more in rows:
        names = [("doc", doc)] if doc else []
        names += [("more", m) for m in (json.loads(more) if more else [])]
        for kind, name in names:
            path = os.path.join(out, "files", COLLECTION, rid, name)
            assert os.path.isfile(path), f"backup: record {rid} references {name}, not in the backup"
            with open(path, "rb") as f:
                bad = check_content(f.read(), kind, n)
            assert not bad, f"backup: {name} {bad}"
            blobs += 1
    return len(rows), blobs


def restored_elsewhere(binary, backup, workdir):
    """`hearth restore` into a fresh data directory, served: every record's blob there."""
    fresh = os.path.join(workdir, "restored")
    os.mkdir(fresh)
    subprocess.run([binary, "restore", backup, "--data-dir", fresh], check=True,
                   env=harness.clean_env(HEARTH_LOG="warn"), stdout=subprocess.DEVNULL)
    server = harness.Server(binary, fresh, os.path.join(workdir, "restored.log")).start()
    try:
        token = harness.login(server.port)
        empty = State()
        records, files, _ = check(server.port, token, empty, fresh, "restored")
        return records, files
    finally:
        server.stop()


def pending_deletions(data_dir):
    """Rows of the deletion queue: (key, attempts, last_error)."""
    conn = sqlite3.connect(f"file:{os.path.join(data_dir, 'hearth.db')}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT key, attempts, last_error FROM file_deletions").fetchall()
    finally:
        conn.close()


def orphan_grace_flag(binary):
    """The `serve` flag that sets the orphan sweep's grace period, if this build has one."""
    out = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, env=harness.clean_env()).stdout
    found = re.findall(r"--[a-z0-9-]*(?:orphan|sweep)[a-z0-9-]*grace[a-z0-9-]*", out)
    return found[0] if found else None


def wait_for(what, predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--cycles", type=int, default=15)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--max-seconds", type=int, default=55)
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    harness.exit_on_sigterm(args.max_seconds + 30)
    rng = random.Random(args.seed)
    print(f"files crash test: {args.cycles} cycles, {args.writers} writers, seed {args.seed}")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="hearth-files-crash-") as workdir:
        data_dir = os.path.join(workdir, "data")
        os.mkdir(data_dir)
        harness.create_admin(args.binary, data_dir)
        server = harness.Server(args.binary, data_dir, os.path.join(workdir, "server.log")).start()
        try:
            run(args, rng, server, data_dir, workdir, started)
        finally:
            if server.alive():
                server.kill()
    print("files crash test passed")


def run(args, rng, server, data_dir, workdir, started):
    port = server.port
    token = harness.login(port)
    harness.create_collection(port, token, COLLECTION, [
        {"name": "n", "type": "integer", "required": True, "unique": True},
        {"name": "doc", "type": "file", "max_size": 1_000_000},
        {"name": "more", "type": "file", "max_files": 50, "max_size": 1_000_000}])
    state = State()
    for cycle in range(1, args.cycles + 1):
        if time.time() - started > args.max_seconds:
            print(f"stopping after {cycle - 1} cycles: --max-seconds reached")
            break
        stop = threading.Event()
        # Daemons: a failed check must not leave writers keeping the process alive.
        threads = [threading.Thread(target=writer, args=(port, token, state, stop, rng.random(), (cycle * 100 + w) * 1_000_000), daemon=True)
                   for w in range(args.writers)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.3, 1.5))
        if cycle == 2:
            backup = os.path.join(workdir, "backup")
            rows, blobs = backup_while_writing(server.binary, data_dir, backup)
            print(f"cycle 2: online backup under load: {rows} records, all {blobs} blobs they reference in it, whole")
        server.kill()
        stop.set()
        for t in threads:
            t.join()
        server.start()
        records, files, orphans = check(port, token, state, data_dir, cycle)
        print(f"cycle {cycle}: {records} records referencing {files} blobs, all present and whole; "
              f"{len(orphans)} unreferenced blobs; .tmp empty")
    # A clean restart: the queue drains at start; the sweep, if this build has a
    # setting for its grace period, removes every orphan.
    server.stop()
    flag = orphan_grace_flag(server.binary)
    if flag:
        server.args = [flag, "1s"]
        time.sleep(1.1)  # every orphan older than the grace period
    server.start()
    try:
        wait_for("the deletion queue drains", lambda: not pending_deletions(data_dir), 20)
    except AssertionError:
        rows = pending_deletions(data_dir)
        raise AssertionError(f"{len(rows)} deletions still queued, e.g. {rows[:3]}; log: {server.log_tail(1500)}")
    records, files, orphans = check(port, token, state, data_dir, "final")
    if flag:
        wait_for("the orphan sweep removes every unreferenced blob",
                 lambda: not check(port, token, state, data_dir, "sweep")[2], 20)
        print(f"final: {records} records, {files} blobs, queue drained, {len(orphans)} orphans swept ({flag} 1s)")
    else:
        print(f"final: {records} records, {files} blobs, queue drained; {len(orphans)} orphans left "
              "(SKIP sweep: this build has no orphan grace setting)")
    server.stop()
    backup = os.path.join(workdir, "backup")
    if os.path.isdir(backup):
        records, files = restored_elsewhere(server.binary, backup, workdir)
        print(f"restore of the cycle-2 backup into a fresh directory: {records} records, {files} blobs, all present and whole")


if __name__ == "__main__":
    sys.exit(main())
