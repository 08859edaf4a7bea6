"""Integration tests for live sessions (docs/protocol/sessions.md): the real dsx binary on
loopback. Usage: live_test.py DSX TEST_NAME. Each test prints what it checked."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from harness import Server, SseReader, WebSocket, all_events, request, texts, wait_for

DSX = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))


def dsx(*args, env=None, timeout=60, check=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([DSX] + list(args), capture_output=True, text=True, timeout=timeout, env=e)
    if check is not None and p.returncode != check:
        raise AssertionError("dsx %s: exit %d\nstdout: %s\nstderr: %s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def agent_cmd(lines, delay, pidfile=None):
    """A python agent printing numbered lines slowly (and its pid to pidfile)."""
    code = ("import os,sys,time\n"
            + ("open(%r,'w').write(str(os.getpid()))\n" % pidfile if pidfile else "")
            + "for i in range(%d):\n    sys.stdout.write('line %%04d\\n' %% i); sys.stdout.flush(); time.sleep(%f)\n" % (lines, delay))
    return ["/usr/bin/python3", "-c", code]


def expected(lines):
    return "".join("line %04d\n" % i for i in range(lines))


RUNNERS = []  # killed at exit if a failed test left them running


def start_run(server, session, argv, *extra):
    p = subprocess.Popen([DSX, "session", "run", session, "--server", server.url] + list(extra) + ["--"] + argv,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    RUNNERS.append(p)
    return p


def run_of(base, session, token=None):
    def find():
        try:
            evs = all_events(base, session, token)
        except AssertionError:  # not created yet
            return None
        starts = [e for e in evs if e["type"] == "run.start"]
        return starts[-1]["run"] if starts else None
    return wait_for(find, 20, "run.start")


def run_end(base, session, run, token=None, timeout=30):
    def find():
        for e in all_events(base, session, token):
            if e["type"] == "run.end" and e["run"] == run:
                return e
        return None
    return wait_for(find, timeout, "run.end of " + run)


# ---------------------------------------------------------------- tests

def test_run_and_tail(s):
    p = dsx("session", "run", "chat/a", "--server", s.url, "--json", "--", *agent_cmd(30, 0.01), check=0)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["reason"] == "done", r
    evs = all_events(s.url, "chat/a")
    assert [e["type"] for e in evs][:3] == ["run.start", "msg.start", "msg.append"], evs[:3]
    assert evs[-1]["type"] == "run.end" and evs[-1]["data"]["reason"] == "done", evs[-1]
    assert list(texts(evs).values()) == [expected(30)]
    offs = [e["offset"] for e in evs]
    assert offs == sorted(offs) and len(set(offs)) == len(offs)
    # tail --text renders the chat; the raw stream endpoint still works (Durable Streams).
    t = dsx("session", "tail", "chat/a", "--server", s.url, "--text", check=0).stdout
    assert expected(30) in t and "ended: done" in t, t
    raw = dsx("session", "tail", "chat/a", "--server", s.url, "--jsonl", check=0).stdout.splitlines()
    raw_events = [json.loads(line) for line in raw]
    assert len(raw_events) >= len(evs) and texts(raw_events) == texts(evs)  # catch-up pages merge fragments
    # Compacted view: one message item with the whole text.
    st, view = request(s.url + "/v1/session/chat/a/view")
    msgs = [i for i in view["items"] if i["type"] == "msg"]
    assert st == 200 and len(msgs) == 1 and msgs[0]["data"]["text"] == expected(30) and msgs[0]["data"]["state"] == "done"
    print("run+tail: %d events, text %d bytes, view ok" % (len(evs), len(expected(30))))


def test_cancel(s):
    pidfile = os.path.join(s.data, "agent.pid")
    runner = start_run(s, "chat/c", agent_cmd(100000, 0.02, pidfile), "--grace", "1")
    run = run_of(s.url, "chat/c")
    wait_for(lambda: len(texts(all_events(s.url, "chat/c")).get(next(iter(texts(all_events(s.url, "chat/c"))), ""), "")) > 50, 20, "output")
    agent_pid = int(open(pidfile).read())
    p = dsx("session", "cancel", "chat/c", "--server", s.url, check=0)
    assert "acknowledged" in p.stdout, p.stdout
    out, err = runner.communicate(timeout=20)
    assert runner.returncode == 130, (runner.returncode, out, err)
    end = run_end(s.url, "chat/c", run)
    assert end["data"]["reason"] == "cancelled", end
    try:
        os.kill(agent_pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "agent process still alive after cancel"
    evs = all_events(s.url, "chat/c")
    types = [e["type"] for e in evs]
    assert "control.cancel" in types and "control.ack" in types
    ack = [e for e in evs if e["type"] == "control.ack"][0]
    assert ack["data"]["outcome"] == "applied"
    n_before = len(evs)
    time.sleep(0.5)
    assert len(all_events(s.url, "chat/c")) == n_before, "output continued after the cancel"
    # A cancel for the ended run gets a clear outcome.
    p = dsx("session", "cancel", "chat/c", run, "--server", s.url, "--json")
    r = json.loads(p.stdout)
    assert p.returncode == 4 and r["results"][0]["outcome"] == "rejected" and "already ended" in r["results"][0]["reason"], (p.returncode, p.stdout)
    print("cancel: acknowledged, agent pid %d gone, run ended cancelled, late cancel rejected" % agent_pid)


def test_reader_drop_does_not_cancel(s):
    runner = start_run(s, "chat/d", agent_cmd(60, 0.02))
    run = run_of(s.url, "chat/d")
    rd = SseReader(s.url, "chat/d")
    assert rd.pump(lambda r: sum(1 for e in r.events if e[2].get("type") == "msg.append") >= 3, 10)
    last = [e for e in rd.events if e[1]][-1][1]
    rd.cut()  # abrupt reset, mid-reply
    out, err = runner.communicate(timeout=30)
    assert runner.returncode == 0, (out, err)
    assert run_end(s.url, "chat/d", run)["data"]["reason"] == "done"
    # The reader comes back with Last-Event-ID and gets exactly the rest.
    rd2 = SseReader(s.url, "chat/d", last_id=last)
    assert rd2.pump(lambda r: any(e[2].get("type") == "run.end" for e in r.events), 10)
    first = [e[2] for e in rd.events if e[0] == "message"]
    rest = [e[2] for e in rd2.events if e[0] == "message"]
    seen = {}
    for e in first + rest:
        if e["type"] == "msg.append":
            seen[e["msg"]] = seen.get(e["msg"], "") + e["data"]["text"]
    assert list(seen.values()) == [expected(60)], seen
    print("reader drop: agent finished done; Last-Event-ID resume gave the exact text")


def test_agent_lost(s):
    runner = start_run(s, "chat/l", agent_cmd(100000, 0.05), "--lease", "2")
    run = run_of(s.url, "chat/l")
    time.sleep(0.5)
    t0 = time.time()
    runner.send_signal(signal.SIGKILL)  # the agent (its runner) dies without a word
    runner.wait()
    end = run_end(s.url, "chat/l", run, timeout=10)
    took = time.time() - t0
    assert end["data"]["reason"] == "agent_lost" and end["from"]["sub"] == "@server", end
    assert took <= 2 + 1.5, took
    st, view = request(s.url + "/v1/session/chat/l/view")
    assert [i for i in view["items"] if i["type"] == "msg"][0]["data"]["state"] == "aborted"
    print("agent killed: run.end agent_lost after %.2f s (lease 2 s)" % took)


def test_server_kill9(s):
    lines = 150
    session = "chat/k"
    runner = start_run(s, session, agent_cmd(lines, 0.02))
    run_of(s.url, session)
    readers = [subprocess.Popen([DSX, "session", "tail", session, "--server", s.url, "--follow", "--jsonl"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for _ in range(2)]
    wait_for(lambda: len("".join(texts(all_events(s.url, session)).values())) > 600, 20, "some output")
    s.kill9()
    time.sleep(1.0)
    s.start()
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 0, (out, err)
    evs = all_events(s.url, session)
    t = list(texts(evs).values())
    assert t == [expected(lines)], "server log text differs (duplicates or loss)"
    time.sleep(1.5)
    outs = []
    for r in readers:
        r.terminate()
        o, _ = r.communicate(timeout=10)
        got = [json.loads(line) for line in o.splitlines() if line.strip()]
        outs.append(texts(got))
    for o in outs:
        assert list(o.values()) == [expected(lines)], "reader text differs: %r" % list(o.values())[0][-80:]
    print("kill -9 server mid-stream: log and both readers have the exact text once (%d bytes)" % len(expected(lines)))


def test_websocket(s):
    dsx("session", "run", "chat/w", "--server", s.url, "--", *agent_cmd(5, 0.0), check=0)
    ws = WebSocket(s.url, "/v1/session/chat/w/ws")
    assert ws.status == 101, ws.head
    ws.recv_until(lambda f: f["op"] == "hello")
    ws.send({"op": "subscribe", "mode": "compacted", "req": "s1"})
    snap, _ = ws.recv_until(lambda f: f["op"] == "snapshot")
    assert [i for i in snap["items"] if i["type"] == "msg"][0]["data"]["text"] == expected(5)
    ws.send({"op": "append", "req": "a1", "event": {"type": "user.message", "data": {"text": "hi"}}})
    ack, seen = ws.recv_until(lambda f: f["op"] == "ack" and f.get("req") == "a1")
    assert ack["status"] == 200, ack
    early = [f for f in seen if f["op"] == "events"]  # the event may overtake its ack
    ev = early[-1] if early else ws.recv_until(lambda f: f["op"] == "events")[0]
    assert ev["events"][-1]["type"] == "user.message" and ev["events"][-1]["from"]["sub"] == "anonymous"
    ws.send({"op": "append", "req": "a2", "event": {"type": "control.cancel", "run": "nope"}})
    bad, _ = ws.recv_until(lambda f: f["op"] == "ack" and f.get("req") == "a2")
    assert bad["status"] == 404, bad
    # Credit mode: with credit 1 the server sends one frame, then waits.
    ws2 = WebSocket(s.url, "/v1/session/chat/w/ws")
    ws2.recv_until(lambda f: f["op"] == "hello")
    ws2.send({"op": "subscribe", "offset": "-1", "credit": 1})
    first, _ = ws2.recv_until(lambda f: f["op"] == "events")
    request(s.url + "/v1/session/chat/w/events", "POST", {"type": "user.message", "data": {"text": "later"}})
    try:
        extra = ws2.recv(0.5)
        assert extra["op"] != "events", "sent past the credit"
    except Exception:
        pass
    ws2.send({"op": "credit", "n": 1})
    nxt, _ = ws2.recv_until(lambda f: f["op"] == "events")
    assert nxt["events"][-1]["data"]["text"] == "later"
    print("websocket: compacted snapshot, append ack, live events, 404 for unknown run, credit flow control")


def test_auth(s_unused):
    tmp = tempfile.mkdtemp(prefix="dsx-auth-")
    key = os.path.join(tmp, "key")
    open(key, "w").write("k" * 40 + "\n")
    s = Server(DSX, ["--auth-key-file", key]).start()
    try:
        def tok(sub, rights, session="chat/*"):
            p = dsx("session", "token", "--auth-key-file", key, "--sub", sub, "--rights", rights, "--session", session,
                    "--ttl", "1h", check=0)
            return p.stdout.strip().splitlines()[-1]
        agent = tok("agent", "run,read,append")
        viewer = tok("viewer", "read")
        alice = tok("alice", "read,append,cancel_own,steer")
        st, body = request(s.url + "/v1/session/chat/x/events?offset=-1")
        assert st == 401 and "no token" in body["error"], (st, body)
        st, _ = request(s.url + "/v1/stream/chat/x")
        assert st == 401
        st, body = request(s.url + "/v1/session/chat/x", token=agent[:-2] + "xx")
        assert st == 401, (st, body)
        runner = subprocess.Popen([DSX, "session", "run", "chat/x", "--server", s.url, "--token", agent, "--grace", "1",
                                   "--"] + agent_cmd(100000, 0.02), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        run = run_of(s.url, "chat/x", token=viewer)
        p = dsx("session", "cancel", "chat/x", run, "--server", s.url, "--token", viewer)
        assert p.returncode == 4 and "lacks '" in p.stderr + p.stdout, (p.returncode, p.stdout, p.stderr)
        writer = tok("writer", "read,append")  # may post events, but not cancel
        p = dsx("session", "cancel", "chat/x", run, "--server", s.url, "--token", writer)
        # Another principal's run: what is missing is cancel_any (issue 18; it used to name cancel_own).
        assert p.returncode == 4 and "lacks 'cancel_any'" in p.stderr + p.stdout, (p.returncode, p.stdout, p.stderr)
        p = dsx("session", "cancel", "chat/x", run, "--server", s.url, "--token", alice)
        assert p.returncode == 4 and "may cancel only runs it started" in p.stderr + p.stdout, (p.stdout, p.stderr)
        assert "lacks 'cancel_any'" in p.stderr + p.stdout, (p.stdout, p.stderr)
        st, body = request(s.url + "/v1/session/chat/x/events", "POST",
                           {"type": "control.cancel", "run": run}, token=viewer)
        assert st == 403, (st, body)
        st, _ = request(s.url + "/v1/stream/chat/x", "POST", [{"type": "forged"}], token=agent)
        assert st == 403  # raw writes skip stamping: admin only
        st, _ = request(s.url + "/v1/session/other/x", token=viewer)
        assert st == 403
        ws = WebSocket(s.url, "/v1/session/chat/x/ws", token=viewer)
        assert ws.status == 101
        ws.recv_until(lambda f: f["op"] == "hello")
        ws.send({"op": "append", "req": "c", "event": {"type": "control.cancel", "run": run}})
        a, _ = ws.recv_until(lambda f: f["op"] == "ack")
        assert a["status"] == 403, a
        ws_bad = WebSocket(s.url, "/v1/session/chat/x/ws")
        assert ws_bad.status == 401
        ops = tok("ops", "cancel_any,read")
        p = dsx("session", "cancel", "chat/x", "--server", s.url, "--token", ops, check=0)
        runner.communicate(timeout=20)
        assert runner.returncode == 130
        evs = all_events(s.url, "chat/x", token=viewer)
        assert all(e["from"]["sub"] in ("agent", "ops", "@server") for e in evs), [e["from"] for e in evs]
        # Expired tokens end live connections: SSE gets an error event, WebSocket closes 4401
        # unless the client refreshes in band.
        def short():
            return dsx("session", "token", "--auth-key-file", key, "--sub", "viewer", "--rights", "read", "--session",
                       "chat/*", "--ttl", "2s", check=0).stdout.strip().splitlines()[-1]
        rd = SseReader(s.url, "chat/x", token=short())
        assert rd.pump(lambda r: any(e[0] == "error" and e[2]["status"] == 401 for e in r.events), 6), rd.events[-3:]
        ws = WebSocket(s.url, "/v1/session/chat/x/ws", token=short())
        ws.recv_until(lambda f: f["op"] == "auth.expiring")
        try:
            while True:
                ws.recv(6)
        except EOFError:
            pass
        assert ws.close_code == 4401, ws.close_code
        ws = WebSocket(s.url, "/v1/session/chat/x/ws", token=short())
        ws.recv_until(lambda f: f["op"] == "auth.expiring")
        ws.send({"op": "auth", "req": "r", "token": viewer})
        a, _ = ws.recv_until(lambda f: f["op"] == "ack" and f.get("req") == "r")
        assert a["status"] == 200, a
        time.sleep(2.5)
        ws.send({"op": "ping", "req": "p"})
        ws.recv_until(lambda f: f["op"] == "pong")  # still open past the first token's expiry
        print("auth: 401 without/with bad token, 403 viewer cancel, cancel_own enforced, raw write admin-only, "
              "WebSocket checked, cancel_any works, expired tokens end SSE (401 event) and WebSocket (4401), in-band refresh keeps it open")
    finally:
        s.stop()


def test_steer_and_who(s):
    code = ("import sys\nprint('ready', flush=True)\nfor line in sys.stdin:\n"
            "    print('got: ' + line.strip(), flush=True)\n    if line.strip() == 'bye': break\n")
    runner = start_run(s, "chat/s", ["/usr/bin/python3", "-c", code])
    run = run_of(s.url, "chat/s")
    wait_for(lambda: "ready" in "".join(texts(all_events(s.url, "chat/s")).values()), 10, "ready")
    who = json.loads(dsx("session", "who", "chat/s", "--server", s.url, "--json", check=0).stdout)
    agents = [m for m in who["members"] if m["kind"] == "agent"]
    assert len(agents) == 1 and agents[0]["run"] == run and agents[0]["state"] in ("thinking", "streaming"), who
    p = dsx("session", "steer", "chat/s", "hello there", "--server", s.url, check=0)
    assert "acknowledged" in p.stdout, p.stdout
    wait_for(lambda: "got: hello there" in "".join(texts(all_events(s.url, "chat/s")).values()), 10, "steer echo")
    dsx("session", "steer", "chat/s", run, "bye", "--server", s.url, check=0)
    out, err = runner.communicate(timeout=20)
    assert runner.returncode == 0, (out, err)
    assert run_end(s.url, "chat/s", run)["data"]["reason"] == "done"
    who = json.loads(dsx("session", "who", "chat/s", "--server", s.url, "--json", check=0).stdout)
    assert who["runs"] == [] and not [m for m in who["members"] if m["kind"] == "agent"], who
    p = dsx("session", "steer", "chat/s", "again", "--server", s.url)
    assert p.returncode == 3 and "no active run" in p.stderr, (p.returncode, p.stderr)
    print("steer: text reached the agent's stdin and was acknowledged; who shows the agent, then nobody")


def test_insecure(s_unused):
    p = dsx("session", "serve", "--listen", "0.0.0.0:0", "--memory", timeout=10)
    assert p.returncode == 2 and "--insecure" in p.stderr, (p.returncode, p.stderr)
    print("non-loopback listen without a key refused (exit 2)")


# ---------------------------------------------------------------- issue 11 (items 7 and 10)

BASH_LOOP = "echo $$ > %s; for i in $(seq 100000); do echo $i; sleep 0.02; done"


def live_group_members(pgid):
    """Pids of live (not zombie) processes in group pgid, from /proc (this machine's PID 1
    may never reap orphans, so os.killpg(pgid, 0) alone would count their zombies)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            out.append(int(d))
    return out


