#!/usr/bin/python3
"""Corruption is not a torn tail (issue 11), end to end against the real `dsx session serve`.

Appenders write to four streams; the server is killed with SIGKILL under load; 8 bytes in the
middle of the last segment are flipped (the issue's case). Then:
  1. `dsx session fsck DIR` exits 1 and names the bad bytes and the affected stream(s);
  2. the restarted server answers 503 (with the reason) for reads, HEAD and appends of the
     affected stream(s) and serves every other stream exactly as acknowledged; the segment
     was not cut;
  3. `dsx session repair DIR` is refused while the server runs (exit 4), then, stopped,
     repairs (exit 0); fsck is clean (exit 0);
  4. restarted, every stream is served: all acknowledged data except the damaged record(s),
     in order, at the offsets they were acknowledged at, and the next append of a repaired
     stream lands past everything it ever acknowledged.

Usage: recovery_driver.py DSX_BINARY [--seed S]
Stdlib only (/usr/bin/python3). Exit 0 on success, 1 on a violated guarantee, 2 on setup error.
"""
import http.client
import json
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
LINE = re.compile(rb"^s(\d+):(\d+):(x*)$")


def fail(msg):
    print("recovery_driver: FAIL: " + msg, flush=True)
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
        print("recovery_driver: server did not start", flush=True)
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

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()


def offset_of(header):
    return int(header.split("_")[1])


def fmt(off):
    return "0000000000000000_%016d" % off


def path_of(i):
    return "/v1/stream/rec/s%d" % i


class Appender(threading.Thread):
    """Appends numbered lines to one stream until stopped or the server dies; remembers what
    was acknowledged and the offset each acknowledged line ends at."""

    def __init__(self, server, i, rng):
        super().__init__(daemon=True)
        self.server, self.i, self.rng = server, i, rng
        self.acked = []  # (line bytes, end offset)
        self.stop = False

    def run(self):
        n = 0
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        while not self.stop:
            line = b"s%d:%d:%s\n" % (self.i, n, b"x" * self.rng.randint(8, 120))
            try:
                conn.request("POST", path_of(self.i), body=line, headers={"Content-Type": "text/plain"})
                r = conn.getresponse()
                r.read()
            except (OSError, http.client.HTTPException):
                return  # the server was killed
            if r.status not in (200, 204):
                return
            self.acked.append((line, offset_of(r.getheader("Stream-Next-Offset"))))
            n += 1


def read_all(server, i):
    """Every byte served from offset 0, following Stream-Next-Offset; returns (status, data
    chunks as (begin offset, bytes))."""
    chunks, off = [], 0
    for _ in range(100000):
        status, headers, body = server.request("GET", "%s?offset=%s" % (path_of(i), fmt(off)))
        if status != 200:
            return status, body
        nxt = offset_of(headers["Stream-Next-Offset"])
        if body:
            # The chunk ends at nxt; it begins where its bytes say (after a lost range, later
            # than asked).
            chunks.append((nxt - len(body), body))
        if headers.get("Stream-Up-To-Date") == "true" or nxt == off:
            return 200, chunks
        off = nxt
    fail("read of stream %d does not end" % i)


