#!/usr/bin/python3
"""Hostile input against `dsx session serve`: malformed HTTP, oversized heads and bodies,
slow and vanishing clients, invalid offsets and headers. Each gets the protocol's status (or
a closed connection) and the server stays up and keeps answering others.

    hostile_test.py DSX_BINARY
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

MAX_BODY = 4096
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def start(dsx):
    log = tempfile.NamedTemporaryFile(prefix="dsx-hostile-", suffix=".log", delete=False)
    proc = subprocess.Popen([dsx, "session", "serve", "--memory", "--listen", "127.0.0.1:0",
                             "--long-poll-timeout-ms", "500", "--max-body-bytes", str(MAX_BODY)],
                            stderr=log, stdout=subprocess.DEVNULL)
    for _ in range(200):
        with open(log.name) as f:
            m = re.search(r"^dsx: listening on http://([^:]+):(\d+)$", f.read(), re.M)
        if m:
            return proc, (m.group(1), int(m.group(2))), log.name
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    sys.exit("server did not start: " + open(log.name).read())


def raw(addr, data, read=True, timeout=5.0):
    """Send raw bytes; return the status code of the first response (None if closed)."""
    s = socket.create_connection(addr, timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return None
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        m = re.match(rb"HTTP/1\.[01] (\d{3})", buf)
        return int(m.group(1)) if m else None
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return None
    finally:
        s.close()


def request(addr, method, path, headers=None, body=b""):
    head = f"{method} {path} HTTP/1.1\r\nHost: test\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    if body or method in ("POST", "PUT"):
        head += f"Content-Length: {len(body)}\r\n"
    head += "Connection: close\r\n\r\n"
    return raw(addr, head.encode() + body)


def alive(proc, addr):
    return proc.poll() is None and request(addr, "GET", "/health") == 200


def main():
    proc, addr, log = start(sys.argv[1])
    try:
        check(request(addr, "PUT", "/v1/stream/h", {"Content-Type": "text/plain"}) == 201, "create stream")

        # Malformed HTTP.
        check(raw(addr, b"GARBAGE\r\n\r\n") in (400, None), "garbage request line -> 400 or close")
        check(raw(addr, b"GET / HTTP/9.9\r\n\r\n") in (400, None), "bad HTTP version -> 400 or close")
        check(raw(addr, bytes(range(256)) * 8) in (400, None), "binary junk -> 400 or close")
        check(raw(addr, b"GET /v1/stream/h HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n") in (400, None),
              "header without colon -> 400")
        check(raw(addr, b"POST /v1/stream/h HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n") in (400, None),
              "non-numeric Content-Length -> 400")
        check(raw(addr, b"POST /v1/stream/h HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")
              in (400, None), "conflicting Content-Length -> 400")
        check(raw(addr, b"POST /v1/stream/h HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
              in (400, None), "bad chunk size -> 400")
        check(alive(proc, addr), "server up after malformed HTTP")

        # Oversized heads and bodies.
        big = "a" * (64 * 1024)
        check(raw(addr, f"GET /v1/stream/h HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n".encode()) in (431, None),
              "64 KiB header -> 431")
        many = "".join(f"X-H{i}: v\r\n" for i in range(4000))
        check(raw(addr, f"GET /v1/stream/h HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode()) in (431, None),
              "4000 headers -> 431")
        check(raw(addr, f"GET /{'p' * 70000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()) in (431, 414, 400, None),
              "70 KB request target -> 431/414/400")
        check(request(addr, "POST", "/v1/stream/h", {"Content-Type": "text/plain"}, b"x" * (MAX_BODY + 1)) == 413,
              "body over --max-body-bytes -> 413")
        chunked = b"".join(b"%x\r\n%s\r\n" % (1000, b"y" * 1000) for _ in range(10)) + b"0\r\n\r\n"
        check(raw(addr, b"POST /v1/stream/h HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n" + chunked) == 413, "chunked body over limit -> 413")
        check(request(addr, "POST", "/v1/stream/h", {"Content-Type": "text/plain"}, b"x" * MAX_BODY) == 204,
              "body at the limit -> 204")
        check(alive(proc, addr), "server up after oversized input")

        # Invalid offsets and protocol headers.
        for q in ["offset=", "offset=abc", "offset=0_1%0A", "offset=..%2F", "offset=-1&offset=now",
                  "offset=%00", "live=sse", "offset=-1&live=bogus"]:
            check(request(addr, "GET", "/v1/stream/h?" + q) == 400, f"GET ?{q} -> 400")
        for h in [{"Stream-TTL": "-1"}, {"Stream-TTL": "1e3"}, {"Stream-Expires-At": "soon"},
                  {"Stream-Forked-From": "/v1/stream/h", "Stream-Fork-Offset": "x"},
                  {"Stream-Fork-Sub-Offset": "1"}]:
            check(request(addr, "PUT", "/v1/stream/bad", h) == 400, f"PUT with {h} -> 400")
        for h in [{"Producer-Id": "p"}, {"Producer-Id": "", "Producer-Epoch": "0", "Producer-Seq": "0"},
                  {"Producer-Id": "p", "Producer-Epoch": "-1", "Producer-Seq": "0"},
                  {"Producer-Id": "p", "Producer-Epoch": "0", "Producer-Seq": "99999999999999999999"}]:
            h = dict(h, **{"Content-Type": "text/plain"})
            check(request(addr, "POST", "/v1/stream/h", h, b"z") == 400, f"POST with {h} -> 400")
        check(request(addr, "BREW", "/v1/stream/h") in (400, 405), "unknown method -> 405")
        check(alive(proc, addr), "server up after invalid headers")

        # Slow and vanishing clients: they must not hold up anyone else.
        slow = [socket.create_connection(addr) for _ in range(50)]
        for s in slow:
            s.sendall(b"GET /v1/stream/h HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        t0 = time.monotonic()
        check(alive(proc, addr) and time.monotonic() - t0 < 1.0, "50 slow clients do not block others")
        for s in slow:
            s.close()
        for mode in ["long-poll", "sse"]:
            s = socket.create_connection(addr)
            s.sendall(f"GET /v1/stream/h?offset=now&live={mode} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            time.sleep(0.1)
            s.close()
        s = socket.create_connection(addr)
        s.sendall(b"POST /v1/stream/h HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nhalf")
        s.close()
        time.sleep(0.7)
        check(alive(proc, addr), "server up after vanishing clients")

        # Keep-alive: an idle connection stays usable for at least 5 s.
        s = socket.create_connection(addr, timeout=5)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = s.recv(4096)
        time.sleep(5.5)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        second = s.recv(4096)
        s.close()
        check(first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 200"),
              "idle keep-alive connection still served after 5.5 s")
        check(b"Keep-Alive: timeout=" in first, "Keep-Alive timeout advertised")

        check(alive(proc, addr), "server still up at the end")
    finally:
        proc.terminate()
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = None
        check(rc == 0, f"SIGTERM exits 0 (got {rc})")
        if failures:
            print(open(log).read()[-2000:], file=sys.stderr)
        os.unlink(log)
    print(f"hostile: {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