def start_bash_loop(s, session, *extra):
    pidfile = os.path.join(s.data, session.replace("/", "_") + ".pid")
    runner = start_run(s, session, ["/bin/bash", "-c", BASH_LOOP % pidfile], *extra)
    run = run_of(s.url, session)
    wait_for(lambda: "".join(texts(all_events(s.url, session)).values()).count("\n") >= 20, 20, "20 lines of output")
    bash = int(open(pidfile).read())
    return runner, run, bash


def assert_group_gone(bash):
    try:
        pgid = os.getpgid(bash)
    except ProcessLookupError:
        pgid = bash  # the leader is gone; its group id was its pid (asserted while it lived)
    assert not live_group_members(pgid), "alive in the agent's group: %r" % live_group_members(pgid)
    try:
        os.killpg(pgid, 0)
        # Only zombies may be left (members reparented to a PID 1 that does not reap).
    except ProcessLookupError:
        pass


def test_cancel_stops_group(s):
    """The agent from the issue: a bash loop whose `sleep` made it ride out SIGINT. After the
    cancel is acknowledged (applied) the log gets no more output of the run, strictly: no
    msg.append of the run after the applied control.ack (the server refuses them), and no
    process of the agent's group is alive once the runner has exited."""
    session = "chat/g"
    grace = 3
    runner, run, bash = start_bash_loop(s, session, "--grace", str(grace))
    own_group = os.getpgid(bash) == bash and os.getpgid(bash) != os.getpgid(runner.pid)
    p = dsx("session", "cancel", session, "--server", s.url, "--json", check=0)
    acked = time.time()
    result = json.loads(p.stdout)["results"][0]
    assert result["outcome"] == "applied", result
    out, err = runner.communicate(timeout=30)
    took = time.time() - acked
    assert runner.returncode == 130, (runner.returncode, out, err)
    evs = all_events(s.url, session)
    ack_at = [i for i, e in enumerate(evs)
              if e["type"] == "control.ack" and e["id"] == result["id"] and e["data"]["outcome"] == "applied"]
    assert ack_at, "no applied ack in the log"
    after = [e for e in evs[ack_at[0] + 1:] if e.get("run") == run]
    late = [e for e in after if e["type"] == "msg.append"]
    assert not late, "%d fragments after the applied cancel: %r" % (len(late), [e["data"]["text"][:40] for e in late])
    assert [e["type"] for e in after] == ["msg.end", "run.end"], [e["type"] for e in after]
    assert after[-1]["data"]["reason"] == "cancelled", after[-1]
    # A fragment sent now, as a zombie writer would, is refused with the reason.
    msg = [e for e in evs if e["type"] == "msg.start" and e["run"] == run][0]["msg"]
    st, body = request(s.url + "/v1/session/%s/events" % session, "POST",
                       {"type": "msg.append", "run": run, "msg": msg, "data": {"text": "late"}})
    assert st == 409, (st, body)
    assert own_group, "the agent was not the leader of a process group of its own"
    assert_group_gone(bash)
    # SIGTERM to the whole group ends bash and its sleep at once: no wait for SIGKILL.
    assert took < grace, "the runner took %.2f s after the ack (grace %d s)" % (took, grace)
    print("cancel: applied; 0 fragments after the applied ack (%d events after it: msg.end, run.end); "
          "agent group %d gone; runner exited %.2f s after the ack" % (len(after), bash, took))


