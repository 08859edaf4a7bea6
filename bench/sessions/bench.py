"""bench/sessions: live-session fan-out and idle-connection cost (not a CI gate).

Starts `dsx session serve --memory` on loopback, then:
  idle:   N idle WebSocket (and SSE) subscribers; server RSS per connection.
  fanout: one publisher appending msg.append fragments at RATE/s to M WebSocket (or SSE)
          readers; delivery latency (publish call -> frame received) p50/p99, server CPU.
The readers run in this one Python process (selectors), so at high M the client, not the
server, bounds the latency numbers: the table says how many readers were used.
Usage: bench.py DSX [--readers M] [--idle N] [--rate R] [--seconds S] [--out FILE]
"""
import argparse
import json
import os
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "live"))
from harness import Server, request  # noqa: E402


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def open_ws(port, session, subscribe):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("GET /v1/session/%s/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % session).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    if subscribe:
        payload = json.dumps({"op": "subscribe", "offset": "now"}).encode()
        mask = b"\x01\x02\x03\x04"
        s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    s.setblocking(False)
    return s


def open_sse(port, session):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("GET /v1/session/%s/events?live=sse&offset=now HTTP/1.1\r\nHost: x\r\n\r\n" % session).encode())
    s.setblocking(False)
    return s


def idle(server, n, kind):
    pid = server.proc.pid
    base = rss_kib(pid)
    socks = []
    for i in range(n):
        socks.append(open_ws(server.port, "bench/idle", True) if kind == "ws" else open_sse(server.port, "bench/idle"))
    time.sleep(1.0)
    after = rss_kib(pid)
    for s in socks:
        s.close()
    time.sleep(0.5)
    return (after - base) * 1024 / n


def fanout(server, readers, rate, seconds, kind):
    session = "bench/fan-" + kind
    pid = server.proc.pid
    sel = selectors.DefaultSelector()
    for i in range(readers):
        s = open_ws(server.port, session, True) if kind == "ws" else open_sse(server.port, session)
        sel.register(s, selectors.EVENT_READ)
    time.sleep(0.5)
    st, run = request(server.url + "/v1/session/%s/events" % session, "POST", {"type": "run.start"})
    run = run["run"]
    request(server.url + "/v1/session/%s/events" % session, "POST", {"type": "msg.start", "run": run, "msg": "m"})
    sent = {}
    lat = []
    stop = threading.Event()

    def publish():
        i = 0
        t0 = time.perf_counter()
        while not stop.is_set():
            tag = "<%d>" % i
            sent[tag] = time.perf_counter()
            request(server.url + "/v1/session/%s/events" % session, "POST",
                    {"type": "msg.append", "run": run, "msg": "m", "data": {"text": tag}})
            i += 1
            nxt = t0 + i / rate
            time.sleep(max(0, nxt - time.perf_counter()))

    cpu0 = cpu_s(pid)
    th = threading.Thread(target=publish)
    th.start()
    end = time.time() + seconds
    while time.time() < end:
        for key, _ in sel.select(0.1):
            try:
                data = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            now = time.perf_counter()
            text = data.decode("latin-1")
            pos = 0
            while True:
                a = text.find("<", pos)
                if a < 0:
                    break
                b = text.find(">", a)
                if b < 0:
                    break
                t = sent.get(text[a:b + 1])
                if t is not None:
                    lat.append(now - t)
                pos = b + 1
    stop.set()
    th.join()
    cpu = cpu_s(pid) - cpu0
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
    return {"kind": kind, "readers": readers, "rate": rate, "deliveries": len(lat), "p50_ms": pct(0.5),
            "p99_ms": pct(0.99), "server_cpu_pct": 100 * cpu / seconds}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dsx")
    ap.add_argument("--readers", type=int, default=200)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    server = Server(a.dsx, ["--memory"]).start()
    try:
        request(server.url + "/v1/session/bench/idle", "PUT")
        for k in ("ws", "sse"):
            request(server.url + "/v1/session/bench/fan-" + k, "PUT")
        rows = []
        for kind in ("ws", "sse"):
            per = idle(server, a.idle, kind)
            r = fanout(server, a.readers, a.rate, a.seconds, kind)
            r["idle_conns"] = a.idle
            r["rss_per_idle_conn_kib"] = per / 1024
            rows.append(r)
        lines = ["| transport | readers | fragments/s | deliveries | p50 ms | p99 ms | server CPU % | idle conns | RSS/idle conn KiB |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append("| %s | %d | %d | %d | %.2f | %.2f | %.0f | %d | %.1f |" % (
                r["kind"], r["readers"], r["rate"], r["deliveries"], r["p50_ms"], r["p99_ms"], r["server_cpu_pct"],
                r["idle_conns"], r["rss_per_idle_conn_kib"]))
        out = "\n".join(lines)
        print(out)
        if a.out:
            with open(a.out, "w") as f:
                f.write(out + "\n")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
