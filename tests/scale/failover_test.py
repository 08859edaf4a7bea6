"""Failures with dsx on Redis (issue 16): a node killed under a reader and a writer that hold a
list of servers, Redis restarted (AOF, appendfsync always) during concurrent idempotent appends,
Redis unreachable (503 with a reason, no crash, service resumes by itself), and a Sentinel
failover with --redis-wait-replicas 1.

Usage: failover_test.py DSX {reader_failover,session_reader_failover,publisher_failover,redis_restart,
       redis_unreachable,sentinel_failover,durability_warnings} [standalone|cluster (the first three)]
"""
import json
import subprocess
import sys
import threading
import time

import harness as h
from harness import append, create_stream, http, log, read_all, read_json_all, wait_for


def expected(lines):
    return "".join("line %04d\n" % i for i in range(lines))


class Collector(threading.Thread):
    """Reads a child's stdout as it arrives (so the test can see progress)."""

    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc, self.out = proc, b""
        self.start()

    def run(self):
        while True:
            b = self.proc.stdout.read1(65536) if hasattr(self.proc.stdout, "read1") else self.proc.stdout.read(1)
            if not b:
                return
            self.out += b


def line_writer(base, name, lines, pace, producer="lines", start=0):
    """Appends 'line NNNN\\n' one per POST through `base`, idempotently, retrying on 503/errors."""
    for i in range(start, lines):
        deadline = time.time() + 30
        while True:
            try:
                st, _, b = append(base, name, "line %04d\n" % i, producer=(producer, 1, i))
            except OSError as e:
                st, b = 0, repr(e).encode()
            if st in (200, 204):
                break
            assert st in (0, 503) and time.time() < deadline, "append %d through %s: %d %r" % (i, base, st, b[:200])
            time.sleep(0.05)
        time.sleep(pace)


