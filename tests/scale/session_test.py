"""Live sessions across dsx nodes on one Redis (issue 16): the agent (`dsx session run`) talks
to node A, readers and controllers to node B (and C): run, cancel, steer, presence, agent_lost
after a lease expiry (appended exactly once although every node watches leases).

Usage: session_test.py DSX {run,cancel,steer,presence,agent_lost} [standalone|cluster]
"""
import json
import os
import signal
import subprocess
import sys
import time

import harness as h
from harness import SessionSse, all_events, log, request, texts, wait_for


def agent_cmd(lines, delay, pidfile=None):
    code = ("import os,sys,time\n"
            + ("open(%r,'w').write(str(os.getpid()))\n" % pidfile if pidfile else "")
            + "for i in range(%d):\n    sys.stdout.write('line %%04d\\n' %% i); sys.stdout.flush(); time.sleep(%f)\n" % (lines, delay))
    return ["/usr/bin/python3", "-c", code]


def expected(lines):
    return "".join("line %04d\n" % i for i in range(lines))


def start_run(dsx, node, session, argv, *extra):
    return h.popen([dsx, "session", "run", session, "--server", node.url] + list(extra) + ["--"] + argv,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def events(node, session):
    try:
        return all_events(node.url, session)
    except AssertionError:
        return []


def run_of(node, session):
    def find():
        starts = [e for e in events(node, session) if e["type"] == "run.start"]
        return starts[-1]["run"] if starts else None
    return wait_for(find, 20, "run.start through " + node.name)


def run_ends(node, session, run):
    return [e for e in events(node, session) if e["type"] == "run.end" and e["run"] == run]


def setup(dsx, kind, n=2):
    _store, url = h.make_store(kind)
    return h.nodes(dsx, url, n)


def test_run(dsx, kind="standalone"):
    """Agent on A; a live SSE reader on B sees the reply as it streams; catch-up, tail --text and
    the compacted view through B and C equal A's log."""
    a, b, c = setup(dsx, kind, 3)
    session, lines = "chat/run", 60
    # The session exists before the run so the reader can subscribe first.
    assert request(a.url + "/v1/session/" + session, "PUT")[0] in (200, 201)
    rd = SessionSse(b.url, session)
    ws = h.WebSocket(c.url, "/v1/session/%s/ws" % session)
    assert ws.status == 101, ws.head
    ws.recv_until(lambda f: f["op"] == "hello")
    ws.send({"op": "subscribe", "offset": "-1", "req": "s1"})
    p = start_run(dsx, a, session, agent_cmd(lines, 0.02), "--json")
    # Live: B's SSE shows fragments while the agent is still running.
    assert rd.pump(lambda r: sum(1 for e in r.events if e[2].get("type") == "msg.append") >= 5, 20), \
        "B's SSE saw no live fragments: %r" % rd.events[-3:]
    assert p.poll() is None, "the agent finished before B saw live fragments: the test proves nothing"
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, (out, err)
    assert json.loads(out.strip().splitlines()[-1])["reason"] == "done"
    assert rd.pump(lambda r: any(e[2].get("type") == "run.end" for e in r.events), 10), "B's SSE never saw run.end"
    live_text = "".join(e[2]["data"]["text"] for e in rd.events if e[2].get("type") == "msg.append")
    assert live_text == expected(lines), "B's live text differs: %r" % live_text[-80:]
    # A WebSocket subscriber on C got the same events live.
    ws_events = []
    ws.recv_until(lambda f: f["op"] == "events" and (ws_events.extend(f["events"]) or
                                                     any(e["type"] == "run.end" for e in f["events"])), 20)
    ws_text = "".join(e["data"]["text"] for e in ws_events if e["type"] == "msg.append")
    assert ws_text == expected(lines), "C's WebSocket text differs: %r" % ws_text[-80:]
    ea, eb, ec = all_events(a.url, session), all_events(b.url, session), all_events(c.url, session)
    h.assert_same_events([(a.name, ea), (b.name, eb), (c.name, ec)])
    assert list(texts(eb).values()) == [expected(lines)]
    offs = [e["offset"] for e in eb]
    assert offs == sorted(offs) and len(set(offs)) == len(offs)
    t = h.dsx_run(dsx, "session", "tail", session, "--server", c.url, "--text", check=0).stdout
    assert expected(lines) in t and "ended: done" in t, t[-300:]
    st, view = request(b.url + "/v1/session/%s/view" % session)
    msgs = [i for i in view["items"] if i["type"] == "msg"]
    assert st == 200 and len(msgs) == 1 and msgs[0]["data"]["text"] == expected(lines) and msgs[0]["data"]["state"] == "done", view
    log("run on A: B's SSE and C's WebSocket saw it live; A, B, C logs identical (%d events); tail --text and view through B/C" % len(eb))


def test_cancel(dsx, kind="standalone"):
    """Agent on A, `dsx session cancel` through B: acknowledged by the agent, run ends cancelled,
    the agent process is gone, no output after the applied ack."""
    a, b = setup(dsx, kind)
    session = "chat/cancel"
    pidfile = os.path.join(a.dir, "agent.pid")
    p = start_run(dsx, a, session, agent_cmd(100000, 0.02, pidfile), "--grace", "1")
    run = run_of(b, session)
    wait_for(lambda: "".join(texts(events(b, session)).values()).count("\n") >= 20, 20, "output through B")
    agent_pid = int(open(pidfile).read())
    t0 = time.time()
    r = h.dsx_run(dsx, "session", "cancel", session, "--server", b.url, "--json", check=0)
    res = json.loads(r.stdout)["results"][0]
    assert res["outcome"] == "applied", res
    log("cancel through B acknowledged (applied) in %.2f s" % (time.time() - t0))
    out, err = p.communicate(timeout=30)
    assert p.returncode == 130, (p.returncode, out, err)
    end = wait_for(lambda: run_ends(b, session, run), 10, "run.end through B")
    assert len(end) == 1 and end[0]["data"]["reason"] == "cancelled", end
    try:
        os.kill(agent_pid, 0)
        raise AssertionError("agent process still alive after the cancel")
    except ProcessLookupError:
        pass
    evs = all_events(a.url, session)
    h.assert_same_events([(a.name, evs), (b.name, all_events(b.url, session))])
    ack_at = [i for i, e in enumerate(evs) if e["type"] == "control.ack" and e["id"] == res["id"]]
    assert ack_at and evs[ack_at[0]]["data"]["outcome"] == "applied"
    after = [e["type"] for e in evs[ack_at[0] + 1:] if e.get("run") == run]
    assert after == ["msg.end", "run.end"], after
    r = h.dsx_run(dsx, "session", "cancel", session, run, "--server", b.url, "--json")
    rr = json.loads(r.stdout)["results"][0]
    assert r.returncode == 4 and rr["outcome"] == "rejected" and "already ended" in rr["reason"], (r.returncode, r.stdout)
    log("cancel: run ended cancelled, agent %d gone, nothing after the ack, a late cancel through B rejected" % agent_pid)


def test_steer(dsx, kind="standalone"):
    """Agent on A; `who` and steer through B: the agent is listed, steer text reaches its stdin
    and is acknowledged; after the run nobody is listed and a steer is refused."""
    a, b = setup(dsx, kind)
    session = "chat/steer"
    # After 'bye' the agent lingers 1 s before it exits, so that the runner's ack of that steer
    # is not raced by the end of the run (that race is not what this test is about).
    code = ("import sys, time\nprint('ready', flush=True)\nfor line in sys.stdin:\n"
            "    print('got: ' + line.strip(), flush=True)\n    if line.strip() == 'bye': time.sleep(1); break\n")
    p = start_run(dsx, a, session, ["/usr/bin/python3", "-c", code])
    run = run_of(b, session)
    wait_for(lambda: "ready" in "".join(texts(events(b, session)).values()), 10, "ready through B")
    who = json.loads(h.dsx_run(dsx, "session", "who", session, "--server", b.url, "--json", check=0).stdout)
    agents = [m for m in who["members"] if m["kind"] == "agent"]
    assert len(agents) == 1 and agents[0]["run"] == run, "who through B: %r" % who
    assert [r["run"] for r in who["runs"]] == [run], who
    r = h.dsx_run(dsx, "session", "steer", session, "hello there", "--server", b.url, check=0)
    assert "acknowledged" in r.stdout, r.stdout
    wait_for(lambda: "got: hello there" in "".join(texts(events(a, session)).values()), 10, "steer echo")
    h.dsx_run(dsx, "session", "steer", session, run, "bye", "--server", b.url, check=0)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, (out, err)
    assert wait_for(lambda: run_ends(b, session, run), 10, "run.end")[0]["data"]["reason"] == "done"

    def nobody():
        who = json.loads(h.dsx_run(dsx, "session", "who", session, "--server", b.url, "--json", check=0).stdout)
        return (who["runs"] == [] and not [m for m in who["members"] if m["kind"] == "agent"]) or (nobody.last.append(who) and False)
    nobody.last = []
    try:
        wait_for(nobody, 3, "who through B to list nobody after run.end")
    except AssertionError as e:
        raise AssertionError("%s: %r" % (e, nobody.last[-1:]))
    r = h.dsx_run(dsx, "session", "steer", session, "again", "--server", b.url)
    assert r.returncode == 3 and "no active run" in r.stderr, (r.returncode, r.stderr)
    log("steer through B reached the agent on A and was acknowledged; who through B: agent, then nobody")


def test_presence(dsx, kind="standalone"):
    """Presence across nodes: the agent (on A) is listed through B with its state; a client's
    presence posted on B is listed on A and announced to an SSE subscriber (presence=1) on A;
    an SSE subscriber with presence=1 on B is listed on A while it is connected."""
    a, b = setup(dsx, kind)
    session = "chat/here"
    p = start_run(dsx, a, session, agent_cmd(100000, 0.05), "--grace", "1")
    run = run_of(b, session)

    def agent_on_b():
        st, pres = request(b.url + "/v1/session/%s/presence" % session)
        return [m for m in pres["members"] if m.get("kind") == "agent" and m.get("run") == run
                and m.get("state") == "streaming"]
    wait_for(agent_on_b, 5, "the agent on A listed through B as streaming")
    rd = SessionSse(a.url, session, query="offset=now&presence=1")
    assert rd.pump(lambda r: r.status is not None, 5) and rd.status == 200, rd.status
    st, body = request(b.url + "/v1/session/%s/presence" % session, "POST", {"state": "typing", "kind": "client"})
    assert st in (200, 204), (st, body)

    def listed():
        st, pres = request(a.url + "/v1/session/%s/presence" % session)
        return [m for m in pres["members"] if m.get("kind") == "client" and m.get("state") == "typing"]
    wait_for(listed, 5, "the presence posted on B to be listed on A")
    assert rd.pump(lambda r: any(e[0] == "presence" and e[2].get("data", {}).get("state") == "typing" for e in r.events), 5), \
        "A's SSE (presence=1) did not announce B's presence: %r" % rd.events[-5:]
    h.dsx_run(dsx, "session", "cancel", session, "--server", a.url, check=0)
    p.communicate(timeout=20)
    log("presence: the agent on A listed through B; a client's presence posted on B listed on A and announced on A's SSE")


def test_agent_lost(dsx, kind="standalone"):
    """Agent on A with a 2 s lease, killed with SIGKILL: run.end agent_lost, from @server, within
    the lease + 1.5 s, seen through B, appended exactly once (both nodes watch leases). Then a
    second run whose heartbeats go to A while B watches: no agent_lost while it lives."""
    a, b, c = setup(dsx, kind, 3)
    session = "chat/lost"
    # A run that lives longer than several leases, heartbeating through A: nobody declares it lost.
    p = start_run(dsx, a, session, agent_cmd(int(5.0 / 0.05), 0.05), "--lease", "2")
    run = run_of(b, session)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, (out, err)
    ends = wait_for(lambda: run_ends(c, session, run), 10, "run.end")
    assert [e["data"]["reason"] for e in ends] == ["done"], ends
    log("a 5 s run with a 2 s lease renewed through A: ended done, never agent_lost")
    # Now the agent dies without a word.
    p = start_run(dsx, a, session, agent_cmd(100000, 0.05), "--lease", "2")
    run = wait_for(lambda: (lambda r: r if r != ends[0]["run"] else None)(run_of(b, session)), 20, "second run")
    wait_for(lambda: len([e for e in events(b, session) if e["type"] == "msg.append" and e["run"] == run]) >= 3, 10,
             "output of the second run")
    t0 = time.time()
    p.send_signal(signal.SIGKILL)
    p.wait()
    end = wait_for(lambda: run_ends(b, session, run), 10, "run.end agent_lost through B")
    took = time.time() - t0
    assert end[0]["data"]["reason"] == "agent_lost" and end[0]["from"]["sub"] == "@server", end
    assert took <= 2 + 1.5, "agent_lost after %.2f s (lease 2 s)" % took
    # Exactly once, also after every node's lease check has had time to run (2 more leases).
    deadline = time.time() + 4
    while time.time() < deadline:
        for n in (a, b, c):
            ends_n = run_ends(n, session, run)
            assert len(ends_n) == 1, "%d run.end events for %s through %s: %r" % (len(ends_n), run, n.name, ends_n)
        time.sleep(0.25)
    st, view = request(c.url + "/v1/session/%s/view" % session)
    msgs = [i for i in view["items"] if i["type"] == "msg" and i.get("run") == run]
    assert msgs and msgs[-1]["data"]["state"] == "aborted", [(i.get("run"), i["type"], i["data"].get("state")) for i in view["items"]]
    who = json.loads(h.dsx_run(dsx, "session", "who", session, "--server", c.url, "--json", check=0).stdout)
    assert who["runs"] == [], who
    log("agent killed: run.end agent_lost after %.2f s (lease 2 s), exactly once through A, B and C" % took)


if __name__ == "__main__":
    h.main({"run": test_run, "cancel": test_cancel, "steer": test_steer, "presence": test_presence,
            "agent_lost": test_agent_lost}, sys.argv)