def test_cancel_refuses_late_output(s):
    """An agent that prints while it stops (a SIGTERM trap): what it prints after the applied
    ack is refused by the server, and the runner takes that as the end of the reply: the
    run still ends cancelled (exit 130), not with an error or a producer gap."""
    session = "chat/late"
    pidfile = os.path.join(s.data, "late.pid")
    script = ("echo $$ > %s; trap 'for i in 1 2 3 4 5 6 7 8 9 10; do echo cleanup $i; sleep 0.05; done; exit 0' TERM; "
              "while :; do echo tick; sleep 0.02; done" % pidfile)
    runner = start_run(s, session, ["/bin/bash", "-c", script], "--grace", "5")
    run = run_of(s.url, session)
    wait_for(lambda: "".join(texts(all_events(s.url, session)).values()).count("tick") >= 10, 20, "ticks")
    bash = int(open(pidfile).read())
    p = dsx("session", "cancel", session, "--server", s.url, "--json", check=0)
    result = json.loads(p.stdout)["results"][0]
    assert result["outcome"] == "applied", result
    out, err = runner.communicate(timeout=30)
    assert runner.returncode == 130, (runner.returncode, out, err)
    assert "were not sent" in err, err  # the cleanup lines came after the ack and were refused
    evs = all_events(s.url, session)
    ack_at = [i for i, e in enumerate(evs) if e["type"] == "control.ack" and e["id"] == result["id"]][0]
    assert evs[ack_at]["data"]["outcome"] == "applied", evs[ack_at]
    after = [e for e in evs[ack_at + 1:] if e.get("run") == run]
    assert [e["type"] for e in after] == ["msg.end", "run.end"], [e["type"] for e in after]
    assert after[-1]["data"]["reason"] == "cancelled" and after[-1]["from"]["sub"] != "@server", after[-1]
    assert_group_gone(bash)
    dropped = [line for line in err.splitlines() if "were not sent" in line][0]
    print("late output: refused after the applied ack, runner ended the run cancelled (%s)" % dropped.strip())


