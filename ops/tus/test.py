#!/usr/bin/env python3
"""tus uploads with a real third-party client (tuspy), against a real `hearth serve` on
127.0.0.1 (issue 17; the behaviour is docs/API.md section 10).

1. Client killed: tuspy uploads an 8 MiB file in 256 KiB chunks, remembering its upload
   URL in a file (tuspy's url_storage), and is SIGKILLed a few milliseconds after 3 MiB
   are acknowledged, usually inside the next PATCH. The server's offset (HEAD) is at
   least what was acknowledged (more when it kept part of the cut-off PATCH).
2. Server killed: a new tuspy process resumes from the remembered URL (tuspy asks the
   server for the offset); the server is SIGKILLed once 6 MiB are acknowledged, then
   started again on the same data directory and port. Every acknowledged byte is still
   there: HEAD reports at least the last acknowledged offset.
3. tuspy resumes once more and finishes. The staged file and the SHA-256 the server
   recorded equal the source's.
4. Checksums: a 2 MiB file in 128 KiB chunks, each PATCH with `Upload-Checksum: sha256`
   (tuspy's upload_checksum, with sha256 instead of its default sha1), arrives whole.

    test.py --binary target/debug/hearth [--seed 17] [--max-seconds 180]

Everything binds 127.0.0.1; bounded by --max-seconds.
"""
import argparse
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in ops/
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "lib"))
import harness  # noqa: E402

MiB = 1024 * 1024
COLLECTION = "tus_files"
FIELDS = [{"name": "title", "type": "text"},
          {"name": "attachment", "type": "file", "max_size": 64 * MiB}]


def run_client(args):
    """The client process: upload (or resume) `args.file`, printing `offset N` after
    every acknowledged chunk."""
    from tusclient import client as tus_client
    from tusclient.storage.filestorage import FileStorage
    from tusclient.uploader import Uploader

    class Sha256Uploader(Uploader):
        CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)

    tus = tus_client.TusClient(args.url, headers={"Authorization": "Bearer " + args.token})
    uploader = Sha256Uploader(
        client=tus, file_path=args.file, chunk_size=args.chunk,
        metadata={"collection": COLLECTION, "field": "attachment", "filename": os.path.basename(args.file)},
        store_url=True, url_storage=FileStorage(args.storage), upload_checksum=args.checksum)
    print("start", uploader.offset, flush=True)
    size = uploader.get_file_size()
    while uploader.offset < size:
        uploader.upload_chunk()
        print("offset", uploader.offset, uploader.url, flush=True)
    print("done", uploader.url, flush=True)


class Client:
    """A tuspy process; `acked` is the last offset it reported as acknowledged."""

    def __init__(self, url, token, path, storage, chunk, checksum=False):
        cmd = [sys.executable, __file__, "--client", "--url", url, "--token", token, "--file", path,
               "--storage", storage, "--chunk", str(chunk)]
        if checksum:
            cmd.append("--checksum")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.acked, self.started_at, self.url, self.done = 0, None, None, False

    def follow(self, until=None):
        """Reads its lines until it reports `until` bytes acknowledged (then returns
        True) or exits (False)."""
        for line in self.proc.stdout:
            word, *rest = line.split()
            if word == "start":
                self.started_at = int(rest[0])
            elif word == "offset":
                self.acked, self.url = int(rest[0]), rest[1]
                if until is not None and self.acked >= until:
                    return True
            elif word == "done":
                self.url, self.done = rest[0], True
        self.proc.wait()
        return False

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stderr(self):
        return self.proc.stderr.read()[-2000:]


def head_offset(port, token, upload_url):
    path = upload_url.split(f":{port}", 1)[1]
    r = harness.request(port, "HEAD", path, token=token, headers={"tus-resumable": "1.0.0"})
    assert r.status == 200, f"HEAD {path}: {r}"
    assert r.headers.get("tus-resumable") == "1.0.0", r.headers
    return int(r.headers["upload-offset"])


def staged_sha256(data_dir, upload_url):
    upload_id = upload_url.rstrip("/").rsplit("/", 1)[1]
    with open(os.path.join(data_dir, "uploads", upload_id), "rb") as f:
        staged = hashlib.sha256(f.read()).hexdigest()
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'hearth.db')}?mode=ro", uri=True)
    try:
        (recorded,) = db.execute("SELECT sha256 FROM uploads WHERE id = ?", (upload_id,)).fetchone()
    finally:
        db.close()
    return staged, recorded