def test_reader_failover(dsx, kind="standalone"):
    """`dsx session tail -f --server A,B` (SSE and long-poll) follows a stream written through B;
    A is killed with SIGKILL mid-stream; the readers go on through B and end, at the close, with
    the exact text."""
    _store, url = h.make_store(kind)
    a, b = h.Node(dsx, url, "nodeA", ["--log-requests"]).start(), h.Node(dsx, url, "nodeB").start()
    name, lines = "follow/x", 300
    create_stream(b.url, name)
    readers = {}
    for live in ("sse", "long-poll"):
        p = h.popen([dsx, "session", "tail", name, "-f", "--live", live, "--server", a.url + "," + b.url],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        readers[live] = (p, Collector(p))
    writer = threading.Thread(target=line_writer, args=(b.url, name, lines, 0.01), daemon=True)
    writer.start()
    def progress():
        for live, (p, c) in readers.items():
            if p.poll() is not None:
                raise h.Fatal("tail --live %s --server A,B exited %d early: %s" % (
                    live, p.returncode, p.stderr.read().decode(errors="replace")[-1500:]))
        return all(c.out.count(b"\n") >= 50 for _, c in readers.values())
    try:
        wait_for(progress, 30, "both readers to print 50 lines")
    except AssertionError as e:
        raise AssertionError("%s; printed: %r" % (e, {k: c.out.count(b"\n") for k, (_, c) in readers.items()}))
    # Both readers are on A (the first server of the list): A's request log has their reads.
    wait_for(lambda: open(a.log, errors="replace").read().count("/v1/stream/" + name) >= 2, 5,
             "A's request log to show the readers")
    a.kill9()
    writer.join(120)
    assert not writer.is_alive(), "writer did not finish"
    st, _, body = append(b.url, name, "", extra={"Stream-Closed": "true"})
    assert st == 204, (st, body)
    for live, (p, c) in readers.items():
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            raise AssertionError("tail --live %s did not end after the close (output so far %d bytes, last %r)"
                                 % (live, len(c.out), c.out[-80:]))
        c.join(10)
        err = p.stderr.read().decode(errors="replace")
        out = c.out.decode(errors="replace")
        assert p.returncode == 0, (live, p.returncode, err[-2000:])
        if out != expected(lines):
            got = out.splitlines()
            dup = sorted({x for x in got if got.count(x) > 1})[:10]
            gap = [x for x in expected(lines).splitlines() if x not in got][:10]
            raise AssertionError("tail --live %s: text differs (%d lines, duplicates %r, missing %r)\nstderr: %s"
                                 % (live, len(got), dup, gap, err[-1500:]))
        log("tail --live %s: exact text (%d lines) across the SIGKILL of A; stderr: %s"
            % (live, lines, " | ".join(err.strip().splitlines()[-3:])))
    got, _ = read_all(b.url, name)
    assert got.decode() == expected(lines)


def test_session_reader_failover(dsx, kind="standalone"):
    """`dsx session tail SESSION -f --jsonl --server A,B` follows a session whose agent runs on B;
    A is killed with SIGKILL mid-reply; the reader goes on through B and ends with the exact text."""
    import session_test as st
    _store, url = h.make_store(kind)
    a, b = h.Node(dsx, url, "nodeA").start(), h.Node(dsx, url, "nodeB").start()
    session, lines = "chat/k", 150
    a.stop()
    a.extra = ["--log-requests"]
    a.start()
    runner = st.start_run(dsx, b, session, st.agent_cmd(lines, 0.02))
    st.run_of(b, session)
    reader = h.popen([dsx, "session", "tail", session, "--server", a.url + "," + b.url, "--follow", "--jsonl"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = Collector(reader)

    def text():
        evs = [json.loads(x) for x in out.out.decode(errors="replace").splitlines() if x.strip()]
        return "".join(h.texts(evs).values())
    wait_for(lambda: text().count("\n") >= 30, 20, "the reader to print 30 lines")
    assert "chat/k" in open(a.log, errors="replace").read(), "the reader is not reading through A (first of the list)"
    a.kill9()
    o, e = runner.communicate(timeout=60)
    assert runner.returncode == 0, (o, e)
    try:
        wait_for(lambda: text() == expected(lines), 15, "the reader's text to be complete")
    except AssertionError as ex:
        got = text().splitlines()
        raise AssertionError("%s: %d lines, duplicates %r, stderr %s" % (
            ex, len(got), sorted({x for x in got if got.count(x) > 1})[:5],
            reader.stderr.read1(100000).decode(errors="replace")[-1500:] if reader.poll() is not None else "(running)"))
    reader.terminate()
    reader.wait(10)
    log("session tail -f --server A,B: exact text (%d lines) across the SIGKILL of A" % lines)


def test_publisher_failover(dsx, kind="standalone"):
    """`dsx session publish --producer P --server A,B` keeps appending through B after A is
    killed with SIGKILL; the stream ends with the exact text (no gap, no duplicate)."""
    _store, url = h.make_store(kind)
    a, b = h.Node(dsx, url, "nodeA").start(), h.Node(dsx, url, "nodeB").start()
    name, lines = "pub/x", 200
    create_stream(b.url, name)
    p = h.popen([dsx, "session", "publish", name, "--server", a.url + "," + b.url, "--producer", "pub-1",
                 "--epoch", "1", "--close", "--retry-for", "60"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    def died(e):
        p.wait(10)
        return AssertionError("publish --server A,B stopped reading stdin (%r): exit %s, stderr: %s" % (
            e, p.returncode, p.stderr.read().decode(errors="replace")[-1500:]))
    for i in range(lines):
        try:
            p.stdin.write(b"line %04d\n" % i)
            p.stdin.flush()
        except BrokenPipeError as e:
            raise died(e)
        if i == lines // 2:
            wait_for(lambda: read_all(b.url, name)[0].count(b"\n") >= lines // 4, 30, "publish to have sent a quarter")
            a.kill9()
        time.sleep(0.01)
    p.stdin.close()
    try:
        p.wait(90)
    except subprocess.TimeoutExpired:
        raise AssertionError("publish did not exit")
    err = p.stderr.read().decode(errors="replace")
    assert p.returncode == 0, (p.returncode, err[-2000:])
    got, _ = read_all(b.url, name)
    assert got.decode() == expected(lines), "stream text differs: %d lines, last %r\nstderr: %s" % (
        got.count(b"\n"), got[-60:], err[-1500:])
    st, hd, _ = http("HEAD", h.stream_url(b.url, name))
    assert hd.get("stream-closed") == "true", hd
    log("publish --server A,B: exact text (%d lines) and closed, across the SIGKILL of A" % lines)


def _acked(writers):
    return sum(len(w.acked) for w in writers)


def _errors(writers):
    return sum(len(w.errors) for w in writers)


def _finish(writers, timeout=180):
    for w in writers:
        w.join(timeout)
        assert not w.is_alive(), "writer %d still running" % w.k
    fails = [w.failure for w in writers if w.failure]
    assert not fails, "writers failed: %r" % fails


def test_redis_restart(dsx):
    """Redis (AOF, appendfsync always) killed with SIGKILL and restarted, then stopped and
    restarted, while 4 idempotent producers append through two nodes (and `dsx session publish
    --producer` writes a text stream): every acknowledged append is present exactly once."""
    h.require_redis()
    redis = h.Redis().start()
    a, b = h.Node(dsx, redis.url, "nodeA").start(), h.Node(dsx, redis.url, "nodeB").start()
    name = "restart/json"
    create_stream(a.url, name, "application/json")
    create_stream(a.url, "restart/text")
    pub = h.popen([dsx, "session", "publish", "restart/text", "--server", a.url, "--producer", "pub-r", "--epoch", "1",
                   "--retry-for", "90"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = 150
    feed_done = threading.Event()

    feed_error = []

    def feed():
        try:
            for i in range(lines):
                pub.stdin.write(b"line %04d\n" % i)
                pub.stdin.flush()
                time.sleep(0.03)
            pub.stdin.close()
        except BrokenPipeError as e:
            feed_error.append(e)
        feed_done.set()

    threading.Thread(target=feed, daemon=True).start()
    writers = [h.Writer([a.url, b.url], name, k, 150, pace=0.01, retry_for=60) for k in range(4)]
    for w in writers:
        w.start()
    for how in ("kill9", "stop"):
        n0 = _acked(writers)
        wait_for(lambda: _acked(writers) >= n0 + 60, 60, "60 more acknowledged appends")
        e0 = _errors(writers)
        getattr(redis, how)()
        # Keep Redis down until the writers have seen it (a 503 or a failed request).
        wait_for(lambda: _errors(writers) >= e0 + len(writers), 20, "the writers to see Redis down (%s)" % how)
        redis.restart()
        log("redis back after %s: %d acknowledged so far, %d errors seen" % (how, _acked(writers), _errors(writers)))
    _finish(writers)
    for n in (a, b):
        n.assert_alive()
        msgs, _ = read_json_all(n.url, name)
        log("%s: %s" % (n.name, h.check_exactly_once(msgs, writers)))
    codes = sorted({e[1] for w in writers for e in w.errors})
    log("errors the writers saw while Redis was down (status codes, 0 = no answer): %r" % codes)
    feed_done.wait(30)
    try:
        pub.wait(120)
    except subprocess.TimeoutExpired:
        raise AssertionError("publish did not exit")
    err = pub.stderr.read().decode(errors="replace")
    assert pub.returncode == 0 and not feed_error, "publish --producer exited %d%s: %s" % (
        pub.returncode, " before reading all of stdin" if feed_error else "", err[-2000:])
    for n in (a, b):
        got, _ = read_all(n.url, "restart/text")
        assert got.decode() == expected(lines), "publish text through %s differs: %d lines\nstderr: %s" % (
            n.name, got.count(b"\n"), err[-1500:])
    log("publish --producer across both restarts: exact text (%d lines)" % lines)


def test_redis_unreachable(dsx):
    """Redis stopped: a POST gets 503 with a reason, the node stays up; Redis started again on
    the same port: appends work again and live readers on the other node wake, without
    restarting either node."""
    h.require_redis()
    redis = h.Redis().start()
    a, b = h.Node(dsx, redis.url, "nodeA").start(), h.Node(dsx, redis.url, "nodeB").start()
    name = "down/x"
    create_stream(a.url, name)
    assert append(a.url, name, "before ")[0] == 204
    # A reader following through B across the outage: told, retries, ends with the exact text.
    tail_p = h.popen([dsx, "session", "tail", name, "-f", "--server", b.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tail_out = Collector(tail_p)
    wait_for(lambda: tail_out.out == b"before ", 10, "tail -f through B to print the first append")
    _, tail_before = read_all(b.url, name)
    # A long-poll parked at the tail on B when Redis dies is told (503 with a reason) once B has
    # found Redis unreachable at two checks a second apart, not left waiting for writes B can no
    # longer hear of. The nodes' long-poll timeout is 2 s, so a poll may end 204 first: poll again.
    parked = {}

    def park():
        parked["r"] = http("GET", h.stream_url(b.url, name) + "?offset=%s&live=long-poll" % tail_before, timeout=40)

    parker = threading.Thread(target=park, daemon=True)
    parker.start()
    time.sleep(0.3)
    redis.kill9()
    t_kill = time.time()
    answers = []
    while True:
        parker.join(40)
        st_p, _, body_p = parked["r"]
        answers.append(st_p)
        if st_p != 204 or time.time() - t_kill > 8:
            break
        parker = threading.Thread(target=park, daemon=True)
        parker.start()
    assert st_p == 503 and b"unreachable" in body_p, "long-polls on B at the tail while Redis is down: %r, last %r" % (answers, body_p[:300])
    log("long-poll on B: 503 %.2f s after Redis died (answers %r): %s" % (time.time() - t_kill, answers, body_p[:160].decode(errors="replace")))
    wait_for(lambda: all(h.http_get(n.url + "/health")[0] == 503 for n in (a, b)), 5, "/health on both nodes to say 503")
    t0 = time.time()
    st, hd, body = append(a.url, name, "during ", timeout=30)
    took = time.time() - t0
    assert st == 503, "POST with Redis down: %d %r (expected 503 with a reason)" % (st, body[:300])
    try:
        reason = json.loads(body).get("error", "")
    except ValueError:
        reason = body.decode(errors="replace")
    assert reason.strip(), "503 without a reason: %r" % body
    log("POST with Redis down: 503 after %.2f s, reason %r, Retry-After %r" % (took, reason, hd.get("retry-after")))
    st2, _, body2 = h.http_get(h.stream_url(b.url, name) + "?offset=-1")
    assert st2 in (200, 503), "GET with Redis down: %d %r" % (st2, body2[:200])
    st3, _, body3 = http("PUT", h.stream_url(a.url, "down/new"), headers={"Content-Type": "text/plain"})
    assert st3 == 503, "PUT with Redis down: %d %r" % (st3, body3[:200])
    hs = h.http_get(a.url + "/health")[0]
    assert hs == 503, "/health with Redis down: %d" % hs
    log("GET with Redis down: %d; PUT: 503; /health: %d" % (st2, hs))
    # Requests keep coming for 2 s of outage: every POST is a 503 with a reason, nothing crashes.
    codes = {}
    until = time.time() + 2.0
    while time.time() < until:
        for n in (a, b):
            st_, _, _ = append(n.url, name, "x", timeout=30)
            codes[st_] = codes.get(st_, 0) + 1
            h.http_get(h.stream_url(n.url, name) + "?offset=-1")
        time.sleep(0.05)
    assert set(codes) == {503}, "POSTs during the outage: %r" % codes
    log("2 s of outage: %d POSTs, all 503" % codes[503])
    for n in (a, b):
        n.assert_alive()
    redis.restart()
    t1 = time.time()
    last = []
    answers = []

    def works():
        # A producer append: a retry of an attempt that was applied but not answered (Redis came
        # back during it) is a duplicate (204), which also means "stored".
        r = append(a.url, name, "after ", producer=("p-after", 1, 0))
        last[:] = [r[0], r[2][:300]]
        if not answers or answers[-1] != r[0]:
            answers.append(r[0])
        return r[0] in (200, 204)
    try:
        wait_for(works, 30, "an append through A to succeed after Redis is back")
    except AssertionError as e:
        raise AssertionError("%s; last answer: %r\nnode A log:\n%s" % (e, last, a.log_text(15)))
    log("append through A works again %.2f s after Redis came back (answers in order: %r)" % (time.time() - t1, answers))
    wait_for(lambda: all(h.http_get(n.url + "/health")[0] == 200 for n in (a, b)), 5, "/health on both nodes to say 200 again")
    # Through both nodes (B hears of the append by the change channel: allow it a moment).
    try:
        wait_for(lambda: all(read_all(n.url, name)[0] == b"before after " for n in (a, b)), 3,
                 "both nodes to read exactly 'before after '")
    except AssertionError as e:
        raise AssertionError("%s: A has %r, B has %r (answers to the retried append: %r)" % (
            e, read_all(a.url, name)[0], read_all(b.url, name)[0], answers))
    got, tail = read_all(b.url, name)
    # Live wake-ups across nodes work again (B's change subscription came back).
    res = {}

    def poll():
        res["r"] = http("GET", h.stream_url(b.url, name) + "?offset=%s&live=long-poll" % tail, timeout=20)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    time.sleep(0.3)
    t2 = time.time()
    assert append(a.url, name, "live")[0] == 204
    th.join(20)
    st, _, body = res["r"]
    assert st == 200 and body == b"live", "long-poll on B after the outage: %d %r" % (st, body)
    log("long-poll on B woke %.0f ms after an append through A, after the outage" % ((time.time() - t2) * 1000))
    assert http("PUT", h.stream_url(a.url, "down/new"), headers={"Content-Type": "text/plain"})[0] == 201
    assert append(a.url, name, "", extra={"Stream-Closed": "true"})[0] == 204
    try:
        tail_p.wait(30)
    except subprocess.TimeoutExpired:
        raise AssertionError("tail -f through B did not end after the close (has %r)" % tail_out.out)
    tail_out.join(5)
    err = tail_p.stderr.read().decode(errors="replace")
    assert tail_p.returncode == 0 and tail_out.out == b"before after live", (tail_p.returncode, tail_out.out, err[-1500:])
    log("tail -f through B across the outage: exact text, exit 0; stderr: %s" % " | ".join(err.strip().splitlines()[-3:]))
    for n in (a, b):
        n.assert_alive()


def test_sentinel_failover(dsx):
    """Primary + replica + 3 Sentinels; nodes with --redis-wait-replicas 1; the primary is killed
    with SIGKILL during concurrent idempotent appends, Sentinel promotes the replica, the old
    primary comes back as a replica: every acknowledged append is present exactly once."""
    ss = h.SentinelSet(replicas=1)
    extra = ["--redis-wait-replicas", "1"]
    a, b = h.Node(dsx, ss.url, "nodeA", extra).start(), h.Node(dsx, ss.url, "nodeB", extra).start()
    name = "sentinel/json"
    create_stream(a.url, name, "application/json")
    writers = [h.Writer([a.url, b.url], name, k, 120, pace=0.01, retry_for=90) for k in range(4)]
    for w in writers:
        w.start()
    wait_for(lambda: _acked(writers) >= 80, 60, "80 acknowledged appends")
    old = ss.primary
    # The nodes do ask the replicas to confirm: WAIT ran on the primary at least once per append.
    waits = h.command_calls(old.port, "wait")
    acked_before = _acked(writers)
    assert waits >= acked_before, "WAIT ran %d times for %d acknowledged appends" % (waits, acked_before)
    old.kill9()
    acked_at_kill = _acked(writers)
    new = ss.wait_failover(old.port)
    log("%d appends acknowledged before the SIGKILL (WAIT ran %d times)" % (acked_before, waits))
    # The new primary has no replica until the old one rejoins: nothing may be acknowledged
    # meanwhile (at most the appends whose WAIT had answered before the kill, one per writer).
    acked_no_replica = _acked(writers) - acked_at_kill
    assert acked_no_replica <= len(writers), \
        "%d appends acknowledged while no replica could confirm them (--redis-wait-replicas 1)" % acked_no_replica
    # The old primary comes back (same port and dir); Sentinel makes it a replica of the new one,
    # so WAIT 1 can be satisfied again.
    old.restart()
    wait_for(lambda: h.info(old.port, "replication").get("role") == "slave"
             and h.info(old.port, "replication").get("master_link_status") == "up"
             and h.info(old.port, "replication").get("master_port") == str(new.port), 60,
             "the old primary to rejoin as a replica of the new one")
    log("old primary %d is a replica of %d" % (old.port, new.port))
    _finish(writers)
    for n in (a, b):
        n.assert_alive()
        msgs, _ = read_json_all(n.url, name)
        log("%s: %s" % (n.name, h.check_exactly_once(msgs, writers)))
    # The data is on the new primary itself (not only in the nodes' local copies): a fresh node sees it.
    c = h.Node(dsx, ss.url, "nodeC", extra).start()
    msgs, _ = read_json_all(c.url, name)
    log("fresh nodeC: %s" % h.check_exactly_once(msgs, writers))
    codes = sorted({e[1] for w in writers for e in w.errors})
    log("errors the writers saw during the failover (status codes, 0 = no answer): %r" % codes)


def test_durability_warnings(dsx):
    """At start a node says what the connected Redis may lose of acknowledged appends: nothing
    with AOF + appendfsync always; a warning for appendonly no, for appendfsync everysec, and for
    replicas without --redis-wait-replicas (a failover may lose the last appends)."""
    def warnings_of(url, extra=()):
        n = h.Node(dsx, url, "node", list(extra)).start()
        n.stop()
        return [l for l in open(n.log, errors="replace").read().splitlines()
                if "warning" in l.lower() and "redis" in l.lower()]
    h.require_redis(sentinel=True)
    cases = []
    for aof, extra, want in ((True, [], None), (False, [], "appendonly no"),
                             (True, ["--appendfsync", "everysec"], "everysec")):
        r = h.Redis(aof=aof, extra=extra).start()
        w = warnings_of(r.url)
        r.stop()
        if want is None:
            assert not w, "AOF with appendfsync always loses nothing, yet: %r" % w
        else:
            assert any(want in l for l in w), "no warning naming %r: %r" % (want, w)
        cases.append("%s -> %s" % ("appendonly no" if not aof else " ".join(extra) or "appendfsync always",
                                   w[0] if w else "no warning"))
    ss = h.SentinelSet(replicas=1)
    w = warnings_of(ss.url)
    assert any("failover" in l for l in w), "replicas without --redis-wait-replicas: no failover warning: %r" % w
    cases.append("sentinel, wait 0 -> " + w[0])
    w = warnings_of(ss.url, ["--redis-wait-replicas", "1"])
    assert not any("failover" in l for l in w), "with --redis-wait-replicas 1 still warned: %r" % w
    cases.append("sentinel, wait 1 -> %s" % (w[0] if w else "no warning"))
    for c in cases:
        log(c)


if __name__ == "__main__":
    h.main({"reader_failover": test_reader_failover, "publisher_failover": test_publisher_failover,
            "session_reader_failover": test_session_reader_failover,
            "redis_restart": test_redis_restart, "redis_unreachable": test_redis_unreachable,
            "sentinel_failover": test_sentinel_failover, "durability_warnings": test_durability_warnings}, sys.argv)
