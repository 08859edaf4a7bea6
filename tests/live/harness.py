"""Helpers for the live-session integration tests: start `dsx session serve` on a free
loopback port with data in a temp dir, run dsx client commands, read events over HTTP/SSE,
and a minimal WebSocket client (stdlib only: CI has no PyPI)."""
import base64
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, dsx, extra=(), port=None, data=None):
        self.dsx = dsx
        self.extra = list(extra)
        self.port = port or free_port()
        self.data = data or tempfile.mkdtemp(prefix="dsx-live-")
        self.proc = None
        self.url = "http://127.0.0.1:%d" % self.port

    def start(self):
        self.log = open(os.path.join(self.data, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [self.dsx, "session", "serve", "--listen", "127.0.0.1:%d" % self.port, "--data",
             os.path.join(self.data, "store"), "--threads", "2"] + self.extra,
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1).read()
                return self
            except Exception:
                if self.proc.poll() is not None:
                    raise RuntimeError("server exited: " + open(os.path.join(self.data, "server.log")).read())
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request(url, method="GET", body=None, token=None, headers=None, timeout=10):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except Exception:
            return e.code, raw.decode(errors="replace")


def all_events(base, session, token=None, lanes=None):
    out, offset = [], "-1"
    while True:
        q = "?offset=" + offset + ("&lanes=" + lanes if lanes else "")
        st, page = request(base + "/v1/session/" + session + "/events" + q, token=token)
        assert st == 200, (st, page)
        out += page["events"]
        offset = page["offset"]
        if page["up_to_date"]:
            return out


def texts(events):
    t = {}
    for e in events:
        if e["type"] == "msg.start":
            t.setdefault(e["msg"], "")
        elif e["type"] == "msg.append":
            t[e["msg"]] = t.get(e["msg"], "") + e["data"]["text"]
    return t


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class SseReader:
    """Reads a session's SSE stream on a raw socket (so a test can cut it abruptly)."""

    def __init__(self, base, session, query="offset=-1", token=None, last_id=None):
        host, port = base.split("//")[1].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        head = "GET /v1/session/%s/events?live=sse&%s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n" % (session, query)
        if token:
            head += "Authorization: Bearer %s\r\n" % token
        if last_id:
            head += "Last-Event-ID: %s\r\n" % last_id
        self.sock.sendall((head + "\r\n").encode())
        self.buf = b""
        self.status = None
        self.events = []  # (event, id, data)

    def pump(self, until, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if until(self):
                return True
            self.sock.settimeout(max(0.05, deadline - time.time()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return until(self)
            self.buf += chunk
            if self.status is None and b"\r\n\r\n" in self.buf:
                head, self.buf = self.buf.split(b"\r\n\r\n", 1)
                self.status = int(head.split(b" ")[1])
            while self.status is not None and b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                ev, eid, data = "message", None, []
                for line in block.decode().split("\n"):
                    if line.startswith("event: "):
                        ev = line[7:]
                    elif line.startswith("id: "):
                        eid = line[4:]
                    elif line.startswith("data: "):
                        data.append(line[6:])
                if data:
                    self.events.append((ev, eid, json.loads("\n".join(data))))
        return until(self)

    def cut(self):
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()


class WebSocket:
    """Minimal RFC 6455 client: text frames, masking, close."""

    def __init__(self, base, path, token=None):
        host, port = base.split("//")[1].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        head = ("GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, host, port, key))
        if token:
            head += "Authorization: Bearer %s\r\n" % token
        self.sock.sendall((head + "\r\n").encode())
        resp = b""
        while b"\r\n\r\n" not in resp:
            c = self.sock.recv(4096)
            if not c:
                break
            resp += c
        head, self.buf = resp.split(b"\r\n\r\n", 1) if b"\r\n\r\n" in resp else (resp, b"")
        self.status = int(head.split(b" ")[1]) if head else 0
        self.head = head.decode(errors="replace")
        self.close_code = None

    def send(self, obj):
        payload = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([0x81])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            hdr += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        while len(self.buf) < n:
            c = self.sock.recv(65536)
            if not c:
                raise EOFError
            self.buf += c
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout=10):
        self.sock.settimeout(timeout)
        while True:
            b0, b1 = self._read(2)
            op, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._read(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8), "big")
            payload = self._read(n)
            if op == 0x1:
                return json.loads(payload)
            if op == 0x8:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                raise EOFError
            if op == 0x9:  # ping -> pong
                mask = os.urandom(4)
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask +
                                  bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def recv_until(self, pred, timeout=10):
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            f = self.recv(max(0.1, deadline - time.time()))
            seen.append(f)
            if pred(f):
                return f, seen
        raise AssertionError("no matching frame; saw %r" % seen[-5:])