def run(binary, seed):
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="dsx-recovery-")
    data = os.path.join(work, "data")
    log_path = os.path.join(work, "serve.log")
    server = Server(binary, data, log_path)
    try:
        server.start()
        for i in range(STREAMS):
            status, _, _ = server.request("PUT", path_of(i), headers={"Content-Type": "text/plain"})
            if status not in (200, 201):
                fail("create s%d: %d" % (i, status))
        appenders = [Appender(server, i, random.Random(seed * 10 + i)) for i in range(STREAMS)]
        for a in appenders:
            a.start()
        time.sleep(2.0)
        server.kill9()  # under load: appends in flight
        for a in appenders:
            a.stop = True
            a.join(timeout=10)
        for a in appenders:
            if len(a.acked) < 20:
                fail("stream %d: only %d appends acknowledged before the kill" % (a.i, len(a.acked)))

        # The damage: 8 flipped bytes in the middle of the last segment's records.
        segs = sorted(f for f in os.listdir(os.path.join(data, "segments")) if f.endswith(".log"))
        seg = os.path.join(data, "segments", segs[-1])
        image = bytearray(open(seg, "rb").read())
        records_end = len(image.rstrip(b"\0"))
        mid = records_end // 2 + rng.randint(-1000, 1000)
        for k in range(8):
            image[mid + k] ^= 0x5A
        open(seg, "wb").write(bytes(image))
        print("recovery_driver: flipped 8 bytes at %d of %s (%d bytes of records)" % (mid, segs[-1], records_end), flush=True)

        # 1. fsck: read-only, exit 1, names the bad bytes and the stream.
        before = open(seg, "rb").read()
        fsck = subprocess.run([binary, "session", "fsck", data], capture_output=True)
        text = fsck.stdout.decode()
        if fsck.returncode != 1 or "bad bytes" not in text or "unavailable" not in text:
            fail("fsck did not report the corruption (exit %d):\n%s%s" % (fsck.returncode, text, fsck.stderr.decode()))
        if open(seg, "rb").read() != before:
            fail("fsck changed the segment")
        report = json.loads(subprocess.run([binary, "session", "fsck", "--json", data], capture_output=True).stdout)
        damaged = {d["path"] for d in report["unavailable_streams"]}
        if report["clean"] or not damaged:
            fail("fsck --json: %s" % report)
        print("recovery_driver: fsck: %s" % [l for l in text.splitlines() if "bad bytes" in l or "unavailable" in l], flush=True)

        # 2. Restart: the damaged stream(s) 503 with the reason; the others exactly as acknowledged.
        server.start()
        if os.path.getsize(seg) < records_end:
            fail("the segment was cut from %d to %d bytes" % (records_end, os.path.getsize(seg)))
        healthy = 0
        for a in appenders:
            p = path_of(a.i)
            acked = b"".join(l for l, _ in a.acked)
            status, body = read_all(server, a.i)
            if p in damaged:
                if status != 503 or b"unavailable" not in body:
                    fail("%s: damaged stream answered %d %r" % (p, status, body[:200]))
                st, _, _ = server.request("HEAD", p)
                if st != 503:
                    fail("%s: HEAD answered %d" % (p, st))
                st, _, b = server.request("POST", p, body=b"late\n", headers={"Content-Type": "text/plain"})
                if st != 503:
                    fail("%s: append to a damaged stream answered %d" % (p, st))
                continue
            if status != 200:
                fail("%s: healthy stream answered %d %r" % (p, status, body[:200]))
            served = b"".join(c for _, c in body)
            # Everything acknowledged, in order; after it at most whole lines that were in
            # flight at the kill (written, never answered).
            if not served.startswith(acked):
                fail("%s: served data is not the acknowledged data" % p)
            for extra in served[len(acked):].splitlines():
                if not LINE.match(extra):
                    fail("%s: torn line after the acknowledged data: %r" % (p, extra[:80]))
            healthy += 1
            st, h, _ = server.request("POST", p, body=b"s%d:after:x\n" % a.i, headers={"Content-Type": "text/plain"})
            if st not in (200, 204) or offset_of(h["Stream-Next-Offset"]) != len(served) + len(b"s%d:after:x\n" % a.i):
                fail("%s: append after restart: %d %s" % (p, st, h))
            a.acked.append((b"s%d:after:x\n" % a.i, offset_of(h["Stream-Next-Offset"])))
        if healthy == 0:
            fail("no stream was served")

        # 3. Repair: refused while the server holds the directory, then done.
        rep = subprocess.run([binary, "session", "repair", data], capture_output=True)
        if rep.returncode != 4:
            fail("repair while the server runs: exit %d, want 4\n%s" % (rep.returncode, rep.stderr.decode()))
        server.stop()
        rep = subprocess.run([binary, "session", "repair", data], capture_output=True)
        if rep.returncode != 0:
            fail("repair: exit %d\n%s%s" % (rep.returncode, rep.stdout.decode(), rep.stderr.decode()))
        fsck = subprocess.run([binary, "session", "fsck", data], capture_output=True)
        if fsck.returncode != 0:
            fail("fsck after repair: exit %d\n%s" % (fsck.returncode, fsck.stdout.decode()))

        # 4. Everything valid served, at its offsets; no offset handed out twice.
        server.start()
        for a in appenders:
            p = path_of(a.i)
            status, chunks = read_all(server, a.i)
            if status != 200:
                fail("%s: after repair answered %d %r" % (p, status, chunks[:200] if isinstance(chunks, bytes) else ""))
            if p not in damaged:
                continue
            # Each served line is an acknowledged (or in-flight) line at its original offset;
            # at most a few acknowledged lines (the damaged record(s)) are missing.
            at = {}
            start = 0
            for line, end in a.acked:
                at[end - len(line)] = line
                start = end
            missing = set(at)
            for begin, data_ in chunks:
                off = begin
                for line in data_.splitlines(keepends=True):
                    if off in at and at[off] != line:
                        fail("%s: line at offset %d differs from what was acknowledged" % (p, off))
                    if off not in at and not LINE.match(line.rstrip(b"\n")):
                        fail("%s: unknown bytes served at offset %d: %r" % (p, off, line[:80]))
                    missing.discard(off)
                    off += len(line)
            if not 1 <= len(missing) <= 3:
                fail("%s: %d acknowledged lines missing after repair (want the damaged one(s))" % (p, len(missing)))
            acked_tail = a.acked[-1][1]
            st, h, _ = server.request("POST", p, body=b"new\n", headers={"Content-Type": "text/plain"})
            if st not in (200, 204) or offset_of(h["Stream-Next-Offset"]) - 4 < acked_tail:
                fail("%s: append after repair at %s, below the acknowledged %d" % (p, h.get("Stream-Next-Offset"), acked_tail))
            print("recovery_driver: %s repaired: %d acknowledged lines, %d lost, next append at %d" %
                  (p, len(a.acked), len(missing), offset_of(h["Stream-Next-Offset"]) - 4), flush=True)
        server.stop()
        print("recovery_driver: OK", flush=True)
    finally:
        server.stop()
        if os.environ.get("DSX_KEEP_TMP") != "1":
            shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else int(time.time())
    print("recovery_driver: seed %d" % seed, flush=True)
    run(sys.argv[1], seed)


if __name__ == "__main__":
    main()
