#!/usr/bin/python3
"""Formats the results of bench/streams/run (a key=value file) as Markdown, with pass/fail
against the issue-2 targets (dsx on --fsync always). Standard library only (Debian python3)."""
import argparse
import os
import re
import statistics
import sys

SERVERS = [("dsx-file", "dsx file `--fsync always`"), ("dsx-mem", "dsx `--memory`"),
           ("ref-mem", "reference memory"), ("ref-file", "reference file (`dataDir`)"),
           ("nginx", "nginx 204 ceiling"), ("floor", "fan-out floor (`floor_fanout`)")]


COUNT_SUFFIXES = (".bad", ".lost", ".requests")


def combine(key, vs):
    if len(vs) == 1:
        return vs[0]
    try:
        nums = [float(v) for v in vs]
    except ValueError:
        return vs[-1]
    if key.endswith(COUNT_SUFFIXES):
        return str(int(sum(nums)))
    return repr(statistics.median(nums))


def round_ratios(values, metric, a, b):
    """a's value over b's, round by round (empty unless both have one value per round)."""
    va, vb = values.get(f"{a}.{metric}", []), values.get(f"{b}.{metric}", [])
    try:
        return [float(x) / float(y) for x, y in zip(va, vb)] if len(va) == len(vb) else []
    except (ValueError, ZeroDivisionError):
        return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kv")
    ap.add_argument("work")
    for opt in ["started", "load-before", "load-after", "seconds", "rounds", "catchup-mib", "idle-subs",
                "quick", "dsx", "dsx-version", "servers"]:
        ap.add_argument("--" + opt, default="")
    a = ap.parse_args()
    # A key measured in several rounds appears once per round: counts (failures, losses,
    # requests) are summed, so any failure in any round shows; every other number is the median.
    values = {}
    with open(a.kv) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k:
                values.setdefault(k, []).append(v)
    kv = {k: combine(k, vs) for k, vs in values.items()}
    present = [(s, label) for s, label in SERVERS if s in a.servers.split()]

    def num(key):
        try:
            return float(kv[key])
        except (KeyError, ValueError):
            return None

    def fmt_rate(v):
        return "—" if v is None else f"{v:,.0f}"

    def fmt_ms(v):
        return "—" if v is None else f"{v / 1000:.2f}"

    def lat(prefix, kind=""):
        return lambda s: "—" if num(f"{s}.{prefix}.{kind}p50_us") is None else \
            f"{fmt_ms(num(f'{s}.{prefix}.{kind}p50_us'))} / {fmt_ms(num(f'{s}.{prefix}.{kind}p99_us'))}"

    def per_sub(s):
        b, af, ok = num(f"{s}.idle.rss_before_kib"), num(f"{s}.idle.rss_after_kib"), num(f"{s}.idle.ok")
        # ok == 0: not every subscriber got its response head within 120 s (no figure).
        if b is None or af is None or not ok:
            return None
        return (af - b) / ok

    rows = []  # (metric, {server: text}, target text, pass/fail text)

    def ok_rate(s, c):
        # wrk counts every answer; a server that fails appends (the reference file store answers
        # 404 for streams it created once it holds more than ~100) is credited only the 2xx share.
        rps, bad, req = num(f"{s}.append{c}.rps"), num(f"{s}.append{c}.bad"), num(f"{s}.append{c}.requests")
        if rps is None or not bad or not req:
            return rps
        return rps * max(0.0, 1 - bad / req)

    for c in (16, 256):
        target = "≥ 3× ref memory, ≥ 60% nginx"
        dsx, ref, ngx = ok_rate("dsx-file", c), ok_rate("ref-mem", c), ok_rate("nginx", c)
        verdict = []
        if dsx is not None and ref is not None:
            verdict.append(f"{dsx / ref:.1f}× ref " + ("✅" if dsx >= 3 * ref else "❌"))
        if dsx is not None and ngx is not None:
            verdict.append(f"{100 * dsx / ngx:.0f}% nginx " + ("✅" if dsx >= 0.6 * ngx else "❌"))
        per_round = round_ratios(values, f"append{c}.rps", "dsx-file", "nginx")
        if len(per_round) > 1:
            verdict.append("per round " + ", ".join(f"{100 * r:.0f}%" for r in per_round) + " nginx")
        rows.append((f"appends/s (2xx only), 256 B, {c} conns",
                     {s: "n/a" if s == "floor" else fmt_rate(ok_rate(s, c)) for s, _ in present},
                     target, "; ".join(verdict) or "—"))
        rows.append((f"append latency p50 / p99 ms, {c} conns",
                     {s: "n/a" if s == "floor" else lat(f"append{c}")(s) for s, _ in present}, "", ""))
        fsync_us, per_sync = num(f"dsx-file.append{c}.fsync_us"), num(f"dsx-file.append{c}.per_sync")
        if fsync_us is not None:
            # Every append is answered after at least one whole fdatasync that began after its
            # write; the rest of its round trip costs at least what nginx's no-op round trip
            # does. So with c requests in flight (Little's law) no such server passes
            # c / (fsync + nginx p50) appends/s on this disk.
            bound, note = "", ""
            ngx_p50 = num(f"nginx.append{c}.p50_us")
            if ngx_p50 is not None and ngx is not None:
                b = c / ((fsync_us + ngx_p50) / 1e6)
                bound = f"bound for any server that syncs each append: {b:,.0f}/s = {100 * b / ngx:.0f}% nginx"
                note = f"{c} / (fsync {fsync_us:.0f} µs + nginx p50 {ngx_p50:.0f} µs)"
            rows.append((f"fdatasync during the run: mean µs / appends per sync, {c} conns",
                         {s: (f"{fsync_us:.0f} / {per_sync:.1f}" if s == "dsx-file" else "n/a") for s, _ in present},
                         note, bound))
        bad = {s: kv.get(f"{s}.append{c}.bad", "—") for s, _ in present}
        if any(v not in ("0", "—") for v in bad.values()):
            rows.append((f"failed appends (non-2xx + socket errors), {c} conns", bad, "0", ""))
    for n in (1, 100, 1000):
        target, verdict = "", ""
        if n == 1000:
            target = "p99 ≤ 5 ms"
            p99 = num("dsx-file.fanout1000.p99_us")
            verdict = "—" if p99 is None else ("✅" if p99 <= 5000 else "❌")
        cells = {}
        for s, _ in present:
            t = lat(f"fanout{n}")(s)
            lost = kv.get(f"{s}.fanout{n}.lost")
            if num(f"{s}.fanout{n}.p50_us") is not None and num(f"{s}.fanout{n}.p50_us") <= 0:
                t = "nothing delivered"
            if lost not in (None, "0") and s != "nginx":
                t += f" ({lost} lost)"
            cells[s] = t if s != "nginx" else "n/a"
        rows.append((f"SSE fan-out delivery (arrival) p50 / p99 ms, {n} sub{'s' if n > 1 else ''}", cells, target, verdict))
    for n in (1, 100, 1000):
        rows.append((f"SSE fan-out, read by the client p50 / p99 ms, {n} sub{'s' if n > 1 else ''}",
                     {s: "n/a" if s == "nginx" else lat(f"fanout{n}", "read_")(s) for s, _ in present}, "", ""))
    rows.append((f"catch-up read MB/s ({a.catchup_mib} MiB stream)",
                 {s: ("n/a" if s in ("nginx", "floor") else ("—" if num(f"{s}.catchup.mb_s") is None else f"{num(f'{s}.catchup.mb_s'):,.0f}"))
                  for s, _ in present}, "", ""))
    ps = per_sub("dsx-file")
    rows.append((f"server RSS per idle SSE subscriber, KiB ({a.idle_subs} subs)",
                 {s: ("n/a" if s in ("nginx", "floor") else ("—" if per_sub(s) is None else f"{per_sub(s):.1f}")) for s, _ in present},
                 "≤ 16 KiB", "—" if ps is None else ("✅" if ps <= 16 else "❌")))

    out = []
    w = out.append
    w(f"# bench/streams: dsx session serve vs the Durable Streams reference server{' (quick run)' if a.quick == '1' else ''}")
    w("")
    w(f"Run {a.started} on this machine ({os.cpu_count()} CPUs, {cpu_model()}); 1/5/15-min load average "
      f"**{a.load_before}** before, **{a.load_after}** after. Every server, the load generators and the "
      f"subscribers share the same cores; other work on the machine was not stopped.")
    w(f"dsx: `{a.dsx_version}` ({a.dsx}); reference: `@durable-streams/server@0.3.7` on Node {node_version()}; "
      f"wrk -t2, {a.seconds} s per run; nginx-light, 2 workers.")
    rounds = int(a.rounds or "1")
    if rounds > 1:
        w(f"Appends and the 1000-subscriber fan-out ran in {rounds} rounds, each round measuring every server "
          "once on a fresh start, in turn; their cells (and the ratios judged) are the medians of the rounds, "
          "failure and loss counts the sums. The other rows come from round 1.")
    w("")
    w("| metric | " + " | ".join(label for _, label in present) + " | target (dsx file) | pass/fail |")
    w("| --- |" + " ---: |" * len(present) + " --- | --- |")
    for metric, cells, target, verdict in rows:
        w(f"| {metric} | " + " | ".join(cells.get(s, "—") for s, _ in present) + f" | {target} | {verdict} |")
    w("")
    w("How each row is measured (bench/streams/run, bench/streams/dsbench.cpp, bench/streams/append.lua):")
    w("- appends: `wrk -t2 -c16|-c256` POSTing 256-byte `application/octet-stream` bodies round-robin over 256 "
      "pre-created streams (distinct streams, no producer headers); wrk's latency percentiles. nginx answers 204 "
      "and stores nothing.")
    w("- fdatasync row: the file store's own counters (`dsx_fsync_seconds`, `dsx_fsync_appends_total` in `GET /metrics`) "
      "read before and after each dsx-file run. Its bound: an append is answered only after a whole fdatasync that "
      "began after its write, and the rest of its round trip costs at least nginx's no-op round trip, so with C "
      "requests in flight no server that syncs each append exceeds C / (mean fsync + nginx p50) appends/s here "
      "(Little's law; optimistic, since it assumes no append ever waits for a sync already running).")
    w("- fan-out: one writer POSTs `@T<CLOCK_REALTIME ns>` to a `text/plain` stream at 50/s; N SSE readers "
      "(`offset=-1&live=sse`) in the same process read by one thread (level-triggered epoll, one recvmsg per "
      "ready socket) record, per (event, reader) pair, two latencies from the POST: **arrival**, the kernel's "
      "receive timestamp of the bytes (SO_TIMESTAMPNS: when the server's write reached the reader's socket, "
      "the server's delivery latency, judged against the target), and **read**, when this one client thread "
      "got round to that socket (arrival plus the client's own queueing over 1,000 sockets, which a real "
      "reader on its own device does not have). \"lost\" = events a reader never got. The floor column "
      "(bench/streams/floor_fanout.cpp) stores and parses nothing: on each POST it writes one prebuilt chunk "
      "to every subscriber socket (two writer threads, one write(2) each), then answers 204 — the cost of the TCP writes and of the "
      "same load generator, with no server logic.")
    w(f"- catch-up: {a.catchup_mib} MiB appended in 256 KiB POSTs, then read from `-1` following "
      "`Stream-Next-Offset` on one keep-alive connection until `Stream-Up-To-Date` (page cache warm).")
    w(f"- idle subscribers: server VmRSS with {a.idle_subs} open SSE readers on one stream (2 s after the last "
      "head) minus VmRSS before, divided by the number connected.")
    prof = profile_section(a.work, kv)
    if prof:
        w("")
        w(prof)
    print("\n".join(out))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def node_version():
    return os.popen("node --version").read().strip()


