"""The parts of ops/realtime/test.py that talk to Hearth: a subscriber that follows an
SSE stream with httpx-sse and reconnects with Last-Event-ID as EventSource does, a writer
that logs every change it made (and the one in flight when the server died), and the
comparison of the two.

Seq is not in write answers, so the log holds what a write answer does say: the record's
id and version. An event matches a log entry when its kind, record id, version and the
written values agree.
"""
import json
import threading
import time
from dataclasses import dataclass, field

import httpx
from httpx_sse import connect_sse

@dataclass
class Event:
    seq: int
    kind: str
    data: dict
    connection: int  # 1 for the first connection, 2 after the first reconnect, …

    @property
    def record(self):
        return self.data.get("record") or {}

    def __str__(self):
        r = self.record
        return f"#{self.seq} {self.kind} {r.get('id')} v{r.get('version')} (connection {self.connection})"


class Subscriber(threading.Thread):
    """Follows `url` until it receives the creation of the record titled `sentinel`.

    A dropped or refused connection (the server was killed, or is starting) is retried
    every 0.1 s with `Last-Event-ID` = the last id received. `drop_after` lists event
    counts at which the subscriber itself closes its client mid-stream and reconnects
    after `pause` seconds. Every event of every connection lands in `events`."""

    def __init__(self, url, sentinel, deadline, drop_after=(), pause=0.3):
        super().__init__(daemon=True)
        self.url, self.sentinel, self.deadline = url, sentinel, deadline
        self.drops, self.pause = sorted(drop_after), pause
        self.events, self.last_id, self.connections = [], None, 0
        self.reconnected_at = []  # time.time() of each reconnection that got its 200
        self.connected = threading.Event()
        self.error = None

    def run(self):
        try:
            self._follow()
        except BaseException as e:  # reported by the test thread, which asserts on it
            self.error = e

    def finished(self):
        return bool(self.events) and self._is_sentinel(self.events[-1])

    def _is_sentinel(self, e):
        return e.kind == "created" and e.record.get("title") == self.sentinel

    def _follow(self):
        while time.time() < self.deadline:
            headers = {"Last-Event-ID": str(self.last_id)} if self.last_id is not None else {}
            # A new client per connection: closing it is what the test means by a drop.
            client = httpx.Client(timeout=httpx.Timeout(5.0, read=30.0))
            dropped = False
            try:
                with connect_sse(client, "GET", self.url, headers=headers) as source:
                    status = source.response.status_code
                    if status != 200:
                        source.response.read()
                        raise AssertionError(f"GET {self.url}: {status} {source.response.text[:300]}")
                    self.connections += 1
                    if self.connections > 1:
                        self.reconnected_at.append(time.time())
                    self.connected.set()
                    for sse in source.iter_sse():
                        if sse.event == "message" and not sse.data:
                            continue  # the `retry:` frame that opens every stream
                        self._take(sse)
                        if self.finished():
                            return
                        if self.drops and len(self.events) >= self.drops[0]:
                            self.drops.pop(0)
                            dropped = True
                            break
            except httpx.TransportError:
                pass  # killed mid-stream, or not listening yet: reconnect
            finally:
                client.close()
            time.sleep(self.pause if dropped else 0.1)
        raise AssertionError(f"no sentinel event within the deadline; {len(self.events)} events, "
                             f"last id {self.last_id}, {self.connections} connections")

    def _take(self, sse):
        # The decoder keeps the last id across events, as EventSource does; every
        # event expected here carries its own.
        seq = int(sse.id)
        data = json.loads(sse.data)
        assert data.get("seq") == seq, f"data.seq {data.get('seq')} is not the id {seq}"
        self.events.append(Event(seq, sse.event, data, self.connections))
        self.last_id = seq


class Interrupted(Exception):
    """The server went away during a write: that write is unacknowledged."""


@dataclass
class Entry:
    kind: str
    record_id: str | None  # None: a create that was never acknowledged
    version: int | None  # None for deletes
    values: dict = field(default_factory=dict)
    acked: bool = False

    def __str__(self):
        state = "acknowledged" if self.acked else "unacknowledged"
        return f"{state} {self.kind} {self.record_id} v{self.version}"


