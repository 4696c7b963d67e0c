#!/usr/bin/env python3
"""Prepare a freshly started Hearth for the records benchmark (used by hearth_setup.sh).

- logs in as the admin,
- creates the collection `posts` (title, body, views indexed, published; every rule
  public), the same shape as ../shared/peer-bench gives PocketBase,
- seeds SEED_COUNT records with concurrent POSTs over keep-alive connections (Hearth has
  no batch endpoint),
- writes the ids of the oldest SEED_COUNT records, one a line, to IDS_FILE (listing with
  limit=200 and next_cursor).

Standard library only. Configuration from the environment: HEARTH_URL, ADMIN_EMAIL,
ADMIN_PASSWORD, SEED_COUNT [10000], SEED_CONNS [8], IDS_FILE.
"""

import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse

BASE = os.environ["HEARTH_URL"].rstrip("/")
EMAIL = os.environ["ADMIN_EMAIL"]
PASSWORD = os.environ["ADMIN_PASSWORD"]
SEED_COUNT = int(os.environ.get("SEED_COUNT", "10000"))
SEED_CONNS = int(os.environ.get("SEED_CONNS", "8"))
IDS_FILE = os.environ["IDS_FILE"]

URL = urllib.parse.urlsplit(BASE)
if URL.hostname not in ("127.0.0.1", "localhost", "::1") and not (URL.hostname or "").startswith("127."):
    sys.exit(f"hearth_seed: refusing a non-loopback URL {BASE}")

COLLECTION = {
    "name": "posts",
    "description": "Benchmark posts (ops/bench)",
    "fields": [
        {"name": "title", "type": "text", "required": True, "max_length": 200},
        {"name": "body", "type": "text"},
        {"name": "views", "type": "integer", "min": 0, "indexed": True},
        {"name": "published", "type": "boolean"},
    ],
    "rules": {a: ["public"] for a in ("list", "view", "create", "update", "delete")},
}


def connect():
    return http.client.HTTPConnection(URL.hostname, URL.port or 80, timeout=60)


def call(conn, method, path, body=None, token=None):
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return resp.status, parsed


def must(res, what, ok=(200, 201, 204)):
    status, body = res
    if status not in ok:
        sys.exit(f"hearth_seed: {what} failed: HTTP {status}: {body}")
    return body


def record(i, rng):
    # The same records pb_seed.py gives PocketBase.
    return {
        "title": f"Post number {i}",
        "body": f"Body of post {i}. Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
        "views": rng.randrange(10000),
        "published": i % 2 == 0,
    }


def seed(total):
    """POST records total..SEED_COUNT-1 from SEED_CONNS threads, one connection each."""
    rng = random.Random(total + 42)
    bodies = [record(i, rng) for i in range(total, SEED_COUNT)]
    lock = threading.Lock()
    state = {"next": 0, "failed": None}

    def worker():
        conn = connect()
        while True:
            with lock:
                if state["failed"] or state["next"] >= len(bodies):
                    break
                n = state["next"]
                state["next"] += 1
            try:
                status, body = call(conn, "POST", "/api/v1/posts", bodies[n])
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = connect()
                status, body = call(conn, "POST", "/api/v1/posts", bodies[n])
            if status != 201:
                with lock:
                    state["failed"] = f"HTTP {status}: {body}"
                break
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(SEED_CONNS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if state["failed"]:
        sys.exit(f"hearth_seed: create record failed: {state['failed']}")
    dt = time.monotonic() - t0
    print(f"hearth_seed: seeded {len(bodies)} records in {dt:.1f} s ({len(bodies) / dt:.0f}/s, {SEED_CONNS} connections)")


def main():
    conn = connect()
    login = must(call(conn, "POST", "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD}), "login")
    token = login["access_token"]

    status, existing = call(conn, "GET", "/api/v1/collections/posts", token=token)
    if status == 404:
        must(call(conn, "POST", "/api/v1/collections", COLLECTION, token), "create collection")
        print("hearth_seed: created collection posts")
    elif status == 200:
        print("hearth_seed: collection posts exists")
    else:
        sys.exit(f"hearth_seed: GET collection failed: HTTP {status}: {existing}")

    total = must(call(conn, "GET", "/api/v1/posts?limit=1&fields=id&count=true"), "count")["total"]
    if total < SEED_COUNT:
        seed(total)
    else:
        print(f"hearth_seed: {total} records present, nothing to seed")

    # The oldest SEED_COUNT ids, by keyset pages of 200.
    ids = []
    path = "/api/v1/posts?limit=200&sort=created_at&fields=id"
    cursor = None
    while len(ids) < SEED_COUNT:
        p = path if cursor is None else f"{path}&cursor={urllib.parse.quote(cursor, safe='')}"
        page = must(call(conn, "GET", p), "list ids")
        ids.extend(it["id"] for it in page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    ids = ids[:SEED_COUNT]
    if len(ids) < SEED_COUNT:
        sys.exit(f"hearth_seed: listed only {len(ids)} ids, expected {SEED_COUNT}")
    if len(set(ids)) != len(ids):
        sys.exit("hearth_seed: the id listing returned duplicates (cursor pagination bug?)")
    with open(IDS_FILE, "w") as f:
        f.write("\n".join(ids) + "\n")
    print(f"hearth_seed: wrote {len(ids)} ids to {IDS_FILE}")
    conn.close()


if __name__ == "__main__":
    main()
