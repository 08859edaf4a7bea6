#!/usr/bin/env python3
"""Time to first token and per-token overhead of `dsx session serve --llm-proxy` against the same
upstream called directly (`dsx audit mock-llm`, a fixed token rate), at 1 and N concurrent streams,
in one run, side by side; with nginx installed, also through a plain nginx reverse proxy (stores
nothing, one thread): the bound for a relay on this machine, measured the same way.

  python3 bench/llm_proxy/bench_llm_proxy.py build/bin/dsx [--tokens 50] [--interval-ms 20]
      [--concurrency 1,500] [--repeat 20] [--store memory|file] [--no-keep-alive] [--no-nginx]
      [--compare OTHER_DSX] [--out FILE.md]

--compare OTHER_DSX adds the proxy of another dsx build (say, main before a change) as one more
path in the same rounds, against the same mock: an A/B of two builds on one machine at once.

The mock keeps its connections open between answers (`--keep-alive`), as a hosted model API does,
so the proxy reuses its upstream connection as an SDK's HTTP client would: at t0 every path has
a connected socket to whoever it talks to (the client's own connect is not timed on any path).
--no-keep-alive makes the mock close after each answer, so each proxied call also opens a TCP
connection to it, which the direct path never pays.

Paths alternate within each round (direct, nginx, proxy, direct, ...), and the TTFT added is also
given as the median of the paired per-round differences (robust to a noisy VM). Per stream:
TTFT = request sent -> first content token received. Per token: its lag = arrival - request sent
- n * interval (the mock sends token n at n * interval after the request came in), so the lag
through the proxy minus the lag direct is what the proxy adds to each token. Medians (and p90)
over every token of every stream. One client process (asyncio, stdlib), measuring every path the
same way.
"""
import argparse
import asyncio
import json
import os
import re
import shutil
import socket
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


