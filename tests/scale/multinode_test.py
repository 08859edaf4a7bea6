"""Several dsx nodes on one Redis store (issue 16): append through one node, read through
another (catch-up, long-poll, SSE live tail), identical offsets everywhere, shared producer
state, racing appends never torn or duplicated.

Usage: multinode_test.py DSX {two_nodes,three_nodes} [standalone|cluster]
"""
import json
import os
import sys
import threading
import time

import harness as h
from harness import append, create_stream, http, log, read_all, read_json_all, stream_url, wait_for

LIVE_DEADLINE = 3.0  # seconds for an append on one node to reach a live reader on another


def check_catchup(a, b, name):
    create_stream(a.url, name)
    st, hd, body = append(a.url, name, "hello ")
    assert st == 204, (st, body)
    tail_a = hd["stream-next-offset"]
    got, tail_b = read_all(b.url, name)
    assert got == b"hello ", got
    assert tail_a == tail_b, "offsets differ between nodes: %s vs %s" % (tail_a, tail_b)
    # HEAD through b: same tail.
    st, hd, _ = http("HEAD", stream_url(b.url, name))
    assert st == 200 and hd["stream-next-offset"] == tail_a, (st, hd)
    return tail_a


def check_long_poll(a, b, name, offset):
    """A long-poll on b at the tail wakes on an append made through a."""
    result = {}

    def poll():
        t0 = time.time()
        result["resp"] = http("GET", stream_url(b.url, name) + "?offset=%s&live=long-poll" % offset, timeout=20)
        result["t"] = time.time() - t0

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    time.sleep(0.3)  # let the poll park on b (not an assertion: a late park only returns data at once)
    t0 = time.time()
    st, hd, _ = append(a.url, name, "long-poll ")
    assert st == 204, st
    th.join(20)
    assert not th.is_alive(), "long-poll on %s never returned" % b.name
    st, hd, body = result["resp"]
    took = time.time() - t0
    assert st == 200 and body == b"long-poll ", (st, body, "long-poll timed out (204) instead of seeing the append" if st == 204 else "")
    assert took < LIVE_DEADLINE, "long-poll on %s saw the append %.2f s after it was acknowledged" % (b.name, took)
    log("long-poll on %s woke %.0f ms after the append through %s" % (b.name, took * 1000, a.name))
    return hd["stream-next-offset"]


def check_sse(a, b, name):
    """An SSE reader on b sees appends made through a within LIVE_DEADLINE each."""
    rd = h.StreamSse(b.url, name)
    wait_for(lambda: rd.controls and rd.controls[-1].get("upToDate"), 10, "SSE on %s to catch up" % b.name)
    assert rd.status == 200, rd.status
    before = rd.data
    lat = []
    for i in range(5):
        t0 = time.time()
        st, _, _ = append(a.url, name, "sse-%d " % i)
        assert st == 204, st
        want = before + "".join("sse-%d " % j for j in range(i + 1))
        wait_for(lambda: rd.data == want, LIVE_DEADLINE, interval=0.002, what=
                 "SSE on %s to show append %d made through %s (has %r)" % (b.name, i, a.name, rd.data[-60:]))
        lat.append(time.time() - t0)
    rd.close()
    assert rd.data == before + "".join("sse-%d " % j for j in range(5)), rd.data
    log("SSE on %s: 5 appends through %s seen after %s ms" % (b.name, a.name, [round(x * 1000) for x in lat]))


def many_streams(ns, count=24):
    """Streams with different names (different hash slots on a cluster): create and append
    through one node, read through each other node."""
    for i in range(count):
        name = "many/%d-%s" % (i, "xyz"[i % 3])
        w = ns[i % len(ns)]
        create_stream(w.url, name, "application/json")
        for j in range(3):
            st, _, b = append(ns[(i + j) % len(ns)].url, name, json.dumps({"i": i, "j": j}), "application/json")
            assert st == 204, (st, b)
        offs = set()
        for r in ns:
            msgs, off = read_json_all(r.url, name)
            assert msgs == [{"i": i, "j": j} for j in range(3)], (r.name, name, msgs)
            offs.add(off)
        assert len(offs) == 1, "tail offsets differ between nodes: %r" % offs
    log("%d streams: created, appended round-robin over %d nodes, identical through each" % (count, len(ns)))


