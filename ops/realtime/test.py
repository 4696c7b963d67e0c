#!/usr/bin/env python3
"""Realtime streams with a real third-party SSE client (httpx-sse), against a real
`hearth serve` on 127.0.0.1 (issue 16; the behaviour is docs/API.md section 9).

1. Reconnect: a subscriber follows a public collection's stream while a writer creates,
   updates and deletes records; the subscriber closes its client mid-stream three times
   and reconnects with Last-Event-ID = the last id it saw, as EventSource does. Across
   all connections it must receive every acknowledged change exactly once, in order (by
   seq), and nothing else.
2. Crash: the server is SIGKILLed during a burst of writes, five times, and started again
   on the same data directory; the subscriber reconnects by itself with Last-Event-ID.
   Every change acknowledged (a 2xx before the kill) arrives exactly once, in order; a
   write in flight at a kill may or may not arrive, and if it does, once and in place.
3. `since=` and `reset`: with `--realtime-max-rows 5`, 20 changes; `?since=` inside the
   retained rows replays the rest exactly once; after a restart (the pruner runs at
   start) `?since=1` and `Last-Event-ID: 1` begin with `event: reset` whose id is the
   newest sequence, and the streams then follow live changes; at the edge of the
   retained rows `since` still replays, one before it resets.

    test.py --binary target/debug/hearth [--seed N] [--max-seconds 120]

Everything binds 127.0.0.1; bounded by --max-seconds (and every read by a timeout).
"""
import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time

import httpx
from httpx_sse import connect_sse

sys.dont_write_bytecode = True  # no __pycache__ in ops/
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "lib"))
sys.path.insert(0, here)
import harness  # noqa: E402
from sse_parts import Interrupted, Subscriber, Writer, compare  # noqa: E402

COLLECTION = "rt"
PUBLIC = {a: ["public"] for a in ("list", "view", "create", "update", "delete")}
FIELDS = [{"name": "title", "type": "text", "required": True}, {"name": "n", "type": "integer"}]


def start_server(binary, data_dir, args=()):
    harness.create_admin(binary, data_dir)
    server = harness.Server(binary, data_dir, os.path.join(data_dir, "server.log"), args=args).start()
    token = harness.login(server.port)
    r = harness.request(server.port, "POST", "/api/v1/collections",
                        {"name": COLLECTION, "fields": FIELDS, "rules": PUBLIC}, token)
    assert r.status == 201, f"create collection: {r}"
    return server


def base_url(server):
    return f"http://127.0.0.1:{server.port}"


def events_url(server, query=""):
    return f"{base_url(server)}/api/v1/{COLLECTION}/events{query}"


def wait_for(subscriber, deadline, what):
    subscriber.join(max(0.0, deadline - time.time()))
    if subscriber.error:
        raise AssertionError(f"{what}: the subscriber failed: {subscriber.error}") from subscriber.error
    assert subscriber.finished(), f"{what}: the subscriber did not finish in time"


def reconnect_test(server, rng, deadline):
    """1: the subscriber drops its connection three times while the writer keeps going."""
    sentinel = "end of the reconnect test"
    drops = (15, 50, 90)
    sub = Subscriber(events_url(server), sentinel, deadline, drop_after=drops, pause=0.3)
    sub.start()
    assert sub.connected.wait(10), "the first connection did not open"
    writer = Writer(base_url(server), COLLECTION, rng)
    with httpx.Client(timeout=10) as client:
        # At least 150 changes, and 30 more after the last reconnection: the replay
        # that each reconnection starts with runs while changes keep committing.
        written_after_last = 0
        while len(writer.log) < 150 or written_after_last < 30:
            if time.time() > deadline or not sub.is_alive():
                raise AssertionError(f"reconnect test: stopped writing after {len(writer.log)} changes, "
                                     f"{sub.connections} connections; subscriber: {sub.error}")
            writer.step(client)
            if sub.connections == len(drops) + 1:
                written_after_last += 1
            time.sleep(0.005)
        writer.create(client, sentinel)
    wait_for(sub, deadline, "reconnect test")
    assert sub.connections == len(drops) + 1, f"{sub.connections} connections, expected {len(drops) + 1}"
    acked, _ = compare(sub.events, writer.log, COLLECTION)
    assert acked == len(writer.log)
    print(f"reconnect: {acked} acknowledged changes, each delivered once in order over "
          f"{sub.connections} connections (closed after {', '.join(map(str, drops))} events)")


