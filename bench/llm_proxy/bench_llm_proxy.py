#!/usr/bin/env python3
"""Time to first token and per-token overhead of `dsx session serve --llm-proxy` against the same
upstream called directly (`dsx audit mock-llm`, a fixed token rate), at 1 and N concurrent streams,
in one run, side by side.

  python3 bench/llm_proxy/bench_llm_proxy.py build/bin/dsx [--tokens 50] [--interval-ms 20]
      [--concurrency 1,500] [--repeat 20] [--store memory|file] [--keep-alive] [--out FILE.md]

--keep-alive starts the mock with `--keep-alive`, so the upstream keeps its connections open
between answers as a hosted model API does and the proxy reuses them (without it every proxied
call also opens a TCP connection to the mock, which the direct path never pays: the client's own
connect is not timed on either path).

Direct and proxied rounds alternate, and the TTFT added is also given as the median of the paired
per-round differences (robust to a noisy VM). Per stream: TTFT = request sent -> first content
token received. Per token: its lag = arrival -
request sent - n * interval (the mock sleeps `interval` before each token), so the lag through the
proxy minus the lag direct is what the proxy adds to each token. Medians (and p90) over every
token of every stream. One client process (asyncio, stdlib), measuring both paths the same way.
"""
import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse


def start(args, tmp, name):
    log_path = os.path.join(tmp, name + ".log")
    p = subprocess.Popen(args, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
    end = time.time() + 30
    while time.time() < end:
        m = re.search(rb"listening on (http://[0-9.]+:\d+)", open(log_path, "rb").read())
        if m:
            return p, m.group(1).decode()
        if p.poll() is not None:
            break
        time.sleep(0.02)
    raise SystemExit(name + " did not start: " + open(log_path, "rb").read().decode(errors="replace"))


async def one_stream(base, path, tokens, session=None):
    u = urllib.parse.urlparse(base)
    body = json.dumps({"model": "dsx-mock", "stream": True,
                       "messages": [{"role": "user", "content": "count"}]}).encode()
    head = ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAuthorization: Bearer sk-bench\r\n"
            "Content-Length: %d\r\nConnection: close\r\n" % (path, u.netloc, len(body)))
    if session:
        head += "X-Dsx-Session: %s\r\n" % session
    reader, writer = await asyncio.open_connection(u.hostname, u.port, limit=1 << 20)
    t0 = time.perf_counter()
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    status = await reader.readline()
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower():
            chunked = True
    arrivals = []
    buf = b""

    async def next_bytes():
        if not chunked:
            return await reader.read(65536)
        size_line = await reader.readline()
        if not size_line:
            return b""
        n = int(size_line.strip() or b"0", 16)
        if n == 0:
            return b""
        data = await reader.readexactly(n)
        await reader.readexactly(2)
        return data

    while True:
        data = await next_bytes()
        if not data:
            break
        now = time.perf_counter()
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.startswith(b"data: ") and line != b"data: [DONE]":
                try:
                    c = json.loads(line[6:])
                except ValueError:
                    continue
                ch = c.get("choices") or []
                if ch and (ch[0].get("delta") or {}).get("content"):
                    arrivals.append(now - t0)
    writer.close()
    if not status.startswith(b"HTTP/1.1 200") or len(arrivals) != tokens:
        raise RuntimeError("stream failed: %r, %d tokens" % (status, len(arrivals)))
    return arrivals