def write_source(path, size, seed):
    with open(path, "wb") as f:
        f.write(random.Random(seed).randbytes(size))
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def start(binary, data_dir, port=None):
    server = harness.Server(binary, data_dir, os.path.join(data_dir, "server.log"))
    if port:
        server.port = port  # the client remembers absolute URLs
    return server.start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary")
    parser.add_argument("--max-seconds", type=int, default=180)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--client", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--file")
    parser.add_argument("--storage")
    parser.add_argument("--chunk", type=int)
    parser.add_argument("--checksum", action="store_true")
    args = parser.parse_args()
    if args.client:
        return run_client(args)

    harness.exit_on_sigterm(args.max_seconds)
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="hearth-tus-")
    data_dir = os.path.join(work, "data")
    os.makedirs(data_dir)
    harness.create_admin(args.binary, data_dir)
    server = start(args.binary, data_dir)
    clients = []
    try:
        token = harness.login(server.port)
        harness.create_collection(server.port, token, COLLECTION, FIELDS)
        base = f"http://127.0.0.1:{server.port}/api/v1/uploads"
        source = os.path.join(work, "report.bin")
        want = write_source(source, 8 * MiB, seed=17)
        storage = os.path.join(work, "tus-urls.json")

        # 1. The client is killed midway.
        c = Client(base, token, source, storage, 256 * 1024)
        clients.append(c)
        assert c.follow(until=3 * MiB), f"the client stopped early: {c.stderr()}"
        # A moment later, so that the kill usually lands inside the next PATCH (whose
        # bytes so far the server keeps: the offset may pass what was acknowledged).
        time.sleep(rng.uniform(0.002, 0.02))
        c.kill()
        acked = c.acked
        offset = head_offset(server.port, token, c.url)
        assert acked <= offset < 8 * MiB, f"acknowledged {acked}, server has {offset}"
        print(f"--- 1. client killed at {acked} acknowledged bytes; the server has {offset}")

        # 2. It resumes; the server is killed midway and restarted.
        c = Client(base, token, source, storage, 256 * 1024)
        clients.append(c)
        assert c.follow(until=6 * MiB), f"the resumed client stopped early: {c.stderr()}"
        assert c.started_at == offset, f"tuspy resumed at {c.started_at}, not {offset}"
        port = server.port
        time.sleep(rng.uniform(0.002, 0.02))
        server.kill()
        c.follow()  # it fails once the server is gone
        acked, url = c.acked, c.url
        server = start(args.binary, data_dir, port)
        offset = head_offset(server.port, token, url)
        assert acked <= offset <= 8 * MiB, f"acknowledged {acked} before the crash, the server has {offset}"
        print(f"--- 2. server SIGKILLed at {acked} acknowledged bytes; after the restart it has {offset}")

        # 3. The upload finishes, and its bytes are the source's.
        c = Client(base, token, source, storage, 256 * 1024)
        clients.append(c)
        c.follow()
        assert c.done, f"the final client failed: {c.stderr()}"
        assert c.started_at == offset, f"tuspy resumed at {c.started_at}, not {offset}"
        assert head_offset(server.port, token, c.url) == 8 * MiB
        staged, recorded = staged_sha256(data_dir, c.url)
        assert staged == want and recorded == want, f"source {want}, staged {staged}, recorded {recorded}"
        print(f"--- 3. finished; staged and recorded SHA-256 equal the source's ({want[:16]}…)")

        # 4. Every chunk with its sha256 checksum.
        source = os.path.join(work, "checked.bin")
        want = write_source(source, 2 * MiB, seed=18)
        c = Client(base, token, source, os.path.join(work, "tus-urls-2.json"), 128 * 1024, checksum=True)
        clients.append(c)
        c.follow()
        assert c.done, f"the checksum client failed: {c.stderr()}"
        staged, recorded = staged_sha256(data_dir, c.url)
        assert staged == want and recorded == want, f"source {want}, staged {staged}, recorded {recorded}"
        print("--- 4. 16 chunks with Upload-Checksum: sha256 arrived whole")
        print("4 passed, 0 failed")
    except BaseException:
        print("server log:\n" + server.log_tail(), file=sys.stderr)
        raise
    finally:
        for c in clients:
            if c.proc.poll() is None:
                c.kill()
        server.stop()


if __name__ == "__main__":
    main()
