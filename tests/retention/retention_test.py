"""Retention and restart recovery of `dsx session serve`, end to end.

disk: a stream with a 1 s TTL is filled past two 64 MiB segments and then left alone; the
periodic sweep (--sweep-interval-ms 200) must expire it without any request, log one line, and
the file store must unlink its sealed segments, so the data directory shrinks by at least one
segment. Afterwards the stream answers 404.

lease_restart: a session gets a run with a 1 s lease, then the server is stopped (its agent
"dies" meanwhile) and started again on the same data. Without any request to the session, the
server must append run.end {reason: agent_lost} within a few seconds of the restart.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from dsx_harness import Checker, DsxServer, tempdir  # noqa: E402

SEGMENT = 64 << 20  # the file store's segment target size (segment_format.hpp)


def http(url, method="GET", body=None, headers=None, timeout=30):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def disk_bytes(path):
    """Bytes allocated under `path` (st_blocks, so preallocation and holes count as on disk)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def wait_for(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def test_disk(dsx, c):
    with tempdir("dsx-retention-") as tmp:
        data = os.path.join(tmp, "data")
        s = DsxServer(dsx, data_dir=data, extra=["--fsync", "never", "--sweep-interval-ms", "200"]).start()
        try:
            url = s.url + "/v1/stream/big"
            st, _ = http(url, "PUT", b"", {"Content-Type": "application/octet-stream", "Stream-TTL": "1"})
            c.check(st == 201, f"create with TTL: {st}")
            st, _ = http(s.url + "/v1/stream/keep", "PUT", b"stays", {"Content-Type": "text/plain"})
            c.check(st == 201, f"create the stream that stays: {st}")
            chunk = b"x" * (8 << 20)
            for i in range((2 * SEGMENT + SEGMENT // 4) // len(chunk)):
                st, _ = http(url, "POST", chunk, {"Content-Type": "application/octet-stream"})
                if st not in (200, 204):
                    c.check(False, f"append {i}: {st}")
                    return
            full = disk_bytes(data)
            c.check(full >= 2 * SEGMENT, f"data dir holds the stream: {full} bytes")
            before = sorted(os.listdir(os.path.join(data, "segments")))
            t0 = time.monotonic()
            # The sealed segments hold only the expired stream's data and are unlinked; the
            # active one stays (the store reuses it). At least one full segment must go.
            shrunk = wait_for(lambda: disk_bytes(data) <= full - SEGMENT // 2 - (8 << 20), 15)
            took = time.monotonic() - t0
            after = disk_bytes(data)
            c.check(shrunk, f"data dir shrinks by a sealed segment after the sweep: {full} -> {after} bytes")
            logs = b"".join(s.stderr_lines).decode(errors="replace")
            c.check("expired streams removed" in logs, "the sweep logged one line: " + logs[-500:])
            st, _ = http(url, "HEAD")
            c.check(st == 404, f"the expired stream is gone: {st}")
            st, body = http(s.url + "/v1/stream/keep")
            c.check(st == 200 and body == b"stays", f"the other stream is untouched: {st} {body!r}")
            print(f"disk: {full >> 20} MiB -> {after >> 20} MiB, {took:.2f} s after the last append")
            print("files before:", before, "after:", sorted(os.listdir(os.path.join(data, "segments"))))
        finally:
            s.stop()


def test_lease_restart(dsx, c):
    with tempdir("dsx-retention-") as tmp:
        data = os.path.join(tmp, "data")
        s = DsxServer(dsx, data_dir=data).start()
        try:
            base = s.url + "/v1/session/chat/r"
            st, _ = http(base, "PUT")
            c.check(st == 201, f"session created: {st}")
            ev = json.dumps({"type": "run.start", "data": {"lease_ms": 1000}}).encode()
            st, body = http(base + "/events", "POST", ev, {"Content-Type": "application/json"})
            c.check(st == 200, f"run.start: {st} {body!r}")
            run = json.loads(body)["run"] if st == 200 else ""
            # The agent dies while the server is down; nobody touches the session afterwards.
            s.stop()
            s.start()
            t0 = time.monotonic()

            def log():
                st, body = http(s.url + "/v1/stream/chat/r?offset=-1")  # the raw stream: no hub involved
                return json.loads(body) if st == 200 else []

            ended = wait_for(lambda: any(e.get("type") == "run.end" for e in log()), 10)
            took = time.monotonic() - t0
            c.check(ended, "run.end appended after the restart without any request")
            ends = [e for e in log() if e.get("type") == "run.end"]
            if ends:
                e = ends[0]
                c.check(e.get("run") == run, f"for the right run: {e}")
                c.check(e.get("data", {}).get("reason") == "agent_lost", f"reason agent_lost: {e}")
                c.check(e.get("from", {}).get("sub") == "@server", f"from the server: {e}")
                c.check(took >= 0.8, f"not before the lease (1 s from the restart) lapsed: {took:.2f} s")
            print(f"lease_restart: run.end agent_lost {took:.2f} s after the restart (lease 1 s)")
        finally:
            s.stop()


def main():
    dsx, name = sys.argv[1], sys.argv[2]
    c = Checker()
    {"disk": test_disk, "lease_restart": test_lease_restart}[name](dsx, c)
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