async def wave(base, path, n, tokens, tag):
    sessions = [("bench/%s/%d-%d" % (tag, n, i)) if "/llm/" in path else None for i in range(n)]
    return await asyncio.gather(*[one_stream(base, path, tokens, s) for s in sessions])


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def cpu_s(pid):
    """User + system CPU seconds of a process so far (/proc, clock ticks)."""
    if not pid:
        return 0.0
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def measure_pair(mock, srv, n, tokens, interval_s, repeat, tag, pid):
    """Direct and proxied waves alternate (direct, proxy, direct, ...), so a slow spell of the
    machine (a VM's neighbours) lands on both paths alike; returns both paths' figures and the
    median of the paired TTFT differences (round r's proxy wave minus its direct wave)."""
    acc = {"d": ([], [], [0.0]), "p": ([], [], [0.0])}
    cpu = 0.0
    diffs = []
    rounds = repeat if n == 1 else max(1, repeat // 10)
    for r in range(rounds):
        firsts = {}
        for which, base, path in (("d", mock, "/v1/chat/completions"), ("p", srv, "/llm/v1/chat/completions")):
            ttft, lag, total = acc[which]
            c0 = cpu_s(pid) if which == "p" else 0.0
            t = time.perf_counter()
            streams = asyncio.run(wave(base, path, n, tokens, "%s%s-%d" % (tag, which, r)))
            total[0] += time.perf_counter() - t
            if which == "p":
                cpu += cpu_s(pid) - c0
            for arr in streams:
                ttft.append(arr[0])
                lag += [a - (i + 1) * interval_s for i, a in enumerate(arr)]
            firsts[which] = statistics.median([arr[0] for arr in streams])
        diffs.append(firsts["p"] - firsts["d"])

    def summary(which, cpu_s_total=None):
        ttft, lag, total = acc[which]
        m = {"ttft": statistics.median(ttft), "ttft90": pct(ttft, 0.9), "lag": statistics.median(lag),
             "lag90": pct(lag, 0.9), "streams": len(ttft), "wall": total[0] / rounds}
        if cpu_s_total is not None:
            m["cpu_us_per_token"] = cpu_s_total * 1e6 / (len(ttft) * tokens)
        return m

    return summary("d"), summary("p", cpu), statistics.median(diffs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dsx")
    ap.add_argument("--tokens", type=int, default=50)
    ap.add_argument("--interval-ms", type=int, default=20)
    ap.add_argument("--concurrency", default="1,500")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--store", default="memory", choices=["memory", "file"])
    ap.add_argument("--keep-alive", action="store_true", help="the mock keeps connections open (as a hosted API)")
    ap.add_argument("--out")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="dsx-bench-llm-")
    procs = []
    try:
        p, mock = start([a.dsx, "audit", "mock-llm", "--listen", "127.0.0.1:0", "--tokens", str(a.tokens),
                         "--interval-ms", str(a.interval_ms)] + (["--keep-alive"] if a.keep_alive else []), tmp, "mock")
        procs.append(p)
        store = ["--memory"] if a.store == "memory" else ["--data", os.path.join(tmp, "data"), "--fsync", "always"]
        srv_proc, srv = start([a.dsx, "session", "serve", "--listen", "127.0.0.1:0", "--max-connections", "5000"] + store +
                       ["--llm-proxy", mock + "/v1"], tmp, "server")
        procs.append(srv_proc)
        rows = []
        for n in [int(x) for x in a.concurrency.split(",")]:
            # warm-up (connections, page cache, thread creation paths)
            asyncio.run(wave(srv, "/llm/v1/chat/completions", min(n, 4), a.tokens, "warm%d" % n))
            d, x, paired = measure_pair(mock, srv, n, a.tokens, a.interval_ms / 1000, a.repeat, "r%d" % n, srv_proc.pid)
            rows.append((n, d, x, paired))
        lines = ["| streams | path | TTFT median | TTFT p90 | token lag median | token lag p90 | wall per wave | "
                 "proxy CPU per token |",
                 "|---:|---|---:|---:|---:|---:|---:|---:|"]
        for n, d, x, paired in rows:
            for name, m in (("direct", d), ("proxy", x)):
                lines.append("| %d | %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f s | %s |" % (
                    n, name, m["ttft"] * 1e3, m["ttft90"] * 1e3, m["lag"] * 1e3, m["lag90"] * 1e3, m["wall"],
                    "%.0f us" % m["cpu_us_per_token"] if name == "proxy" else ""))
            lines.append("| %d | **proxy - direct** | **%+.2f ms** (x%.3f) | %+.2f ms | **%+.2f ms** | %+.2f ms | |" % (
                n, (x["ttft"] - d["ttft"]) * 1e3, x["ttft"] / d["ttft"], (x["ttft90"] - d["ttft90"]) * 1e3,
                (x["lag"] - d["lag"]) * 1e3, (x["lag90"] - d["lag90"]) * 1e3))
            lines[-1] += " |"
            lines.append("| %d | proxy - direct, paired by round (median) | **%+.2f ms** | | | | | |" % (n, paired * 1e3))
        table = "\n".join(lines)
        info = "tokens %d per stream, %d ms apart; store %s; %d rounds at 1 stream, %d at more" % (
            a.tokens, a.interval_ms, a.store, a.repeat, max(1, a.repeat // 10))
        print(info)
        print(table)
        if a.out:
            with open(a.out, "a") as f:
                f.write("\n### store: %s\n\n%s\n\n%s\n" % (a.store, info, table))
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


if __name__ == "__main__":
    main()
