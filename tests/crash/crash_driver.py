#!/usr/bin/python3
"""Crash test for the embedded file store, driving the real `dsx session serve`.

Modes:
  kill9      Concurrent idempotent producers (Producer-Id/Epoch/Seq) append to several streams
             while the server is killed with SIGKILL at random moments, ROUNDS times. After each
             restart every acknowledged append must be present exactly once, in order, and every
             record served must be whole (each line carries its own length).
  torn-tail  Appends, SIGKILL, then the last segment's tail is damaged by hand (cut mid-record
             and garbage appended). The restarted server must log the drop, serve a whole-record
             prefix in order, and accept appends again.

Usage: crash_driver.py DSX_BINARY MODE [--rounds N] [--seed S]
Stdlib only (/usr/bin/python3). Exit 0 on success, 1 on a violated guarantee, 2 on setup error.
"""
import http.client
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

STREAMS = 4
PRODUCERS_PER_STREAM = 2
LINE = re.compile(rb"^(p\d+):(\d+):(\d+):(x*)$")


def fail(msg):
    print("crash_driver: FAIL: " + msg, flush=True)
    sys.exit(1)


class Server:
    """One `dsx session serve` process on a free port; stderr is kept in a file."""

    def __init__(self, binary, data, log_path):
        self.binary, self.data, self.log_path = binary, data, log_path
        self.proc = None
        self.port = None

    def start(self):
        log = open(self.log_path, "ab")
        start_at = log.tell()
        self.proc = subprocess.Popen(
            [self.binary, "session", "serve", "--data", self.data, "--listen", "127.0.0.1:0", "--fsync", "always"],
            stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        deadline = time.time() + 60
        while time.time() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(start_at)
                m = re.search(rb"dsx: listening on http://127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        print(open(self.log_path, "rb").read().decode(errors="replace")[-4000:])
        print("crash_driver: server did not start", flush=True)
        sys.exit(2)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request(port, method, path, body=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    finally:
        conn.close()


def read_stream(port, name):
    """Whole stream by catch-up reads, following Stream-Next-Offset until up to date."""
    offset, out = "-1", b""
    for _ in range(100000):
        status, h, body = request(port, "GET", "/v1/stream/%s?offset=%s" % (name, offset))
        if status != 200:
            fail("GET %s offset %s: HTTP %d %r" % (name, offset, status, body[:200]))
        out += body
        nxt = h.get("stream-next-offset")
        if not nxt:
            fail("GET %s: no Stream-Next-Offset" % name)
        if h.get("stream-up-to-date") == "true" and (nxt == offset or not body):
            return out
        if nxt == offset and not body:
            return out
        offset = nxt
        if h.get("stream-up-to-date") == "true":
            return out
    fail("GET %s: never up to date" % name)


def parse_lines(name, data):
    """[(producer, seq)] from a stream's bytes; fails on any torn or malformed record."""
    if data and not data.endswith(b"\n"):
        fail("stream %s ends inside a record: %r" % (name, data[-80:]))
    out = []
    for line in data.split(b"\n")[:-1] if data else []:
        m = LINE.match(line)
        if not m or int(m.group(3)) != len(m.group(4)):
            fail("stream %s serves a torn or malformed record: %r" % (name, line[:120]))
        out.append((m.group(1).decode(), int(m.group(2))))
    return out


def body_for(pid, seq, rng):
    pad = rng.randrange(0, 3000)
    return b"%s:%d:%d:%s\n" % (pid.encode(), seq, pad, b"x" * pad)


class Producer(threading.Thread):
    """Appends p<i>:<seq> records with idempotent producer headers; retries the same seq after
    errors, so a lost connection never loses or duplicates a record."""

    def __init__(self, idx, stream, shared):
        super().__init__(daemon=True)
        self.pid, self.stream, self.shared = "p%d" % idx, stream, shared
        self.rng = random.Random(shared["seed"] * 1000 + idx)
        self.seq = 0
        self.acked = -1  # highest acknowledged seq
        self.errors = 0

    def run(self):
        sh = self.shared
        conn, conn_port = None, None
        while not sh["stop"].is_set():
            if not sh["up"].is_set():
                # Parked while the server is down: the driver restarts and verifies only once
                # every producer is here, so nothing is appended behind the verifier's back.
                with sh["lock"]:
                    sh["parked"].add(self.pid)
                sh["up"].wait(timeout=0.2)
                continue
            with sh["lock"]:
                sh["parked"].discard(self.pid)
            port = sh["port"]
            try:
                if conn is None or conn_port != port:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    conn_port = port
                body = body_for(self.pid, self.seq, self.rng)
                conn.request("POST", "/v1/stream/" + self.stream, body=body, headers={
                    "Content-Type": "text/plain", "Producer-Id": self.pid, "Producer-Epoch": "0",
                    "Producer-Seq": str(self.seq)})
                r = conn.getresponse()
                r.read()
                if r.status in (200, 204):
                    with sh["lock"]:
                        self.acked = self.seq
                    self.seq += 1
                else:
                    self.errors += 1
                    if r.status in (400, 403, 404, 409):
                        sh["violations"].append("%s seq %d: HTTP %d %s" % (self.pid, self.seq, r.status,
                                                                           r.getheader("Producer-Expected-Seq")))
                        sh["stop"].set()
                    time.sleep(0.05)
            except (OSError, http.client.HTTPException):
                self.errors += 1
                try:
                    conn.close()
                except Exception:
                    pass
                conn = None
                time.sleep(0.02)


def verify(port, producers, acked, round_no):
    """Every acknowledged seq present once, in order; at most one unacknowledged (in flight) extra."""
    total = 0
    for s in range(STREAMS):
        name = "crash/s%d" % s
        recs = parse_lines(name, read_stream(port, name))
        total += len(recs)
        seqs = {}
        for pid, seq in recs:
            seqs.setdefault(pid, []).append(seq)
        for p in producers:
            if p.stream != name:
                continue
            got = seqs.pop(p.pid, [])
            if got != list(range(len(got))):
                fail("round %d: %s on %s: seqs not 0..n exactly once in order: %s" % (round_no, p.pid, name, got[:50]))
            if len(got) - 1 < acked[p.pid]:
                fail("round %d: %s on %s lost acknowledged appends: has up to %d, acked %d" %
                     (round_no, p.pid, name, len(got) - 1, acked[p.pid]))
            if len(got) - 1 > acked[p.pid] + 1:
                fail("round %d: %s on %s has %d records beyond the last acknowledged one" %
                     (round_no, p.pid, name, len(got) - 1 - acked[p.pid]))
        if seqs:
            fail("round %d: unknown producers on %s: %s" % (round_no, name, list(seqs)))
    return total


def run_kill9(binary, tmp, rounds, seed):
    rng = random.Random(seed)
    data, log = os.path.join(tmp, "data"), os.path.join(tmp, "server.log")
    srv = Server(binary, data, log)
    srv.start()
    for s in range(STREAMS):
        status, _, body = request(srv.port, "PUT", "/v1/stream/crash/s%d" % s, headers={"Content-Type": "text/plain"})
        if status not in (200, 201):
            fail("create stream: HTTP %d %r" % (status, body))
    shared = {"port": srv.port, "up": threading.Event(), "stop": threading.Event(), "lock": threading.Lock(),
              "violations": [], "seed": seed, "parked": set()}
    producers = [Producer(i, "crash/s%d" % (i % STREAMS), shared) for i in range(STREAMS * PRODUCERS_PER_STREAM)]
    for p in producers:
        p.start()
    shared["up"].set()
    for round_no in range(1, rounds + 1):
        time.sleep(rng.uniform(0.3, 1.5))
        shared["up"].clear()
        srv.kill9()
        deadline = time.time() + 60
        while time.time() < deadline:
            with shared["lock"]:
                if len(shared["parked"]) == len(producers):
                    break
            time.sleep(0.01)
        else:
            fail("producers did not stop after the kill")
        with shared["lock"]:
            acked = {p.pid: p.acked for p in producers}  # the server is dead: no ack can follow
        t0 = time.time()
        srv.start()
        total = verify(srv.port, producers, acked, round_no)
        if shared["violations"]:
            fail("; ".join(shared["violations"]))
        print("crash_driver: round %d: killed, restart + verify %.2fs, %d records verified, %d acknowledged" %
              (round_no, time.time() - t0, total, sum(a + 1 for a in acked.values())), flush=True)
        shared["port"] = srv.port
        shared["up"].set()
    time.sleep(0.3)
    shared["stop"].set()
    for p in producers:
        p.join(timeout=15)
    srv.kill9()
    with shared["lock"]:
        acked = {p.pid: p.acked for p in producers}
    srv.start()
    total = verify(srv.port, producers, acked, rounds + 1)
    srv.stop()
    if sum(a + 1 for a in acked.values()) == 0:
        fail("no append was ever acknowledged")
    print("crash_driver: kill9 OK: %d rounds, %d records, %d producer errors (retried)" %
          (rounds, total, sum(p.errors for p in producers)), flush=True)


def run_torn_tail(binary, tmp, seed):
    rng = random.Random(seed)
    data, log = os.path.join(tmp, "data"), os.path.join(tmp, "server.log")
    srv = Server(binary, data, log)
    srv.start()
    status, _, _ = request(srv.port, "PUT", "/v1/stream/torn", headers={"Content-Type": "text/plain"})
    if status not in (200, 201):
        fail("create: HTTP %d" % status)
    for seq in range(50):
        status, _, _ = request(srv.port, "POST", "/v1/stream/torn", body=body_for("p0", seq, rng),
                               headers={"Content-Type": "text/plain", "Producer-Id": "p0", "Producer-Epoch": "0",
                                        "Producer-Seq": str(seq)})
        if status not in (200, 204):
            fail("append %d: HTTP %d" % (seq, status))
    srv.kill9()
    segdir = os.path.join(data, "segments")
    segs = sorted(f for f in os.listdir(segdir) if f.endswith(".log"))
    last = os.path.join(segdir, segs[-1])
    with open(last, "rb") as f:  # the records end where the writer's prefilled zeros begin
        size = len(f.read().rstrip(b"\0"))
    if size < 200:
        fail("last segment unexpectedly small (%d bytes)" % size)
    with open(last, "r+b") as f:  # tear the last record and add garbage behind it
        f.truncate(size - 7)
        f.seek(0, 2)
        f.write(os.urandom(300))
    log_size = os.path.getsize(log)
    srv.start()
    with open(log, "rb") as f:
        f.seek(log_size)
        startup = f.read().decode(errors="replace")
    if "segment log tail dropped" not in startup:
        fail("recovery did not report the dropped tail; server said:\n" + startup)
    recs = parse_lines("torn", read_stream(srv.port, "torn"))
    seqs = [s for _, s in recs]
    if seqs != list(range(49)):
        fail("after the torn tail: want seqs 0..48, got %s" % seqs)
    status, h, _ = request(srv.port, "POST", "/v1/stream/torn", body=body_for("p0", 49, rng),
                           headers={"Content-Type": "text/plain", "Producer-Id": "p0", "Producer-Epoch": "0",
                                    "Producer-Seq": "49"})
    if status != 200:
        fail("re-append of the dropped seq 49: HTTP %d (want 200: it was cut, so it is new)" % status)
    seqs = [s for _, s in parse_lines("torn", read_stream(srv.port, "torn"))]
    if seqs != list(range(50)):
        fail("after re-append: %s" % seqs[-5:])
    srv.stop()
    print("crash_driver: torn-tail OK: cut reported (%s), prefix 0..48 served, seq 49 re-appended" %
          startup.strip().splitlines()[0][:160], flush=True)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    binary, mode = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 6
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else int(time.time())
    print("crash_driver: mode %s seed %d" % (mode, seed), flush=True)
    tmp = tempfile.mkdtemp(prefix="dsx-crash-")
    ok = False
    try:
        if mode == "kill9":
            run_kill9(binary, tmp, rounds, seed)
        elif mode == "torn-tail":
            run_torn_tail(binary, tmp, seed)
        else:
            print("crash_driver: unknown mode " + mode)
            return 2
        ok = True
    finally:
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("crash_driver: kept %s for inspection (server.log, data/)" % tmp, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
