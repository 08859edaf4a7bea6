"""Expired bearer tokens end Durable Streams live reads (docs/protocol/streams.md, Auth).

Starts the real `dsx session serve --auth-key-file` on loopback (port 0) and checks, with raw
sockets so that the HTTP framing itself is verified:
  sse        an SSE read whose token expires ends right after expiry with one final
             `event: error` {"status":401,"error":"token expired"} and the chunked terminator;
             every event before it is whole and the data is the stream's, in order; a reader
             with a long-lived token on the same stream keeps receiving.
  long_poll  a long-poll whose token expires before the long-poll timeout answers 401 with the
             reason at expiry (not 204 at the timeout); one with a long-lived token gets the data.
Usage: auth_expiry_test.py DSX {sse|long_poll}. stdlib only (CI has no PyPI)."""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

DSX = sys.argv[1]
LONG_POLL_TIMEOUT_MS = 8000


class Server:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="dsx-auth-expiry-")
        self.key = os.path.join(self.tmp, "key")
        with open(self.key, "w") as f:
            f.write("s" * 40 + "\n")
        self.log_path = os.path.join(self.tmp, "server.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [DSX, "session", "serve", "--listen", "127.0.0.1:0", "--data", os.path.join(self.tmp, "store"),
             "--threads", "2", "--auth-key-file", self.key, "--long-poll-timeout-ms", str(LONG_POLL_TIMEOUT_MS)],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            m = re.search(r"dsx: listening on http://127\.0\.0\.1:(\d+)", open(self.log_path).read())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("server did not start: " + open(self.log_path).read())

    def token(self, rights, ttl):
        p = subprocess.run([DSX, "session", "token", "--auth-key-file", self.key, "--sub", "t", "--rights", rights,
                            "--session", "*", "--ttl", ttl], capture_output=True, text=True, timeout=10)
        assert p.returncode == 0, p.stderr
        return p.stdout.strip().splitlines()[-1]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def exp_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]


class Conn:
    """One HTTP/1.1 request on a raw socket; the response read incrementally."""

    def __init__(self, port, method, path, token=None, body=b"", headers=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        h = {"Host": "127.0.0.1", "Content-Length": str(len(body))}
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        head = "%s %s HTTP/1.1\r\n%s\r\n" % (method, path, "".join("%s: %s\r\n" % kv for kv in h.items()))
        self.sock.sendall(head.encode() + body)
        self.buf = b""

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def head(self):
        status = int(self._line().split()[1])
        headers = {}
        while True:
            line = self._line()
            if not line:
                return status, headers
            k, v = line.decode().split(":", 1)
            headers[k.strip().lower()] = v.strip()

    def body(self, headers):
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def chunk(self):
        """The next chunk's bytes; b"" for the terminator. EOFError on a cut."""
        size = int(self._line().split(b";")[0], 16)
        while len(self.buf) < size + 2:
            self._more()
        data, rest = self.buf[:size], self.buf[size:]
        assert rest[:2] == b"\r\n", rest[:10]
        self.buf = rest[2:]  # for the terminator: its empty trailer section
        return data

    def closed_after(self):
        """True if the server closes the connection with nothing more sent."""
        try:
            while True:
                data = self.sock.recv(4096)
                if not data:
                    return self.buf in (b"", b"\r\n")
                self.buf += data
        except socket.timeout:
            return False


def request(port, method, path, token, body=b"", headers=None):
    c = Conn(port, method, path, token, body, headers)
    status, h = c.head()
    data = c.body(h)
    c.sock.close()
    return status, h, data


def parse_events(text):
    """SSE events (whole ones only: each must end with a blank line)."""
    assert text.endswith("\n\n"), "an event was cut: %r" % text[-80:]
    events = []
    for block in text[:-2].split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:])
        events.append((name, "\n".join(data)))
    return events


class SseRead:
    """Reads an SSE response on a thread, recording events, times and how it ended."""

    def __init__(self, port, path, token):
        self.conn = Conn(port, "GET", path, token, timeout=12)
        self.status, self.headers = self.conn.head()
        self.events = []
        self.ended_at = None
        self.clean = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        text = ""
        try:
            while True:
                c = self.conn.chunk()
                if c == b"":
                    self.ended_at = time.time()
                    self.clean = self.conn.closed_after()
                    break
                text += c.decode()
                if text.endswith("\n\n"):
                    self.events += parse_events(text)
                    text = ""
        except (EOFError, socket.timeout, OSError):
            self.ended_at = time.time()
            self.clean = False

    def data_text(self):
        return "".join(d for n, d in self.events if n == "data")

    def last_control(self):
        return [json.loads(d) for n, d in self.events if n == "control"][-1]


def setup(s):
    admin = s.token("admin", "1h")
    st, _, _ = request(s.port, "PUT", "/v1/stream/t", admin, b"one ", {"Content-Type": "text/plain"})
    assert st == 201, st
    return admin


def append(s, admin, text):
    st, h, _ = request(s.port, "POST", "/v1/stream/t", admin, text.encode(), {"Content-Type": "text/plain"})
    assert st == 204, (st, h)
    return h["stream-next-offset"]