def test_interrupt_stops_group(s):
    """Ctrl-C (SIGINT) or SIGTERM to the runner: the agent's own group no longer gets the
    terminal's signal, so the runner passes it on, ends the run `interrupted` (issue 18: a
    reason of its own, not a cancel nobody sent) and exits 130."""
    for sig, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
        session = "chat/i-" + name.lower()
        runner, run, bash = start_bash_loop(s, session, "--grace", "3")
        runner.send_signal(sig)
        out, err = runner.communicate(timeout=30)
        assert runner.returncode == 130, (name, runner.returncode, out, err)
        end = run_end(s.url, session, run)
        assert end["data"]["reason"] == "interrupted" and end["data"].get("interrupted") == name, end
        assert end["from"]["sub"] != "@server", end  # the runner's own run.end, not a lapsed lease
        assert_group_gone(bash)
    print("interrupt: SIGINT and SIGTERM to the runner stop the agent's group, run ends interrupted, exit 130")


def test_takeover_rights(s_unused):
    """A takeover ends the run in the lane, so it needs the right to cancel that run."""
    tmp = tempfile.mkdtemp(prefix="dsx-takeover-")
    key = os.path.join(tmp, "key")
    open(key, "w").write("k" * 40 + "\n")
    s = Server(DSX, ["--auth-key-file", key]).start()
    try:
        def tok(sub, rights):
            return dsx("session", "token", "--auth-key-file", key, "--sub", sub, "--rights", rights,
                       "--session", "chat/*", check=0).stdout.strip().splitlines()[-1]
        agent, bob = tok("agent", "run,read"), tok("bob", "run,read")
        carol, ops = tok("carol", "run,read,cancel_own"), tok("ops", "run,read,cancel_any")
        url = s.url + "/v1/session/chat/t/events"
        assert request(s.url + "/v1/session/chat/t", "PUT", token=agent)[0] == 201

        def start(token, run, takeover=True):
            data = {"takeover": True} if takeover else {}
            return request(url, "POST", {"type": "run.start", "run": run, "data": data}, token=token)

        assert start(agent, "r-agent", False)[0] == 200
        st, body = start(bob, "r-bob")
        assert st == 403 and "lacks 'cancel_any'" in body["error"], (st, body)
        st, body = start(carol, "r-carol")
        assert st == 403 and "may cancel only runs it started" in body["error"], (st, body)
        st, body = request(url, "POST", {"type": "run.start", "run": "r-x", "data": {"takeover": "yes"}}, token=ops)
        assert st == 400, (st, body)
        runs = request(s.url + "/v1/session/chat/t", token=agent)[1]["runs"]
        assert [r["run"] for r in runs] == ["r-agent"], runs
        st, body = start(ops, "r-ops")  # cancel_any: anyone's run
        assert st == 200 and body["epoch"] == 2, (st, body)
        st, body = start(carol, "r-carol-2", False)  # busy lane, no takeover
        assert st == 409, (st, body)
        assert request(s.url + "/v1/session/chat/u", "PUT", token=carol)[0] == 201
        assert request(s.url + "/v1/session/chat/u/events", "POST", {"type": "run.start", "run": "r-c1"}, token=carol)[0] == 200
        st, body = request(s.url + "/v1/session/chat/u/events", "POST",
                           {"type": "run.start", "run": "r-c2", "data": {"takeover": True}}, token=carol)
        assert st == 200, (st, body)  # cancel_own: her own run
        evs = all_events(s.url, "chat/t", token=agent)
        ends = [e for e in evs if e["type"] == "run.end"]
        assert [(e["run"], e["data"]["superseded_by"]) for e in ends] == [("r-agent", "r-ops")], ends
        print("takeover: 403 with run only, 403 with cancel_own on another's run, 400 on a non-boolean, "
              "200 with cancel_any, 200 with cancel_own on one's own run")
    finally:
        s.stop()


TESTS = {n[5:]: f for n, f in globals().items() if n.startswith("test_")}

if __name__ == "__main__":
    name = sys.argv[2]
    server = None if name in ("auth", "insecure", "takeover_rights") else Server(DSX).start()
    try:
        TESTS[name](server)
    finally:
        for r in RUNNERS:
            if r.poll() is None:
                r.kill()  # its agent gets SIGKILL too (parent-death signal)
                r.wait()
        if server:
            server.stop()
