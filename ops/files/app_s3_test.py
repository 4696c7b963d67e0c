#!/usr/bin/env python3
"""File fields on S3, end to end through a real `hearth serve` (issue 17): the server is
configured with `files_backend = "s3"` (hearth.toml, the secret key from a file named by
HEARTH_S3_SECRET_ACCESS_KEY_FILE) against a real moto_server on 127.0.0.1, and the bucket
is checked from outside with boto3.

1. A multipart create stores the file as the object `<collection>/<id>/<stored name>`,
   byte for byte (a 6 MiB file too, which goes up as an S3 multipart upload).
2. A multipart PATCH that replaces the file: the new object is there, and the deletion
   worker removes the old one after the commit.
3. DELETE of the record: every object under its folder goes.
4. `/readyz` says `"files": "ok"`; `/metrics` counts the bytes uploaded.
5. moto stopped: an upload answers 503 `unavailable` (problem+json, Retry-After) within
   seconds and writes no record; a write without files still succeeds, and `/readyz`
   stays 200 with `"files": "unavailable"` (docs/API.md, section 1).

    app_s3_test.py --binary target/debug/hearth --moto .venv/files/bin/moto_server

Everything binds 127.0.0.1; bounded by --max-seconds (default 180).
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time

import boto3
import requests
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

sys.dont_write_bytecode = True  # no __pycache__ in ops/
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "lib"))
import harness  # noqa: E402

BUCKET = "hearth-e2e"
COLLECTION = "reports"
FIELDS = [
    {"name": "title", "type": "text"},
    {"name": "attachment", "type": "file", "max_size": 8 * 1024 * 1024},
]


class Moto:
    """moto_server on 127.0.0.1 and a free port, its log in `log_path`."""

    def __init__(self, binary, log_path):
        self.binary, self.log_path, self.port, self.proc = binary, log_path, harness.free_port(), None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}")
            try:
                requests.get(self.url, timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not answer within 30 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def s3_client(url):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def object_bytes(s3, key):
    """The object's bytes, or None when there is none."""
    try:
        return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except ClientError as e:
        if e.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