def producer_across_nodes(ns, name="prod/shared"):
    """One producer whose appends go through different nodes: the seq continues, retries of an
    acknowledged seq are duplicates (204) on every node, a gap is 409, an old epoch 403."""
    create_stream(ns[0].url, name, "application/json")
    for seq in range(6):
        st, hd, b = append(ns[seq % len(ns)].url, name, json.dumps({"s": seq}), "application/json", ("p1", 5, seq))
        assert st == 200, (seq, st, b)
    for n in ns:
        st, _, b = append(n.url, name, json.dumps({"s": 3}), "application/json", ("p1", 5, 3))
        assert st == 204, ("retry of an acknowledged seq on %s" % n.name, st, b)
    st, hd, b = append(ns[-1].url, name, json.dumps({"s": 9}), "application/json", ("p1", 5, 9))
    assert st == 409 and hd.get("producer-expected-seq") == "6", (st, hd, b)
    st, _, b = append(ns[0].url, name, json.dumps({"s": 0}), "application/json", ("p1", 6, 0))
    assert st == 200, (st, b)
    st, _, b = append(ns[-1].url, name, json.dumps({"s": 6}), "application/json", ("p1", 5, 6))
    assert st == 403, ("old epoch through another node must be fenced", st, b)
    for n in ns:
        msgs, _ = read_json_all(n.url, name)
        assert msgs == [{"s": s} for s in range(6)] + [{"s": 0}], (n.name, msgs)
    log("producer across %d nodes: seq continues, duplicates 204 everywhere, gap 409, stale epoch 403" % len(ns))