def profile_section(work, kv):
    parts = []
    if "profile.dsx_cores" in kv:
        parts.append(f"## Profile: dsx file store, `--fsync always`, wrk -c256\n\n"
                     f"{kv.get('profile.rps', '?')} appends/s while profiled; CPU used: dsx {kv['profile.dsx_cores']} cores, "
                     f"wrk {kv.get('profile.wrk_cores', '?')} cores (of {os.cpu_count()}).")
    metrics = os.path.join(work, "profile.metrics")
    if os.path.exists(metrics):
        keep = [l for l in open(metrics) if not l.startswith("#") and re.search(r"(append|sync|fsync)", l)
                and not re.search(r"_bucket\{", l)]
        vals = {}
        for l in keep:
            m = re.match(r"^(\w+) ([0-9.e+-]+)$", l.strip())
            if m:
                vals[m.group(1)] = float(m.group(2))
        if vals.get("dsx_fsync_seconds_count"):
            n = vals["dsx_fsync_seconds_count"]
            parts.append(f"Group commit: {vals.get('dsx_fsync_appends_total', 0) / n:.0f} appends per fsync on average, "
                         f"mean fsync {1000 * vals.get('dsx_fsync_seconds_sum', 0) / n:.2f} ms over {n:.0f} fsyncs.")
        if keep:
            parts.append("Server counters after the profiled run (`GET /metrics`, append/sync lines):\n\n```\n"
                         + "".join(keep[:20]) + "```")
    for name, title in (("profile.dso", "CPU samples by object (`perf report --sort dso`)"),
                        ("profile.sym", "Top symbols (`perf report --no-children --sort symbol`)")):
        p = os.path.join(work, name)
        if os.path.exists(p) and os.path.getsize(p) > 0:
            parts.append(f"{title}:\n\n```\n" + open(p).read() + "```")
    return "\n\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
