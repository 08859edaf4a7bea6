"""Issue 18 on the real dsx binary (loopback): progress/metric/table events (validation, run
rules, compacted view, tail --text), tail --envelope offsets, tail --follow waiting for a session
(--timeout, --until-run-end), session info URLs, JSON messages kept as written, a bad --from
(exit 2), Ctrl-C on `session run` while the agent is still thinking. Usage: issue18_test.py DSX NAME."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from harness import Server, all_events, request, wait_for

DSX = sys.argv[1]
PROCS = []


def dsx(*args, timeout=60, check=None, stdin=None):
    p = subprocess.run([DSX] + list(args), capture_output=True, text=True, timeout=timeout, input=stdin)
    if check is not None and p.returncode != check:
        raise AssertionError("dsx %s: exit %d\nstdout: %s\nstderr: %s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def post(s, session, body):
    return request(s.url + "/v1/session/" + session + "/events", "POST", body)


def test_progress_events(s):
    assert request(s.url + "/v1/session/job/1", "PUT")[0] == 201
    good = [{"type": "progress", "data": {"done": 3, "total": 10, "unit": "files", "label": "scan"}},
            [{"type": "metric", "data": {"name": "loss", "step": i, "value": 1.0 / (i + 1)}} for i in range(3)],
            {"type": "table", "data": {"title": "best", "columns": ["kernel", "ms"], "rows": [["tiled", 1.5]]}}]
    for body in good:
        st, ans = post(s, "job/1", body)
        assert st == 200, (st, ans)
    n = len(all_events(s.url, "job/1"))
    deep = {"done": 1}
    cur = deep
    for _ in range(70):
        cur["x"] = {}
        cur = cur["x"]
    bad = [({"type": "progress", "data": {"done": "3"}}, "data.done"),
           ({"type": "progress", "data": {"done": 1, "total": 0}}, "data.total"),
           ({"type": "progress", "data": {"done": 1, "unit": "u" * 33}}, "data.unit"),
           ({"type": "metric", "data": {"name": "loss", "step": 1}}, "data.value"),
           ({"type": "metric", "data": {"name": 7, "step": 1, "value": 1}}, "data.name"),
           ({"type": "table", "data": {"columns": ["a", "b"], "rows": [["x"]]}}, "data.rows[0]"),
           ({"type": "table", "data": {"columns": ["a"], "rows": [[i] for i in range(1001)]}}, "data.rows"),
           ({"type": "table", "data": {"columns": ["a"], "rows": [[{"x": 1}]]}}, "data.rows[0][0]"),
           ({"type": "progress", "data": deep}, "nested deeper than 64"),
           # one bad draft in a batch: nothing of the batch is stored
           ([{"type": "metric", "data": {"name": "loss", "step": 9, "value": 1}},
             {"type": "metric", "data": {"name": "loss", "step": "ten", "value": 1}}], "data.step")]
    for body, field in bad:
        st, ans = post(s, "job/1", body)
        assert st == 400 and field in ans["error"], (body if len(json.dumps(body)) < 300 else field, st, ans)
    assert len(all_events(s.url, "job/1")) == n, "a refused event was stored"
    # Run rules: unknown run 404; lane copied; refused after run.end.
    st, _ = post(s, "job/1", {"type": "progress", "run": "r-x", "data": {"done": 1}})
    assert st == 404, st
    st, ans = post(s, "job/1", {"type": "run.start", "run": "r-1", "lane": "gpu"})
    assert st == 200, ans
    st, _ = post(s, "job/1", {"type": "progress", "run": "r-1", "data": {"done": 4, "total": 10, "unit": "files", "label": "scan"}})
    assert st == 200
    assert all_events(s.url, "job/1")[-1]["lane"] == "gpu"
    assert post(s, "job/1", {"type": "run.end", "run": "r-1", "data": {"reason": "done"}})[0] == 200
    st, ans = post(s, "job/1", {"type": "progress", "run": "r-1", "data": {"done": 5}})
    assert st == 409 and "has ended (done)" in ans["error"], (st, ans)
    # The compacted view folds them.
    st, view = request(s.url + "/v1/session/job/1/view")
    assert st == 200
    assert view["progress"] == [{"key": "", "label": "scan", "done": 4, "total": 10, "unit": "files", "run": "r-1",
                                 "ts": view["progress"][0]["ts"]}], view["progress"]
    assert [p[0] for p in view["metrics"]["loss"]] == [0, 1, 2], view["metrics"]
    assert view["tables"][0]["rows"] == [["tiled", 1.5]], view["tables"]
    assert not [i for i in view["items"] if i["type"] in ("progress", "metric", "table")]
    # tail --text draws them (no terminal: lines, no escapes); --jsonl passes them through.
    t = dsx("session", "tail", "job/1", "--server", s.url, "--text", check=0).stdout
    assert "scan: 3/10 files" in t and "loss step=2 value=" in t and "kernel  ms" in t and "tiled   1.5" in t, t
    assert "\x1b" not in t, repr(t)
    lines = [json.loads(l) for l in dsx("session", "tail", "job/1", "--server", s.url, "--jsonl", check=0).stdout.splitlines()]
    assert [l["type"] for l in lines].count("metric") == 3
    print("progress/metric/table: 10 bad shapes refused naming the field, nothing stored; run rules; view; tail")


def test_tail_envelope(s):
    assert request(s.url + "/v1/session/env/1", "PUT")[0] == 201
    for i in range(5):
        post(s, "env/1", [{"type": "note", "data": {"i": i}}, {"type": "note", "data": {"i": i, "second": True}}])
    evs = all_events(s.url, "env/1")
    p = dsx("session", "tail", "env/1", "--server", s.url, "--envelope", check=0)
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    assert [l["offset"] for l in lines] == [e["offset"] for e in evs], (lines, evs)
    assert [l["data"]["data"] for l in lines] == [e["data"] for e in evs]
    # Resume from any event: the rest, exactly.
    mid = lines[3]["offset"]
    rest = [json.loads(l) for l in dsx("session", "tail", "env/1", "--server", s.url, "--envelope", "--from", mid,
                                        check=0).stdout.splitlines()]
    assert rest == lines[4:], (rest, lines[4:])
    # A plain Durable Streams JSON stream too.
    dsx("session", "publish", "plain/1", "--server", s.url, "--create", "--content-type", "application/json",
        stdin='{"b": 1, "a": 2}\n[3, {"x": "y"}]\n', check=0)
    plain = [json.loads(l) for l in dsx("session", "tail", "plain/1", "--server", s.url, "--envelope", check=0).stdout.splitlines()]
    assert [l["data"] for l in plain] == [{"b": 1, "a": 2}, [3, {"x": "y"}]], plain  # an array line is one message
    again = dsx("session", "tail", "plain/1", "--server", s.url, "--envelope", "--from", plain[0]["offset"], check=0).stdout
    assert [json.loads(l) for l in again.splitlines()] == plain[1:], again
    p = dsx("session", "tail", "plain/1", "--server", s.url, "--envelope", "--json")
    assert p.returncode == 2, p.returncode
    print("tail --envelope: %d session events with their offsets, resume from the middle, plain JSON stream" % len(lines))


def test_json_as_written(s):
    """JSON messages come back as written (issue 18: they came back with keys sorted)."""
    st, _ = request(s.url + "/v1/stream/raw/1", "PUT", headers={"Content-Type": "application/json"})
    assert st == 201, st
    body = b'[ {"zeta": 1, "alpha": [1.50, 2e3]} ,\n {"b":true} ]'
    req = urllib.request.Request(s.url + "/v1/stream/raw/1", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    with urllib.request.urlopen(s.url + "/v1/stream/raw/1?offset=-1", timeout=10) as r:
        got = r.read()
    assert got == b'[{"zeta": 1, "alpha": [1.50, 2e3]},{"b":true}]', got
    out = dsx("session", "tail", "raw/1", "--server", s.url, "--jsonl", check=0).stdout
    assert out == '{"zeta": 1, "alpha": [1.50, 2e3]}\n{"b":true}\n', out
    # Bad --from: documented exit 2 (it was 1).
    p = dsx("session", "tail", "raw/1", "--server", s.url, "--from", "12345")
    assert p.returncode == 2 and "12345" in p.stderr, (p.returncode, p.stderr)
    print("JSON stream: bytes as written (key order, spacing, numbers); bad --from exit 2")


def test_info_urls(s):
    assert request(s.url + "/v1/session/chat/9", "PUT")[0] == 201
    j = json.loads(dsx("session", "info", "chat/9", "--server", s.url, "--json", check=0).stdout)
    sess = j["session"]
    assert sess["url"] == s.url + "/v1/session/chat/9" and sess["events_url"] == s.url + "/v1/session/chat/9/events", j
    assert sess["view_url"] == s.url + "/v1/session/chat/9/view" and sess["web_url"] == s.url + "/ui/chat/9", j
    for u in (sess["url"], sess["events_url"], sess["view_url"], sess["web_url"]):
        with urllib.request.urlopen(u, timeout=10) as r:
            assert r.status == 200, u
    text = dsx("session", "info", "chat/9", "--server", s.url, check=0).stdout
    assert ("web:          " + s.url + "/ui/chat/9") in text, text
    dsx("session", "create", "bytes/1", "--server", s.url, check=0)
    assert json.loads(dsx("session", "info", "bytes/1", "--server", s.url, "--json", check=0).stdout)["session"] is None
    print("info: session, events, view and web page URLs (all answer 200)")


def test_tail_waits(s):
    # --timeout on a session that never comes: exit 3, at the limit.
    t0 = time.time()
    p = dsx("session", "tail", "never/1", "--server", s.url, "--follow", "--timeout", "1s")
    assert p.returncode == 3 and "not created within 1 s" in p.stderr, (p.returncode, p.stderr)
    assert 0.9 < time.time() - t0 < 10, time.time() - t0
    # --until-run-end before the session exists: waits, follows the run, stops at its end.
    tail = subprocess.Popen([DSX, "session", "tail", "later/1", "--server", s.url, "--until-run-end", "--json",
                             "--timeout", "60s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    PROCS.append(tail)
    time.sleep(0.5)
    assert tail.poll() is None
    dsx("session", "run", "later/1", "--server", s.url, "--", "/bin/sh", "-c", "echo hello", check=0)
    out, err = tail.communicate(timeout=30)
    assert tail.returncode == 0, (tail.returncode, out, err)
    last = json.loads(out.splitlines()[-1])
    assert last["run_end"]["reason"] == "done" and last["offset"], last
    # A run already going: --until-run-end --from now stops when it ends (the server names it).
    runner = subprocess.Popen([DSX, "session", "run", "later/1", "--server", s.url, "--", "/bin/sh", "-c",
                               "echo start; sleep 2; echo end"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    PROCS.append(runner)
    wait_for(lambda: sum(e["type"] == "run.start" for e in all_events(s.url, "later/1")) == 2, 20, "second run")
    p = dsx("session", "tail", "later/1", "--server", s.url, "--until-run-end", "--from", "now", "--text", timeout=30)
    assert p.returncode == 0 and "ended: done" in p.stdout, (p.returncode, p.stdout, p.stderr)
    runner.wait(timeout=30)
    print("tail: --timeout exit 3; --until-run-end waits for the session and stops at the run's end")


def test_interrupt_thinking(s):
    """Ctrl-C while the agent is still thinking (no output yet): the run ends `interrupted`
    at once, from the runner, long before its 60 s lease would lapse."""
    runner = subprocess.Popen([DSX, "session", "run", "think/1", "--server", s.url, "--lease", "60", "--json", "--",
                               "/bin/sleep", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    PROCS.append(runner)
    wait_for(lambda: any(e["type"] == "msg.start" for e in (all_events(s.url, "think/1") if request(
        s.url + "/v1/session/think/1")[0] == 200 else [])), 20, "msg.start")
    t0 = time.time()
    runner.send_signal(signal.SIGINT)
    out, err = runner.communicate(timeout=20)
    assert runner.returncode == 130, (runner.returncode, out, err)
    assert json.loads(out)["reason"] == "interrupted", out
    end = [e for e in all_events(s.url, "think/1") if e["type"] == "run.end"]
    assert len(end) == 1 and end[0]["data"]["reason"] == "interrupted" and end[0]["data"]["interrupted"] == "SIGINT", end
    assert end[0]["from"]["sub"] != "@server" and time.time() - t0 < 15, end
    st, info = request(s.url + "/v1/session/think/1")
    assert info["runs"] == [], info
    print("interrupt while thinking: run.end interrupted (SIGINT) by the runner, exit 130, no active run")


TESTS = {n[5:]: f for n, f in globals().items() if n.startswith("test_")}

if __name__ == "__main__":
    server = Server(DSX).start()
    try:
        TESTS[sys.argv[2]](server)
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        server.stop()
