"""The attack of issue 14 item 1, measured against a running release server.

usage: python3 ops/bench/costly_queries.py BASE_URL

The server holds a public collection `logs` (one text field `t`, 300,000 rows; see
costly_queries.sh) and trusts 127.0.0.1 as a proxy, so each simulated client can come
from its own address through X-Forwarded-For. Prints a markdown table: what each attack
request gets and how long it takes, and how long an ordinary request by id takes while
the attack runs.
"""

import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

BASE = sys.argv[1].rstrip("/")
ONE_ID = "00000001-0000-7000-8000-000000000001"


def get(path, client="198.51.100.1"):
    req = urllib.request.Request(BASE + path, headers={"X-Forwarded-For": client})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        body = json.loads(e.read() or b"{}")
        status = f"{e.code} {body.get('code', '')}"
    return status, (time.perf_counter() - started) * 1000


def listing(filter_, count=True):
    query = {"filter": filter_}
    if count:
        query["count"] = "true"
    return "/api/v1/logs?" + urllib.parse.urlencode(query)


REVIEW_ATTACK = listing("||".join(["t ~ 'abc'"] * 300))
WIDEST_ALLOWED = listing(" || ".join(f"t ~ 'zq{i}x'" for i in range(8)))


def cheap_latency_during(attack_path, attackers, same_client):
    """Median and worst ms of GET by id from a bystander while `attackers` clients each
    send `attack_path` in a loop; the attackers' answers by status."""
    stop = threading.Event()
    answers = {}
    lock = threading.Lock()

    def attacker(n):
        client = "203.0.113.7" if same_client else f"203.0.113.{10 + n}"
        while not stop.is_set():
            status, _ = get(attack_path, client)
            with lock:
                answers[status] = answers.get(status, 0) + 1

    threads = [threading.Thread(target=attacker, args=(n,)) for n in range(attackers)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    samples = []
    deadline = time.time() + 10
    while time.time() < deadline:
        samples.append(get(f"/api/v1/logs/{ONE_ID}", "192.0.2.99")[1])
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    return statistics.median(samples), max(samples), answers


def main():
    rows = []
    status, ms = get(REVIEW_ATTACK)
    rows.append(("the review's 4 KB filter, 300 `~` terms, count=true", status, f"{ms:.1f}"))
    status, ms = get(WIDEST_ALLOWED)
    rows.append(("8 `~` terms (the most allowed), count=true", status, f"{ms:.0f}"))
    status, ms = get(f"/api/v1/logs/{ONE_ID}")
    rows.append(("GET by id, idle server", status, f"{ms:.1f}"))
    print("| request | answer | ms |")
    print("| --- | --- | --- |")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    print()
    print("| while the attack runs (10 s) | bystander GET by id, median ms | worst ms | attack answers |")
    print("| --- | --- | --- | --- |")
    for label, attackers, same in [
        ("no attack", 0, True),
        ("1 client, 8 loops of the widest allowed filter", 8, True),
        ("8 clients, one loop each", 8, False),
    ]:
        med, worst, answers = cheap_latency_during(WIDEST_ALLOWED, attackers, same)
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items(), key=str)) or "-"
        print(f"| {label} | {med:.1f} | {worst:.0f} | {summary} |")


main()