def write_until_killed(writer, stop):
    """The crash test's writer thread: writes until the server dies under it."""
    with httpx.Client(timeout=5) as client:  # a new pool: the last one's sockets are dead
        while not stop.is_set():
            try:
                writer.step(client)
            except Interrupted:
                return


def crash_test(server, rng, deadline, rounds=5):
    """2: SIGKILL during bursts of writes; restart on the same data directory."""
    sentinel = "end of the crash test"
    sub = Subscriber(events_url(server), sentinel, deadline)
    sub.start()
    assert sub.connected.wait(10), "the first connection did not open"
    writer = Writer(base_url(server), COLLECTION, rng)
    for round_no in range(1, rounds + 1):
        if time.time() > deadline:
            raise AssertionError(f"crash test: out of time before round {round_no}")
        # Each kill must find the subscriber mid-stream: wait for its reconnection
        # (Last-Event-ID = what it saw before the last kill) before the next burst.
        while sub.connections < round_no and sub.is_alive() and time.time() < deadline:
            time.sleep(0.02)
        assert sub.connections >= round_no, f"round {round_no}: the subscriber did not reconnect: {sub.error}"
        stop = threading.Event()
        burst = threading.Thread(target=write_until_killed, args=(writer, stop), daemon=True)
        burst.start()
        time.sleep(rng.uniform(0.15, 0.5))
        server.kill()
        stop.set()
        burst.join(10)
        assert not burst.is_alive(), f"round {round_no}: the writer did not stop after the kill"
        server.start()  # same data directory, same port: Hearth's own recovery first
        print(f"crash round {round_no}: killed after {sum(e.acked for e in writer.log)} acknowledged "
              f"changes in all; restarted; subscriber last id {sub.last_id}")
    with httpx.Client(timeout=10) as client:
        writer.create(client, sentinel)
    wait_for(sub, deadline, "crash test")
    assert sub.connections >= rounds + 1, f"{sub.connections} connections: not every kill was seen"
    acked, seen = compare(sub.events, writer.log, COLLECTION)
    unacked = len(writer.log) - acked
    print(f"crash: {acked} acknowledged changes over {rounds} SIGKILLs, each delivered once in order "
          f"({sub.connections} connections); {seen} of {unacked} writes in flight at a kill were delivered")


def since_and_reset_test(binary, deadline, rng):
    """3: `since=` replay inside the retention, then `reset` once the pruner ran."""
    with tempfile.TemporaryDirectory(prefix="hearth-realtime-rows-") as data_dir:
        server = start_server(binary, data_dir, args=("--realtime-max-rows", "5"))
        try:
            sentinel = "end of the since test"
            sub = Subscriber(events_url(server), sentinel, deadline)
            sub.start()
            assert sub.connected.wait(10), "the first connection did not open"
            writer = Writer(base_url(server), COLLECTION, rng)
            with httpx.Client(timeout=10) as client:
                while len(writer.log) < 19:
                    writer.step(client)
                writer.create(client, sentinel)
            wait_for(sub, deadline, "since test")
            compare(sub.events, writer.log, COLLECTION)
            seqs = [e.seq for e in sub.events]

            # Seqs are dense and count every change of the database, so with
            # max_rows 5 the feed keeps seqs newest-4 … newest (after a prune; all of
            # them before). `since` = newest-5 misses nothing either way: it replays
            # every later change of this collection, exactly once.
            since = seqs[-1] - 5
            later = [s for s in seqs if s > since]
            resumed = Subscriber(events_url(server, f"?since={since}"), sentinel, deadline)
            resumed.start()
            wait_for(resumed, deadline, "since= replay")
            assert [e.seq for e in resumed.events] == later, \
                f"since={since} replayed {[e.seq for e in resumed.events]}, expected {later}"
            compare(resumed.events, writer.log[len(seqs) - len(later):], COLLECTION)
            print(f"since: ?since={since} replayed the {len(later)} later changes once, in order")

            # A restart prunes at start: the feed keeps its newest 5 rows.
            server.stop()
            server.start()
            check_reset(server, writer, seqs, deadline)
        except BaseException:
            print("server log (tail):\n" + server.log_tail(), file=sys.stderr)
            raise
        finally:
            server.stop()


