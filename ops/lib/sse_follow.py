"""A Server-Sent Events follower for the fault tests, standard library only: a thread
reads one stream (http.client, 127.0.0.1) and keeps every event, so a test can compare
what the stream said with what the server acknowledged."""
import http.client
import json
import threading


class Follower:
    def __init__(self, port, path, token=None):
        self.events = []  # (event, id, data as parsed JSON or None), in arrival order
        self.error = None
        self.status = None
        self._lock = threading.Lock()
        self._closing = False
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._conn.request("GET", path, headers=headers)
        resp = self._conn.getresponse()
        self.status = resp.status
        if resp.status != 200:
            raise RuntimeError(f"GET {path}: {resp.status} {resp.read()[:300]!r}")
        self._resp = resp
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        event, ident, data = None, None, []
        try:
            while True:
                line = self._resp.readline()
                if not line:
                    return
                line = line.decode().rstrip("\r\n")
                if line == "":
                    if data or event:
                        text = "\n".join(data)
                        try:
                            parsed = json.loads(text) if text else None
                        except ValueError:
                            parsed = None
                        with self._lock:
                            self.events.append((event or "message", ident, parsed))
                    event, ident, data = None, None, []
                elif line.startswith(":"):
                    continue
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "event":
                        event = value
                    elif name == "id":
                        ident = value
                    elif name == "data":
                        data.append(value)
        except Exception as e:  # noqa: BLE001 - the test reports it, the thread must not die loudly
            if not self._closing:
                self.error = e

    def snapshot(self):
        with self._lock:
            return list(self.events)

    def close(self):
        self._closing = True
        try:
            self._conn.sock.shutdown(2)
        except OSError:
            pass
        self._conn.close()
