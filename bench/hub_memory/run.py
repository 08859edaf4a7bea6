#!/usr/bin/env python3
"""What a dsx server keeps after requests for sessions that do not exist, and what its reaper
then costs while idle: the SessionHub used to keep an entry for every session name asked for
(HubOptions::idle_evict_ms now drops them). Side by side with another build (--compare).

usage: bench/hub_memory/run.py DSX [--compare OTHER_DSX] [--requests 200000] [--store memory|file]
Prints one JSON line per build: RSS before and after, and the server's CPU over 5 idle seconds.
"""
import argparse
import http.client
import json
import os
import subprocess
import tempfile
import time


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return -1


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(dsx, requests, store):
    tmp = tempfile.mkdtemp(prefix="dsx-hub-memory-")
    ready = os.path.join(tmp, "ready.json")
    args = [dsx, "session", "serve", "--listen", "127.0.0.1:0", "--ready-file", ready, "-q"]
    args += ["--memory"] if store == "memory" else ["--data", os.path.join(tmp, "data")]
    proc = subprocess.Popen(args)
    try:
        for _ in range(500):
            if os.path.exists(ready):
                break
            time.sleep(0.01)
        info = json.load(open(ready))
        host, port = info["listen"].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port))
        before = rss_mb(proc.pid)
        start = time.time()
        for i in range(requests):
            conn.request("GET", f"/v1/session/missing-{i}")
            r = conn.getresponse()
            r.read()
            if r.status != 404:
                raise SystemExit(f"expected 404, got {r.status}")
        elapsed = time.time() - start
        time.sleep(1)  # past a reaper period
        c0 = cpu_s(proc.pid)
        time.sleep(5)
        idle_cpu = (cpu_s(proc.pid) - c0) / 5 * 100
        return {"dsx": dsx, "store": store, "requests": requests, "req_per_s": round(requests / elapsed),
                "rss_before_mb": before, "rss_after_mb": rss_mb(proc.pid), "idle_cpu_pct": round(idle_cpu, 1)}
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dsx")
    ap.add_argument("--compare")
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--store", choices=["memory", "file"], default="memory")
    a = ap.parse_args()
    for dsx in [a.compare, a.dsx] if a.compare else [a.dsx]:
        print(json.dumps(measure(os.path.abspath(dsx), a.requests, a.store)), flush=True)


if __name__ == "__main__":
    main()