def racing_appends(ns, name="race/one", per_thread=40):
    """Threads appending to one stream through every node at once: every append present once,
    whole (no torn messages), each thread's order kept, identical view on every node."""
    create_stream(ns[0].url, name, "application/json")
    errors = []

    def work(k):
        n = ns[k % len(ns)]
        for s in range(per_thread):
            st, _, b = append(n.url, name, json.dumps({"w": k, "s": s, "pad": "x" * (k * 37 % 200)}), "application/json")
            if st != 204:
                errors.append((k, s, st, b[:200]))
                return

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2 * len(ns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, "appends failed: %r" % errors[:5]
    views = []
    for n in ns:
        msgs, off = read_json_all(n.url, name)
        views.append((msgs, off))
        per = {}
        for m in msgs:
            per.setdefault(m["w"], []).append(m["s"])
        assert len(msgs) == len(threads) * per_thread, (n.name, len(msgs))
        for k in range(len(threads)):
            assert per.get(k) == list(range(per_thread)), (n.name, k, per.get(k))
    assert all(v == views[0] for v in views), "nodes disagree on the stream's content or tail"
    log("racing appends: %d threads x %d through %d nodes, all present once in order, same view everywhere"
        % (len(threads), per_thread, len(ns)))


def racing_duplicate(ns, name="race/dup"):
    """The same producer tuple sent to every node at once: exactly one copy is written."""
    create_stream(ns[0].url, name, "application/json")
    for seq in range(10):
        res = []
        body = json.dumps({"seq": seq})
        barrier = threading.Barrier(len(ns))

        def send(n):
            barrier.wait()
            res.append(append(n.url, name, body, "application/json", ("dup", 1, seq))[0])

        ts = [threading.Thread(target=send, args=(n,)) for n in ns]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        assert sorted(res).count(200) == 1 and all(s in (200, 204) for s in res), (seq, res)
    for n in ns:
        msgs, _ = read_json_all(n.url, name)
        assert msgs == [{"seq": s} for s in range(10)], (n.name, msgs)
    log("same producer tuple raced through %d nodes 10 times: one 200 and %d x 204 each time, one copy"
        % (len(ns), len(ns) - 1))


def closing_across_nodes(ns, name="close/x"):
    create_stream(ns[0].url, name)
    rd = h.StreamSse(ns[-1].url, name)
    assert append(ns[0].url, name, "last", extra={"Stream-Closed": "true"})[0] == 204
    wait_for(lambda: rd.closed, LIVE_DEADLINE, "SSE on %s to end when the stream is closed through %s" % (ns[-1].name, ns[0].name))
    assert rd.data == "last" and rd.controls[-1].get("streamClosed"), (rd.data, rd.controls[-1:])
    st, hd, b = append(ns[-1].url, name, "more")
    assert st == 409 and hd.get("stream-closed") == "true", (st, hd, b)
    log("close through %s ends the SSE on %s; an append through it is 409 closed" % (ns[0].name, ns[-1].name))


def run(dsx, count, kind):
    store, url = h.make_store(kind)
    ns = h.nodes(dsx, url, count)
    for a, b in [(ns[0], ns[1]), (ns[1], ns[0])] + ([(ns[2], ns[0]), (ns[0], ns[2])] if count > 2 else []):
        name = "mn/%s-to-%s" % (a.name, b.name)
        off = check_catchup(a, b, name)
        check_long_poll(a, b, name, off)
        check_sse(a, b, name)
    many_streams(ns)
    producer_across_nodes(ns)
    racing_appends(ns)
    racing_duplicate(ns)
    closing_across_nodes(ns)
    if kind == "cluster":
        keys = store.keys_per_node()
        assert all(k > 0 for k in keys), "keys not spread over the 3 masters: %r" % keys
        log("cluster keys per master: %r" % keys)
    for n in ns:
        n.assert_alive()


def test_two_nodes(dsx, kind="standalone"):
    run(dsx, 2, kind)


def test_three_nodes(dsx, kind="standalone"):
    run(dsx, 3, kind)


def test_password(dsx, kind="standalone"):
    """Redis with requirepass: nodes given --redis-password-file (or DSX_REDIS_PASSWORD) serve,
    a node without the password does not (it fails at start or answers 503, with a reason), and
    the password appears neither in a node's log nor on its command line."""
    h.require_redis()
    secret = "s3cret-%d" % os.getpid()
    redis = h.Redis(extra=["--requirepass", secret]).start_auth(secret)
    pwfile = os.path.join(h.tmpdir("dsx-scale-pw-"), "redis.pw")
    with open(pwfile, "w") as f:
        f.write(secret + "\n")
    os.chmod(pwfile, 0o600)
    a = h.Node(dsx, redis.url, "nodeA", ["--redis-password-file", pwfile]).start()
    b = h.Node(dsx, redis.url, "nodeB", env={"DSX_REDIS_PASSWORD": secret}).start()
    create_stream(a.url, "pw/x")
    assert append(a.url, "pw/x", "hi")[0] == 204
    assert read_all(b.url, "pw/x")[0] == b"hi"
    for n in (a, b):
        assert secret not in open(n.log, errors="replace").read(), "the password is in %s's log" % n.name
        assert secret not in open("/proc/%d/cmdline" % n.proc.pid, "rb").read().decode(errors="replace")
    c = h.Node(dsx, redis.url, "nodeC")
    try:
        c.start(timeout=15)
        st, _, body = append(c.url, "pw/x", "x")
        assert st == 503 and body.strip(), "append through a node without the password: %d %r" % (st, body)
        how = "serves 503: %s" % body.decode(errors="replace").strip()[:200]
    except h.Fatal as e:
        how = "refuses to start: %s" % str(e).strip().splitlines()[-1][:200]
    assert secret not in open(c.log, errors="replace").read()
    log("requirepass: --redis-password-file and DSX_REDIS_PASSWORD work, never logged; without it the node %s" % how)


if __name__ == "__main__":
    h.main({"two_nodes": test_two_nodes, "three_nodes": test_three_nodes, "password": test_password}, sys.argv)