def measure(paths, n, tokens, interval_s, repeat, tag, pid):
    """The paths (name, base, path) alternate within each round, so a slow spell of the machine (a
    VM's neighbours) lands on all of them alike; returns each path's figures and, for each path
    but the first (direct), the median of its paired TTFT differences (round r's wave minus the
    direct wave of round r)."""
    acc = {name: ([], [], [0.0]) for name, _, _ in paths}
    diffs = {name: [] for name, _, _ in paths}
    cpu = 0.0
    rounds = repeat if n == 1 else max(1, repeat // 10)
    for r in range(rounds):
        firsts = {}
        for name, base, path in paths:
            ttft, lag, total = acc[name]
            c0 = cpu_s(pid) if name == "proxy" else 0.0
            t = time.perf_counter()
            streams = asyncio.run(wave(base, path, n, tokens, "%s%s-%d" % (tag, name, r)))
            total[0] += time.perf_counter() - t
            if name == "proxy":
                cpu += cpu_s(pid) - c0
            for arr in streams:
                ttft.append(arr[0])
                lag += [a - (i + 1) * interval_s for i, a in enumerate(arr)]
            firsts[name] = statistics.median([arr[0] for arr in streams])
        for name in firsts:
            diffs[name].append(firsts[name] - firsts["direct"])

    out = {}
    for name, _, _ in paths:
        ttft, lag, total = acc[name]
        m = {"ttft": statistics.median(ttft), "ttft90": pct(ttft, 0.9), "lag": statistics.median(lag),
             "lag90": pct(lag, 0.9), "streams": len(ttft), "wall": total[0] / rounds,
             "paired": statistics.median(diffs[name])}
        if name == "proxy":
            m["cpu_us_per_token"] = cpu * 1e6 / (len(ttft) * tokens)
        out[name] = m
    return out


NGINX_CONF = """worker_processes 1;
daemon off;
error_log %(dir)s/error.log;
pid %(dir)s/nginx.pid;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path %(dir)s/body; proxy_temp_path %(dir)s/proxy; fastcgi_temp_path %(dir)s/fcgi;
  uwsgi_temp_path %(dir)s/uwsgi; scgi_temp_path %(dir)s/scgi;
  upstream mock { server %(upstream)s; keepalive 1024; }
  server {
    listen 127.0.0.1:%(port)d;
    location / { proxy_pass http://mock; proxy_buffering off; proxy_http_version 1.1;
                 proxy_set_header Connection ""; }
  }
}
"""


def start_nginx(tmp, mock):
    """A plain nginx reverse proxy in front of the mock (no buffering, upstream keep-alive), or
    None when nginx is not installed."""
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not exe:
        return None, None
    d = os.path.join(tmp, "nginx")
    os.makedirs(d)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF % {"dir": d, "upstream": urllib.parse.urlparse(mock).netloc, "port": port})
    p = subprocess.Popen([exe, "-p", d, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.time() + 10
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, "http://127.0.0.1:%d" % port
        except OSError:
            if p.poll() is not None:
                break
            time.sleep(0.05)
    p.kill()
    return None, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dsx")
    ap.add_argument("--tokens", type=int, default=50)
    ap.add_argument("--interval-ms", type=int, default=20)
    ap.add_argument("--concurrency", default="1,500")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--store", default="memory", choices=["memory", "file"])
    ap.add_argument("--no-keep-alive", action="store_true",
                    help="the mock closes after each answer: each proxied call also connects to it")
    ap.add_argument("--no-nginx", action="store_true", help="leave out the nginx bound")
    ap.add_argument("--compare", help="another dsx binary whose proxy runs as one more path")
    ap.add_argument("--out")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="dsx-bench-llm-")
    procs = []
    try:
        p, mock = start([a.dsx, "audit", "mock-llm", "--listen", "127.0.0.1:0", "--tokens", str(a.tokens),
                         "--interval-ms", str(a.interval_ms)] + ([] if a.no_keep_alive else ["--keep-alive"]),
                        tmp, "mock")
        procs.append(p)
        store = ["--memory"] if a.store == "memory" else ["--data", os.path.join(tmp, "data"), "--fsync", "always"]
        srv_proc, srv = start([a.dsx, "session", "serve", "--listen", "127.0.0.1:0", "--max-connections", "5000"] + store +
                              ["--llm-proxy", mock + "/v1"], tmp, "server")
        procs.append(srv_proc)
        paths = [("direct", mock, "/v1/chat/completions")]
        if not a.no_nginx:
            ngx_proc, ngx = start_nginx(tmp, mock)
            if ngx_proc:
                procs.append(ngx_proc)
                paths.append(("nginx", ngx, "/v1/chat/completions"))
        if a.compare:
            cmp_proc, cmp_srv = start([a.compare, "session", "serve", "--listen", "127.0.0.1:0", "--max-connections",
                                       "5000"] + [x.replace("/data", "/data-compare") for x in store] +
                                      ["--llm-proxy", mock + "/v1"], tmp, "compare")
            procs.append(cmp_proc)
            paths.append(("compare", cmp_srv, "/llm/v1/chat/completions"))
        paths.append(("proxy", srv, "/llm/v1/chat/completions"))
        rows = []
        for n in [int(x) for x in a.concurrency.split(",")]:
            # warm-up (connections, page cache, thread creation paths)
            for _, base, path in paths:
                asyncio.run(wave(base, path, min(n, 4), a.tokens, "warm%d" % n))
            rows.append((n, measure(paths, n, a.tokens, a.interval_ms / 1000, a.repeat, "r%d" % n, srv_proc.pid)))
        lines = ["| streams | path | TTFT median | TTFT added, paired by round (median) | TTFT p90 | "
                 "token lag median | token lag p90 | wall per wave | proxy CPU per token |",
                 "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for n, res in rows:
            d = res["direct"]
            for name, _, _ in paths:
                m = res[name]
                label = {"direct": "direct", "nginx": "nginx (relay, stores nothing)", "proxy": "**dsx proxy**",
                         "compare": "dsx proxy, --compare build"}[name]
                added = "" if name == "direct" else "%s%+.2f ms%s" % ("**" if name == "proxy" else "", m["paired"] * 1e3,
                                                                       "**" if name == "proxy" else "")
                lines.append("| %d | %s | %.2f ms | %s | %.2f ms | %.2f ms | %.2f ms | %.2f s | %s |" % (
                    n, label, m["ttft"] * 1e3, added, m["ttft90"] * 1e3, m["lag"] * 1e3, m["lag90"] * 1e3, m["wall"],
                    "%.0f us" % m["cpu_us_per_token"] if name == "proxy" else ""))
            x = res["proxy"]
            lines.append("| %d | proxy - direct (medians) | %+.2f ms (x%.3f) | | %+.2f ms | **%+.2f ms** | %+.2f ms | | |" % (
                n, (x["ttft"] - d["ttft"]) * 1e3, x["ttft"] / d["ttft"], (x["ttft90"] - d["ttft90"]) * 1e3,
                (x["lag"] - d["lag"]) * 1e3, (x["lag90"] - d["lag90"]) * 1e3))
        table = "\n".join(lines)
        info = "tokens %d per stream, %d ms apart; store %s; mock keep-alive %s; %d rounds at 1 stream, %d at more" % (
            a.tokens, a.interval_ms, a.store, "off" if a.no_keep_alive else "on", a.repeat, max(1, a.repeat // 10))
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