def keys_under(s3, prefix):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def wait_until(what, check, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s")


class Api:
    def __init__(self, port, token):
        self.base, self.headers = f"http://127.0.0.1:{port}", {"authorization": f"Bearer {token}"}

    def send(self, method, path, timeout=60, **kwargs):
        return requests.request(method, self.base + path, headers=self.headers, timeout=timeout, **kwargs)

    def upload(self, method, path, title, name, content):
        return self.send(method, path, data={"title": title},
                         files={"attachment": (name, content, "application/octet-stream")})

    def count(self):
        r = self.send("GET", f"/api/v1/{COLLECTION}?limit=100")
        assert r.status_code == 200, r.text
        return len(r.json()["items"])


def metric(text, series):
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def run(binary, moto_binary, work):
    moto = Moto(moto_binary, os.path.join(work, "moto.log")).start()
    server = None
    try:
        s3 = s3_client(moto.url)
        s3.create_bucket(Bucket=BUCKET)
        secret = os.path.join(work, "s3-secret")
        with open(secret, "w") as f:
            f.write("testing\n")
        config = os.path.join(work, "hearth.toml")
        with open(config, "w") as f:
            f.write(f'files_backend = "s3"\ns3_endpoint = "{moto.url}"\ns3_bucket = "{BUCKET}"\n'
                    's3_region = "us-east-1"\ns3_access_key_id = "testing"\ns3_path_style = true\n')
        data_dir = os.path.join(work, "data")
        os.makedirs(data_dir)
        harness.create_admin(binary, data_dir)
        env = harness.clean_env(HEARTH_CONFIG=config, HEARTH_S3_SECRET_ACCESS_KEY_FILE=secret,
                                HEARTH_LOG="info", HEARTH_RATE_LIMIT_PER_SECOND="0")
        server = harness.Server(binary, data_dir, os.path.join(work, "server.log"), env=env).start()
        api = Api(server.port, harness.login(server.port))
        r = api.send("POST", "/api/v1/collections", json={"name": COLLECTION, "fields": FIELDS})
        assert r.status_code == 201, r.text

        # 1. Create: the object is the file, byte for byte (small, then 6 MiB).
        small, large = os.urandom(300 * 1024), os.urandom(6 * 1024 * 1024)
        r = api.upload("POST", f"/api/v1/{COLLECTION}", "report", "Q3 report.pdf", small)
        assert r.status_code == 201, r.text
        record = r.json()
        rid, first = record["id"], record["attachment"]
        key = f"{COLLECTION}/{rid}/{first}"
        got = object_bytes(s3, key)
        assert got is not None, f"no object {key}; bucket: {keys_under(s3, '')}"
        assert hashlib.sha256(got).digest() == hashlib.sha256(small).digest(), "the object differs from the upload"
        print(f"create: {len(small)} bytes stored as s3://{BUCKET}/{key}")

        # 2. Replace: the new object, and the old one deleted after the commit.
        r = api.upload("PATCH", f"/api/v1/{COLLECTION}/{rid}", "report v2", "Q3 report v2.bin", large)
        assert r.status_code == 200, r.text
        second = r.json()["attachment"]
        assert second != first
        new_key = f"{COLLECTION}/{rid}/{second}"
        assert object_bytes(s3, new_key) == large, "the replacement differs from the upload"
        wait_until(f"the replaced object {key} is deleted", lambda: object_bytes(s3, key) is None)
        assert keys_under(s3, f"{COLLECTION}/{rid}/") == [new_key]
        print(f"replace: {len(large)} bytes as {new_key}; the old object deleted by the queue")

        # 4. Readiness and metrics.
        r = api.send("GET", "/readyz")
        assert r.status_code == 200 and r.json() == {"status": "ready", "files": "ok"}, r.text
        text = api.send("GET", "/metrics").text
        uploaded = metric(text, "hearth_files_upload_bytes_total")
        assert uploaded is not None and uploaded >= len(small) + len(large), f"upload bytes {uploaded}"
        assert metric(text, "hearth_files_uploads_in_progress") == 0

        # 3. Delete: the record's folder empties.
        r = api.send("DELETE", f"/api/v1/{COLLECTION}/{rid}")
        assert r.status_code == 204, r.text
        wait_until("the deleted record's objects are gone", lambda: not keys_under(s3, f"{COLLECTION}/{rid}/"))
        print("delete: every object of the record removed")

        r = api.upload("POST", f"/api/v1/{COLLECTION}", "kept", "kept.txt", b"kept while S3 is down")
        assert r.status_code == 201, r.text
        kept = r.json()
        before = api.count()

        # 5. S3 down: 503, no record; writes without files go on; still ready.
        moto.stop()
        started = time.time()
        r = api.upload("POST", f"/api/v1/{COLLECTION}", "lost", "lost.txt", os.urandom(64 * 1024))
        took = time.time() - started
        assert r.status_code == 503, f"{r.status_code} {r.text}"
        assert r.headers["content-type"] == "application/problem+json", r.headers
        assert r.json()["code"] == "unavailable", r.text
        assert "retry-after" in r.headers, r.headers
        assert took < 60, f"the 503 took {took:.1f} s"
        assert api.count() == before, "a record was written although its file was not stored"
        r = api.upload("PATCH", f"/api/v1/{COLLECTION}/{kept['id']}", "changed", "new.txt", b"new")
        assert r.status_code == 503, f"{r.status_code} {r.text}"
        r = api.send("GET", f"/api/v1/{COLLECTION}/{kept['id']}")
        assert r.json()["title"] == "kept" and r.json()["attachment"] == kept["attachment"], r.text
        r = api.send("POST", f"/api/v1/{COLLECTION}", json={"title": "no file needed"})
        assert r.status_code == 201, r.text
        # The store is probed at most every 10 s: the "ok" of a moment ago may stand a bit.
        def ready_without_files():
            r = api.send("GET", "/readyz")
            assert r.status_code == 200, r.text
            return r.json() == {"status": "ready", "files": "unavailable"}
        wait_until("/readyz reports the file store unavailable", ready_without_files)
        print(f"S3 down: uploads answer 503 unavailable in {took:.1f} s and write nothing; "
              "other writes succeed; /readyz 200 with files unavailable")

        code, _ = server.stop()
        assert code == 0, f"hearth exited with {code}: {server.log_tail()}"
        server = None
    finally:
        if server is not None:
            print("--- server log (tail):\n" + server.log_tail(), file=sys.stderr)
            if server.alive():
                server.kill()
        moto.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--moto", required=True, help="the moto_server executable")
    parser.add_argument("--max-seconds", type=int, default=180)
    args = parser.parse_args()
    harness.exit_on_sigterm(args.max_seconds)
    with tempfile.TemporaryDirectory(prefix="hearth-files-s3-") as work:
        run(args.binary, args.moto, work)
    print("files on S3 through the app: all checks passed")


if __name__ == "__main__":
    main()