class Writer:
    """Creates, updates and deletes records of `collection`, logging each change.

    A write whose answer never came (the server was killed) stays in the log as
    unacknowledged, and its record is never written again: so the log has exactly one
    way to be matched (an unacknowledged update's version is known, and nothing later
    touches a record whose delete may or may not have happened)."""

    def __init__(self, base, collection, rng):
        self.base, self.collection, self.rng = base, collection, rng
        self.log, self.live, self.counter = [], {}, 0

    def url(self, record_id=None):
        return f"{self.base}/api/v1/{self.collection}" + (f"/{record_id}" if record_id else "")

    def step(self, client):
        """One random change (creates while few records are live)."""
        roll = self.rng.random()
        if len(self.live) < 3 or roll < 0.5:
            self.counter += 1
            return self.create(client, f"record {self.counter}")
        record_id = self.rng.choice(sorted(self.live))
        if roll < 0.8:
            self.counter += 1
            return self._send(client, Entry("updated", record_id, self.live[record_id] + 1, {"n": self.counter}),
                              "PATCH", self.url(record_id), {"n": self.counter}, 200)
        return self._send(client, Entry("deleted", record_id, None), "DELETE", self.url(record_id), None, 204)

    def create(self, client, title):
        values = {"title": title, "n": self.counter}
        return self._send(client, Entry("created", None, 1, values), "POST", self.url(), values, 201)

    def _send(self, client, entry, method, url, body, expected):
        # Logged before it is sent: if the server dies now, the change may still have
        # committed, and its event may come.
        self.log.append(entry)
        try:
            resp = client.request(method, url, json=body)
        except httpx.TransportError as e:
            if entry.record_id:
                self.live.pop(entry.record_id, None)
            raise Interrupted(str(e)) from e
        assert resp.status_code == expected, f"{method} {url}: {resp.status_code} {resp.text[:300]}"
        if entry.kind == "deleted":
            self.live.pop(entry.record_id)
        else:
            record = resp.json()
            assert record["version"] == entry.version, f"{method} {url}: version {record['version']}, not {entry.version}"
            entry.record_id = record["id"]
            self.live[entry.record_id] = entry.version
        entry.acked = True
        return entry


def compare(events, log, collection):
    """Every acknowledged change exactly once, in log order, none extra; an
    unacknowledged one at most once, in its place. Any other event (a schema, reset,
    overflow or unauthorized one included) is extra. Returns (acknowledged, how many
    unacknowledged were delivered); raises AssertionError naming the first difference."""
    seqs = [e.seq for e in events]
    for a, b in zip(events, events[1:]):
        assert b.seq > a.seq, f"ids not increasing: {a} then {b} (a duplicate or a reordering)"
    assert len(set(seqs)) == len(seqs)
    known_ids = {entry.record_id for entry in log if entry.record_id}
    i, seen_unacked = 0, 0
    for position, entry in enumerate(log):
        if i < len(events) and _fits(events[i], entry, known_ids, collection):
            i += 1
            seen_unacked += not entry.acked
            continue
        if entry.acked:
            got = events[i] if i < len(events) else "the end of the events"
            raise AssertionError(f"{entry} (log position {position}) was not delivered in its "
                                 f"place: event {i} is {got}")
    if i < len(events):
        raise AssertionError(f"{len(events) - i} events no write explains, from {events[i]}")
    return sum(entry.acked for entry in log), seen_unacked


def _fits(event, entry, known_ids, collection):
    if event.kind != entry.kind or event.data.get("collection") != collection:
        return False
    record = event.record
    if entry.kind == "deleted":
        return record == {"id": entry.record_id}
    if entry.record_id is None:
        # An unacknowledged create: a record the writer never heard of.
        if record.get("id") in known_ids:
            return False
    elif record.get("id") != entry.record_id:
        return False
    return record.get("version") == entry.version and all(record.get(k) == v for k, v in entry.values.items())