def mint_short(s):
    """A 2 s token minted just after a second boundary (exp is whole seconds), so that it
    lives ~1.9 s rather than anywhere in 1..2 s: room for the appends below on a busy machine."""
    time.sleep(1.02 - time.time() % 1)
    return s.token("read", "2s"), time.time()


def test_sse(s):
    admin = setup(s)
    long_token = s.token("read", "1h")
    short, minted = mint_short(s)
    exp = exp_of(short)
    # As EventSource does it (token in the query); the long-lived reader uses the header.
    rd_short = SseRead(s.port, "/v1/stream/t?offset=-1&live=sse&access_token=" + short, None)
    rd_long = SseRead(s.port, "/v1/stream/t?offset=-1&live=sse", long_token)
    assert rd_short.status == 200 and rd_long.status == 200, (rd_short.status, rd_long.status)
    time.sleep(0.3)
    append(s, admin, "two ")
    time.sleep(0.3)
    tail = append(s, admin, "three ")
    appended_at = time.time()
    rd_short.thread.join(4)
    assert rd_short.ended_at is not None, "SSE read still open %.1f s after its token expired" % (time.time() - exp)
    assert rd_short.clean, "SSE read did not end with the chunked terminator and a close"
    assert exp - 0.05 <= rd_short.ended_at <= exp + 1.0, (rd_short.ended_at - exp)
    assert rd_short.ended_at - minted <= 3.0, rd_short.ended_at - minted
    name, data = rd_short.events[-1]
    assert name == "error" and json.loads(data) == {"status": 401, "error": "token expired"}, rd_short.events[-3:]
    assert [n for n, _ in rd_short.events].count("error") == 1
    assert rd_short.events[-2][0] == "control", rd_short.events[-3:]
    # The stream's data before the end is intact (equal to a catch-up read up to the last
    # control event's offset), and with appends done well before expiry, it is all of it.
    resume = rd_short.last_control()["streamNextOffset"]
    st, h, body = request(s.port, "GET", "/v1/stream/t?offset=-1", admin)
    assert st == 200 and body.decode().startswith(rd_short.data_text()), (body, rd_short.data_text())
    if appended_at < exp - 0.2:
        assert rd_short.data_text() == "one two three ", rd_short.data_text()
        assert resume == tail, (rd_short.last_control(), tail)
    # A reader whose token is fine keeps going past the other's expiry.
    append(s, admin, "four")
    deadline = time.time() + 5
    while rd_long.data_text() != "one two three four" and time.time() < deadline:
        time.sleep(0.05)
    assert rd_long.data_text() == "one two three four", rd_long.data_text()
    assert rd_long.ended_at is None and not any(n == "error" for n, _ in rd_long.events)
    # Resuming with the expired token is refused; with a fresh one it continues from the offset.
    st, _, body = request(s.port, "GET", "/v1/stream/t?offset=" + resume, short)
    assert st == 401 and b"token expired" in body, (st, body)
    st, _, body = request(s.port, "GET", "/v1/stream/t?offset=" + resume, long_token)
    assert st == 200 and (rd_short.data_text() + body.decode()) == "one two three four", (st, body)
    print("sse: 2 s token ended %.2f s after exp with event: error 401 + terminator; data intact; "
          "1 h token kept reading" % (rd_short.ended_at - exp))


def test_long_poll(s):
    admin = setup(s)
    tail = append(s, admin, "x")
    long_token = s.token("read", "1h")
    short, _ = mint_short(s)
    exp = exp_of(short)
    results = {}

    def poll(name, token):
        results[name] = request(s.port, "GET", "/v1/stream/t?offset=%s&live=long-poll" % tail, token) + (time.time(),)

    threads = [threading.Thread(target=poll, args=("short", short)),
               threading.Thread(target=poll, args=("long", long_token))]
    for t in threads:
        t.start()
    threads[0].join(LONG_POLL_TIMEOUT_MS / 1000 + 2)
    assert "short" in results, "long-poll with an expiring token did not answer"
    st, h, body, at = results["short"]
    assert st == 401, (st, h, body)
    assert json.loads(body) == {"error": "token expired", "status": 401}, body
    assert "invalid_token" in h.get("www-authenticate", ""), h
    assert exp - 0.05 <= at <= exp + 1.0, at - exp  # at expiry, well before the 8 s timeout
    # The long-lived token's wait is unaffected: it gets the next append.
    assert "long" not in results
    append(s, admin, "y")
    threads[1].join(5)
    st, h, body, _ = results["long"]
    assert st == 200 and body == b"y", (st, body)
    print("long_poll: 2 s token answered 401 'token expired' %.2f s after exp (timeout %d ms); 1 h token got data"
          % (at - exp, LONG_POLL_TIMEOUT_MS))


if __name__ == "__main__":
    server = Server()
    try:
        {"sse": test_sse, "long_poll": test_long_poll}[sys.argv[2]](server)
    except BaseException:
        sys.stdout.write(open(server.log_path).read()[-4000:])
        raise
    finally:
        server.stop()
