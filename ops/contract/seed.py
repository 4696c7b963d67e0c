"""Seeds a fresh Hearth server for the contract test (ops/contract/run.sh).

Logs in as the admin, creates two collections that between them use every field type
and option (API.md 2.2), seeds a few records, then prints COUNT personal tokens of the
admin (scopes read, write, admin), one a line: each schemathesis run gets its own, as
some runs revoke theirs (logging out with a personal token revokes it). Then one
session access token, for the run of the personal-token routes (only an interactive
login may create or revoke personal tokens).
Standard library only, so it runs before anything else is installed.

usage: seed.py BASE_URL EMAIL COUNT   (the password comes on stdin)
"""

import json
import sys
import urllib.error
import urllib.request

# Public on every action, so anonymous requests reach the handlers too.
AUTHORS = {
    "name": "contract_authors",
    "description": "Authors (contract test): every field type, public rules",
    "fields": [
        {"name": "name", "type": "text", "required": True, "min_length": 1,
         "max_length": 80, "pattern": "^[A-Za-z][A-Za-z .'-]*$",
         "description": "Display name"},
        {"name": "handle", "type": "text", "unique": True, "max_length": 32,
         "pattern": "^[a-z0-9_]+$"},
        {"name": "email", "type": "email", "unique": True},
        {"name": "website", "type": "url"},
        {"name": "age", "type": "integer", "min": 0, "max": 150, "indexed": True},
        {"name": "rating", "type": "number", "min": 0, "max": 5, "default": 2.5},
        {"name": "active", "type": "boolean", "required": True, "default": True},
        {"name": "born", "type": "date"},
        {"name": "last_seen", "type": "datetime", "indexed": True},
        {"name": "tier", "type": "enum", "values": ["free", "pro"], "default": "free"},
        {"name": "profile", "type": "json", "max_bytes": 512},
    ],
    "rules": {a: ["public"] for a in ("list", "view", "create", "update", "delete")},
}

# Signed-in callers only; owners (and admins) change records.
POSTS = {
    "name": "contract_posts",
    "description": "Posts (contract test): every field type, authenticated rules",
    "fields": [
        {"name": "title", "type": "text", "required": True, "min_length": 1,
         "max_length": 200},
        {"name": "slug", "type": "text", "unique": True, "min_length": 3,
         "pattern": "^[a-z0-9-]+$"},
        {"name": "sku", "type": "text", "unique": True, "pattern": "^[A-Z]{2}-\\d{3}\\b"},
        {"name": "views", "type": "integer", "min": 0, "default": 0, "indexed": True},
        {"name": "score", "type": "number", "min": -1000.5, "max": 1000.5},
        {"name": "published", "type": "boolean", "default": False},
        {"name": "published_at", "type": "datetime"},
        {"name": "publish_on", "type": "date", "indexed": True},
        {"name": "contact", "type": "email"},
        {"name": "link", "type": "url", "unique": True},
        {"name": "status", "type": "enum", "values": ["draft", "published", "archived"],
         "required": True, "default": "draft", "indexed": True},
        {"name": "meta", "type": "json", "max_bytes": 1024},
        {"name": "author", "type": "relation", "collection": "contract_authors",
         "on_delete": "set_null", "indexed": True},
        {"name": "editor", "type": "relation", "collection": "contract_authors",
         "on_delete": "restrict"},
    ],
    "rules": {
        "list": ["authenticated"],
        "view": ["authenticated"],
        "create": ["authenticated"],
        "update": ["owner", "role:editor"],
        "delete": ["owner"],
    },
}


def call(base, method, path, body=None, token=None, expect=(200,)):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    if status not in expect:
        sys.exit(f"seed: {method} {path} answered {status}, expected {expect}: {text}")
    return json.loads(text) if text else None


def main():
    base, email, count = sys.argv[1].rstrip("/"), sys.argv[2], int(sys.argv[3])
    password = sys.stdin.readline().rstrip("\n")
    login = call(base, "POST", "/api/v1/auth/login", {"email": email, "password": password})
    token = login["access_token"]
    for definition in (AUTHORS, POSTS):
        call(base, "POST", "/api/v1/collections", definition, token, expect=(201,))

    authors = [
        call(base, "POST", "/api/v1/contract_authors", body, token, expect=(201,))
        for body in (
            {"name": "Ada Lovelace", "handle": "ada", "email": "ada@example.org",
             "website": "https://example.org/ada", "age": 36, "rating": 4.9,
             "born": "1815-12-10", "last_seen": "1852-11-27T12:00:00Z", "tier": "pro",
             "profile": {"languages": ["en", "fr"], "notes": None}},
            {"name": "Grace Hopper", "handle": "grace", "age": 85, "active": False},
            {"name": "Anonymous"},
        )
    ]
    # One anonymous create, so `owner: null` appears in responses.
    call(base, "POST", "/api/v1/contract_authors", {"name": "Nobody"}, expect=(201,))
    for i, author in enumerate(authors):
        call(base, "POST", "/api/v1/contract_posts", {
            "title": f"Post {i}", "slug": f"post-{i}", "sku": f"AB-00{i}", "views": i * 10,
            "score": i / 3,
            "published": i % 2 == 0, "published_at": "2026-11-24T16:20:01.123Z",
            "publish_on": "2026-11-24", "contact": f"p{i}@example.org",
            "link": f"https://example.org/p/{i}", "status": "published",
            "meta": {"tags": ["a", i], "draft": False}, "author": author["id"],
            "editor": authors[0]["id"],
        }, token, expect=(201,))
    call(base, "POST", "/api/v1/contract_posts", {"title": "Bare"}, token, expect=(201,))
    print(f"--- seeded {len(authors) + 1} authors and {len(authors) + 1} posts", file=sys.stderr)
    # Personal tokens, not login sessions: they do not expire mid-run (an access token
    # lives 15 minutes) and creating one needs this interactive login (API.md 3).
    for i in range(count):
        created = call(base, "POST", "/api/v1/auth/tokens", {
            "name": f"contract run {i}", "scopes": ["read", "write", "admin"],
        }, token, expect=(201,))
        print(created["token"])
    # And one login session, last: creating and revoking personal tokens needs one.
    print(token)


if __name__ == "__main__":
    main()