def first_event(client, url, headers=None):
    """(context, events, first event) of a new stream; the `retry:` frame is skipped."""
    cm = connect_sse(client, "GET", url, headers=headers or {})
    source = cm.__enter__()
    if source.response.status_code != 200:
        source.response.read()
        cm.__exit__(None, None, None)
        raise AssertionError(f"GET {url}: {source.response.status_code} {source.response.text[:300]}")
    events = (e for e in source.iter_sse() if not (e.event == "message" and not e.data))
    return cm, events, next(events)


def assert_reset(first, newest, how):
    assert first.event == "reset", f"{how}: first event {first.event} {first.data}, not reset"
    assert first.id == str(newest), f"{how}: reset id {first.id}, the newest seq is {newest}"
    assert json.loads(first.data) == {"collection": None, "seq": newest, "record": None}, first.data


def check_reset(server, writer, seqs, deadline):
    """Past the retained rows `reset` (id = newest), then live changes; at their edge a
    replay. No write happens until the end, so the feed's bounds stay put."""
    newest, opened = seqs[-1], []
    with httpx.Client(timeout=httpx.Timeout(5.0, read=10.0)) as client:
        try:
            # The pruner's round at start runs beside the server's first requests: until
            # it has run, `since=1` replays. Wait for it by reopening (bounded).
            while True:
                cm, events, first = first_event(client, events_url(server, "?since=1"))
                if first.event == "reset" or time.time() > deadline:
                    break
                cm.__exit__(None, None, None)
                time.sleep(0.2)
            opened.append((cm, events, "?since=1"))
            assert_reset(first, newest, "?since=1")
            cm, events, first = first_event(client, events_url(server), {"Last-Event-ID": "1"})
            opened.append((cm, events, "Last-Event-ID: 1"))
            assert_reset(first, newest, "Last-Event-ID: 1")
            print(f"reset: ?since=1 and Last-Event-ID: 1 begin with event: reset (id {newest})")

            # The oldest retained row is newest-4: since=newest-5 misses nothing, so it
            # replays; since=newest-6 missed a pruned change, so it resets.
            edge = newest - 5
            later = [s for s in seqs if s > edge]
            cm, events, first = first_event(client, events_url(server, f"?since={edge}"))
            try:
                got = [int(first.id)] + [int(next(events).id) for _ in later[1:]]
            finally:
                cm.__exit__(None, None, None)
            assert got == later, f"since={edge} after the prune gave {got}, expected {later}"
            cm, _, first = first_event(client, events_url(server, f"?since={edge - 1}"))
            cm.__exit__(None, None, None)
            assert_reset(first, newest, f"?since={edge - 1}")
            print(f"since: ?since={edge} (the edge of the retained rows) replays; ?since={edge - 1} resets")

            # After the reset, both streams follow live changes.
            with httpx.Client(timeout=10) as writes:
                live = writer.create(writes, "after the reset")
            for _, events, how in opened:
                after = next(events)
                record = json.loads(after.data)["record"]
                assert after.event == "created" and record["id"] == live.record_id, \
                    f"{how}: after the reset came {after.event} {after.data}"
                assert int(after.id) > newest, f"{how}: live event id {after.id}"
            print("reset: then both streams delivered the next change live")
        finally:
            for cm, _, _ in opened:
                cm.__exit__(None, None, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--max-seconds", type=int, default=120)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    harness.exit_on_sigterm(args.max_seconds + 10)
    deadline = time.time() + args.max_seconds
    rng = random.Random(args.seed)
    print(f"realtime test: seed {args.seed}")
    with tempfile.TemporaryDirectory(prefix="hearth-realtime-") as data_dir:
        server = start_server(binary, data_dir)
        try:
            reconnect_test(server, rng, deadline)
            crash_test(server, rng, deadline)
        except BaseException:
            print("server log (tail):\n" + server.log_tail(), file=sys.stderr)
            raise
        finally:
            server.stop()
    since_and_reset_test(binary, deadline, rng)
    print("realtime test passed")


if __name__ == "__main__":
    sys.exit(main())
