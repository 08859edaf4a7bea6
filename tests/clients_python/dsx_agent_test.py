"""The Python agent client (clients/python/dsx_agent.py) against a real `dsx session serve`.

Usage: dsx_agent_test.py DSX [unittest args, e.g. LifecycleTest]. stdlib only (CI has no PyPI).
Every server binds 127.0.0.1 port 0 (the port is read from its "listening on" line) with data in
a temp dir; everything started is stopped in tearDown. Waits are on conditions (events stored,
a log line), never fixed sleeps, except the lease test, which must outlive several leases.
"""
import asyncio
import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLIENT_DIR = os.path.join(ROOT, "clients", "python")
sys.path.insert(0, CLIENT_DIR)
import dsx_agent  # noqa: E402
from dsx_agent import DsxAgent, DsxError, RunCancelled  # noqa: E402

DSX = os.environ.get("DSX_BIN", "")


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(0.02)


class Proc:
    """A dsx process whose stdout+stderr go to a log; the port comes from 'listening on'."""

    def __init__(self, args, log_path):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.start_len = os.path.getsize(log_path)
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        self.port = int(wait_for(self._port, 20, "'listening on' from " + " ".join(args[:3])))

    def _port(self):
        with open(self.log_path, "rb") as f:
            f.seek(self.start_len)
            m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", f.read())
        if m:
            return m.group(1)
        if self.proc.poll() is not None:
            raise AssertionError("exited %s: %s" % (self.proc.returncode, open(self.log_path).read()))
        return None

    def stop(self, kill=False):
        if self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Base(unittest.TestCase):
    auth = False

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dsx-pyclient-")
        self.procs = []
        self.key = None
        if self.auth:
            self.key = os.path.join(self.tmp, "key")
            with open(self.key, "w") as f:
                f.write("k" * 48 + "\n")
        self.server = self.serve()
        self.url = "http://127.0.0.1:%d" % self.server.port

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop(kill=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def serve(self, port=0):
        args = [DSX, "session", "serve", "--listen", "127.0.0.1:%d" % port, "--data",
                os.path.join(self.tmp, "store"), "--threads", "2"]
        if self.key:
            args += ["--auth-key-file", self.key]
        p = Proc(args, os.path.join(self.tmp, "server.log"))
        self.procs.append(p)
        return p

    def agent(self, *args, **kw):
        a = DsxAgent(*args, **kw)
        self.addCleanup(a.close)
        return a

    def token(self, sub, rights, session="*", ttl="1h"):
        out = subprocess.run([DSX, "session", "token", "--auth-key-file", self.key, "--sub", sub, "--rights", rights,
                              "--session", session, "--ttl", ttl], check=True, capture_output=True, text=True)
        return out.stdout.strip().splitlines()[-1]

    def events(self, session, token=None, offset="-1"):
        with DsxAgent(self.url, token=token) as a:
            return a.events(session, offset)[0]

    def run_events(self, session, run_id, token=None):
        return [e for e in self.events(session, token) if e.get("run") == run_id]

    def text_of(self, evs, run_id):
        return "".join(e["data"]["text"] for e in evs if e.get("run") == run_id and e["type"] == "msg.append")

    def run_end(self, session, run_id, token=None):
        ends = [e for e in self.run_events(session, run_id, token) if e["type"] == "run.end"]
        return ends[0] if ends else None


class LifecycleTest(Base):
    def test_run_lifecycle_and_stored_events(self):
        agent = self.agent(self.url)
        self.assertNotIn("token=set", repr(agent))
        agent.post("chat/1", {"type": "user.message", "data": {"text": "hi"}})
        pieces = ["tok-%03d " % i for i in range(300)] + ["ünïcødé ✓ 🚀"]
        with agent.run("chat/1", lease_ms=5000, data={"command": "test"}) as run:
            self.assertTrue(run.id.startswith("r-"))
            self.assertEqual((run.lane, run.epoch, run.lease_ms), ("main", 1, 5000))
            with run._lock:  # the writer cannot take any of them meanwhile: they must merge
                for p in pieces:
                    self.assertTrue(run.append(p))
            run.post({"type": "tool.result", "data": {"ok": True}})
            run.start_message(role="assistant")
            run.append("second message")
        self.assertEqual(run.reason, "done")
        evs = self.events("chat/1")
        self.assertEqual(evs[0]["type"], "user.message")
        mine = [e for e in evs if e.get("run") == run.id]
        types = [e["type"] for e in mine]
        self.assertEqual(types[0], "run.start")
        self.assertEqual(mine[0]["data"]["command"], "test")
        self.assertEqual(types[-1], "run.end")
        self.assertEqual(mine[-1]["data"], {"reason": "done"})
        self.assertEqual(types.count("msg.start"), 2)
        self.assertEqual(types.count("msg.end"), 2)
        self.assertIn("tool.result", types)
        msgs = {}
        for e in mine:
            if e["type"] == "msg.append":
                msgs[e["msg"]] = msgs.get(e["msg"], "") + e["data"]["text"]
        self.assertEqual(sorted(msgs.values()), sorted(["".join(pieces), "second message"]))
        # Batched: fragments that piled up went out merged (msg.start + one msg.append, then
        # the second message's two).
        self.assertEqual(run.fragments, 4)
        self.assertEqual(agent.session_info("chat/1")["runs"], [])

    def test_large_appends_are_split_below_the_body_limit(self):
        agent = self.agent(self.url)
        big = "".join(chr(0x41 + i % 26) if i % 7 else "é" for i in range(300000))
        with agent.run("chat/big") as run:
            run.append(big)
            run.append("🚀" * 70000)  # 4-byte characters: 280 KB in one append
        self.assertEqual(self.text_of(self.events("chat/big"), run.id), big + "🚀" * 70000)

    def test_exception_ends_error_and_run_cancelled_ends_cancelled(self):
        agent = self.agent(self.url)
        with self.assertRaises(ZeroDivisionError):
            with agent.run("chat/e") as run:
                run.append("partial")
                1 / 0
        end = self.run_end("chat/e", run.id)
        self.assertEqual(end["data"]["reason"], "error")
        self.assertEqual(end["data"]["error"], "ZeroDivisionError: division by zero")
        self.assertEqual(self.text_of(self.events("chat/e"), run.id), "partial")
        with agent.run("chat/e") as run2:
            run2.append("x")
            raise RunCancelled("user gave up")
        self.assertEqual(self.run_end("chat/e", run2.id)["data"]["reason"], "cancelled")
        # Ctrl-C in the agent: the run ends interrupted at once (as `dsx session run` does), not
        # cancelled (nobody pressed Stop) and not agent_lost after the lease.
        with self.assertRaises(KeyboardInterrupt):
            with agent.run("chat/e") as run3:
                run3.append("y")
                raise KeyboardInterrupt()
        end3 = self.run_end("chat/e", run3.id)
        self.assertEqual(end3["data"]["reason"], "interrupted")
        self.assertEqual(end3["data"]["interrupted"], "KeyboardInterrupt")

    def test_busy_lane_is_a_clear_409_and_takeover_works(self):
        agent = self.agent(self.url)
        first = agent.start_run("chat/b", lane="l1")
        with self.assertRaises(DsxError) as cm:
            agent.start_run("chat/b", lane="l1")
        self.assertEqual(cm.exception.status, 409)
        self.assertIn("cannot start a run in session 'chat/b'", str(cm.exception))
        lost = threading.Event()
        first.on_lost = lambda why: lost.set()
        with agent.run("chat/b", lane="l1", takeover=True) as second:
            second.append("mine now")
            wait_for(lost.is_set, 10, "the first run to learn it was superseded")
            with self.assertRaises(dsx_agent.RunLost):
                first.append("too late")
        with self.assertRaises(dsx_agent.RunLost):
            first.end()
        self.assertEqual(first.reason, "agent_lost")
        self.assertEqual(self.run_end("chat/b", first.id)["data"]["reason"], "agent_lost")
        self.assertEqual(self.run_end("chat/b", second.id)["data"]["reason"], "done")

    def test_server_list_fails_over_and_bad_lists_are_refused(self):
        with self.assertRaises(ValueError):
            DsxAgent("http://a,,http://b")
        with self.assertRaises(ValueError):
            DsxAgent("ftp://x")
        # First node closed (a port nobody listens on): the second answers.
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        dead = "http://127.0.0.1:%d" % s.getsockname()[1]
        s.close()
        agent = self.agent(dead + "," + self.url)
        with agent.run("chat/f") as run:
            run.append("via the second node")
        self.assertEqual(self.text_of(self.events("chat/f"), run.id), "via the second node")
        # Only dead nodes: a clear DsxUnavailable at first contact, not a hang.
        with self.assertRaises(dsx_agent.DsxUnavailable) as cm:
            self.agent(dead, retry_for=0.5).create_session("x")
        self.assertIsNone(cm.exception.status)
        self.assertIn("no server answered", str(cm.exception))


class ControlTest(Base):
    def test_cancel_reaches_the_callback_is_acked_and_ends_the_run_cancelled(self):
        agent, viewer = self.agent(self.url), self.agent(self.url)
        got = []
        stop = threading.Event()

        def on_cancel(ctl):
            got.append((ctl.kind, ctl.reason, ctl.acked))
            stop.set()

        with agent.run("chat/c", on_cancel=on_cancel) as run:
            run.append("before ")
            run.flush()
            ans = viewer.cancel("chat/c", run.id, "user pressed stop")
            self.assertEqual(ans["outcome"]["outcome"], "pending")
            self.assertTrue(stop.wait(10))
            wait_for(lambda: run.output_closed, 10, "the applied ack")
            self.assertFalse(run.append("after the cancel"))  # dropped, not an error
        self.assertEqual(got, [("cancel", "user pressed stop", False)])
        self.assertEqual(run.reason, "cancelled")
        self.assertEqual(run.controls_seen[0].outcome, "applied")
        mine = self.run_events("chat/c", run.id)
        types = [e["type"] for e in mine]
        self.assertEqual(types[-4:], ["control.cancel", "control.ack", "msg.end", "run.end"])
        self.assertEqual(mine[-3]["data"], {"outcome": "applied"})
        self.assertEqual(mine[-3]["id"], mine[-4]["id"])
        self.assertEqual(mine[-1]["data"]["reason"], "cancelled")
        self.assertEqual(self.text_of(mine, run.id), "before ")
        self.assertEqual(run.dropped, len("after the cancel"))

    def test_output_refused_after_the_cancel_is_the_end_not_an_error(self):
        # The ack is written by someone else (auto_ack_cancel=False + the test acks): the
        # client learns of the cut from the server's 409 and drops the rest quietly.
        agent = self.agent(self.url)
        with agent.run("chat/c409", auto_ack_cancel=False) as run:
            run.append("kept")
            run.flush()
            self.agent(self.url).cancel("chat/c409", run.id)
            ctl = wait_for(lambda: run.controls_seen and run.controls_seen[0], 10, "the cancel")
            ctl.ack()
            run.append("refused")
            run.flush()
        self.assertEqual(run.reason, "cancelled")
        self.assertEqual(self.text_of(self.events("chat/c409"), run.id), "kept")

    def test_async_iterator_gets_steer_and_cancel(self):
        agent, viewer = self.agent(self.url), self.agent(self.url)
        seen = []

        async def agent_main():
            async with agent.run("chat/a") as run:
                controls = run.controls()
                run.append("thinking...")
                await asyncio.get_running_loop().run_in_executor(None, run.flush)
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: viewer.steer("chat/a", run.id, text="shorter please"))
                async for ctl in controls:
                    seen.append((ctl.kind, ctl.text, ctl.reason))
                    if ctl.kind == "steer":
                        await asyncio.get_running_loop().run_in_executor(None, ctl.ack)
                        run.append(" (shorter)")
                        await asyncio.get_running_loop().run_in_executor(
                            None, lambda: viewer.cancel("chat/a", run.id, "enough"))
                    elif ctl.kind == "cancel":
                        break
            return run

        run = asyncio.run(asyncio.wait_for(agent_main(), 30))
        self.assertEqual(seen, [("steer", "shorter please", None), ("cancel", None, "enough")])
        self.assertEqual(run.reason, "cancelled")
        mine = self.run_events("chat/a", run.id)
        acks = [(e["id"], e["data"]["outcome"]) for e in mine if e["type"] == "control.ack"]
        reqs = [e["id"] for e in mine if e["type"] in ("control.steer", "control.cancel")]
        self.assertEqual(acks, [(reqs[0], "applied"), (reqs[1], "applied")])
        self.assertEqual(self.text_of(mine, run.id), "thinking... (shorter)")
        self.assertEqual(mine[-1]["data"]["reason"], "cancelled")

    def test_steer_callback_and_rejections(self):
        agent, viewer = self.agent(self.url), self.agent(self.url)
        steers = []

        def on_steer(ctl):
            steers.append(ctl.json if ctl.json is not None else ctl.text)
            if ctl.text == "bad":
                raise ValueError("cannot do that")

        with agent.run("chat/s", on_steer=on_steer) as run:
            viewer.steer("chat/s", run.id, text="shorter")
            viewer.steer("chat/s", run.id, json={"temperature": 0.2})
            viewer.steer("chat/s", run.id, text="bad")
            wait_for(lambda: len(run.controls_seen) == 3 and all(c.acked for c in run.controls_seen), 10,
                     "three steers answered")
        self.assertEqual(steers, ["shorter", {"temperature": 0.2}, "bad"])
        acks = [e["data"] for e in self.run_events("chat/s", run.id) if e["type"] == "control.ack"]
        self.assertEqual(acks, [{"outcome": "applied"}, {"outcome": "applied"},
                                {"outcome": "rejected", "reason": "ValueError: cannot do that"}])
        self.assertEqual(run.reason, "done")
        # No on_steer and no iterator: rejected at once, with a reason.
        with agent.run("chat/s2") as run2:
            viewer.steer("chat/s2", run2.id, text="anything")
            wait_for(lambda: run2.controls_seen and run2.controls_seen[0].acked, 10, "the steer answered")
        ack = [e for e in self.run_events("chat/s2", run2.id) if e["type"] == "control.ack"][0]
        self.assertEqual(ack["data"], {"outcome": "rejected", "reason": "this agent does not take steering"})


class LeaseTest(Base):
    def test_heartbeats_keep_a_short_lease_alive(self):
        agent = self.agent(self.url)
        # The control: a run nobody renews ends agent_lost after one lease (so this server's
        # reaper would catch ours too).
        raw = agent.post("chat/l", {"type": "run.start", "lane": "idle", "data": {"lease_ms": 1000}})
        idle = raw["run"]
        with agent.run("chat/l", lane="busy", lease_ms=1000) as run:
            t0 = time.monotonic()
            wait_for(lambda: self.run_end("chat/l", idle), 15, "the unrenewed run to end agent_lost")
            self.assertEqual(self.run_end("chat/l", idle)["data"]["reason"], "agent_lost")
            # Ours outlives several lease periods.
            wait_for(lambda: time.monotonic() - t0 > 4.0, 10, "four lease periods")
            self.assertIsNone(self.run_end("chat/l", run.id))
            self.assertEqual([r["run"] for r in agent.session_info("chat/l")["runs"]], [run.id])
            self.assertFalse(run.lost)
            run.append("still here")
        self.assertEqual(self.run_end("chat/l", run.id)["data"]["reason"], "done")


class AuthTest(Base):
    auth = True

    def test_no_token_and_token_without_rights_are_clear_errors(self):
        os.environ.pop("DSX_TOKEN", None)
        with self.assertRaises(DsxError) as cm:
            with self.agent(self.url).run("chat/1"):
                pass
        self.assertEqual(cm.exception.status, 401)
        self.assertIn("no token was given", str(cm.exception))
        reader = self.token("bob", "read,append", "chat/*")
        with self.assertRaises(DsxError) as cm:
            with self.agent(self.url, token=reader).run("chat/1"):
                pass
        self.assertEqual(cm.exception.status, 403)
        self.assertIn("lacks", cm.exception.error)
        self.assertIn("'run'", str(cm.exception))
        self.assertNotIn(reader, str(cm.exception))
        self.assertNotIn(reader, repr(self.agent(self.url, token=reader)))
        other = self.token("carol", "read,append,run", "other/*")
        with self.assertRaises(DsxError) as cm:
            self.agent(self.url, token=other).start_run("chat/1")
        self.assertEqual(cm.exception.status, 403)

    def test_a_token_without_read_cannot_run_deaf_to_cancel(self):
        writer = self.token("dan", "append,run", "chat/*")
        with self.assertRaises(DsxError) as cm:
            with self.agent(self.url, token=writer).run("chat/deaf") as run:
                run.append("never")
        self.assertEqual(cm.exception.status, 403)
        self.assertIn("cannot receive cancel and steer", str(cm.exception))
        self.assertIn("'read'", cm.exception.error)
        evs = self.events("chat/deaf", token=self.token("r", "read"))
        self.assertEqual([e["type"] for e in evs], ["run.start", "run.end"])
        self.assertEqual(evs[-1]["data"]["reason"], "error")

    def test_a_refreshed_token_keeps_a_run_past_the_old_ones_expiry(self):
        short = self.token("agent-2", "read,append,run", "chat/*", ttl="2s")
        expires = time.time() + 2
        agent = self.agent(self.url, token=short)
        with agent.run("chat/refresh", lease_ms=1000) as run:
            agent.set_token(self.token("agent-2", "read,append,run", "chat/*"))
            # The control stream opened with the short token ends at its expiry (event: error
            # 401) and comes back with the new one.
            wait_for(lambda: run.reconnects >= 1, 15, "the control stream to reconnect with the new token")
            self.assertGreater(time.time(), expires - 1)
            self.agent(self.url, token=self.token("alice", "cancel_any", "chat/*")).cancel("chat/refresh", run.id)
            self.assertTrue(run.wait_cancelled(10))
        self.assertIsNone(run.follow_error)
        self.assertEqual(run.reason, "cancelled")
        self.assertIsNone(run.error)

    def test_token_from_env_runs_and_receives_controls(self):
        os.environ["DSX_TOKEN"] = self.token("agent-1", "read,append,run", "chat/*")
        try:
            agent = self.agent(self.url)
        finally:
            del os.environ["DSX_TOKEN"]
        stopper = self.agent(self.url, token=self.token("alice", "read,cancel_any,steer", "chat/*"))
        with agent.run("chat/9") as run:
            run.append("authorized")
            stopper.cancel("chat/9", run.id)
            self.assertTrue(run.wait_cancelled(10))
        self.assertEqual(run.reason, "cancelled")
        evs = self.run_events("chat/9", run.id, token=self.token("r", "read"))
        self.assertEqual(evs[0]["from"]["sub"], "agent-1")
        self.assertEqual([e["data"]["outcome"] for e in evs if e["type"] == "control.ack"], ["applied"])


class _LosingProxy:
    """An HTTP proxy in front of the server that forwards the POST whose Producer-Seq is
    `lose_seq` (of the run's agent producer), lets the server store it, and then drops the
    connection without answering: the client must retry it, and the retry must not duplicate."""

    def __init__(self, upstream_port, lose_seq, blackout=False, producer="agent-"):
        self.lost = []
        self.blackout = threading.Event()  # set: after the loss, the agent's POSTs get 503
        if blackout:
            self.blackout.set()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                up = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                pid = self.headers.get("Producer-Id") or ""
                if not (outer.lost and outer.blackout.is_set() and pid.startswith("agent-")):
                    up.request(self.command, self.path, body=body, headers=hdrs)
                pid = self.headers.get("Producer-Id") or ""
                if outer.lost and outer.blackout.is_set() and pid.startswith("agent-"):
                    up.close()
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                resp = up.getresponse()
                if (self.command == "POST" and pid.startswith(producer) and
                        self.headers.get("Producer-Seq") == str(lose_seq) and not outer.lost):
                    resp.read()
                    outer.lost.append((self.headers.get("Producer-Seq"), resp.status))
                    self.close_connection = True
                    up.close()
                    return  # stored upstream; the client never hears of it
                stream = resp.getheader("Content-Type", "").startswith("text/event-stream")
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                if stream:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        while True:
                            chunk = resp.read1(65536)
                            if not chunk:
                                break
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                            self.wfile.flush()
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass
                    self.close_connection = True
                else:
                    data = resp.read()
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                up.close()

            do_GET = do_POST = do_PUT = _forward

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class RestartTest(Base):
    def test_server_killed_and_restarted_mid_run_nothing_lost_or_duplicated(self):
        agent = self.agent(self.url, retry_for=60)
        pieces = ["f%04d|" % i for i in range(400)]
        steers = []
        with agent.run("chat/r", lease_ms=3000, on_steer=lambda c: steers.append(c.text)) as run:
            for p in pieces[:150]:
                run.append(p)
            self.agent(self.url).steer("chat/r", run.id, text="before")
            wait_for(lambda: steers, 10, "the first steer")
            run.flush()
            port = self.server.port
            self.server.stop(kill=True)  # SIGKILL: no goodbye
            for p in pieces[150:300]:  # queued while the server is away
                run.append(p)
            self.server = self.serve(port)  # same port, same data dir
            for p in pieces[300:]:
                run.append(p)
            self.assertTrue(run.flush(60))
            # The control stream came back after the restart (from its last event id): a new
            # steer arrives, and the one before the restart is not delivered again.
            self.agent(self.url).steer("chat/r", run.id, text="after")
            wait_for(lambda: len(steers) == 2 and run.controls_seen[1].acked, 30, "the steer after the restart")
        self.assertEqual(steers, ["before", "after"])
        self.assertEqual(run.reason, "done")
        acks = [e["data"]["outcome"] for e in self.run_events("chat/r", run.id) if e["type"] == "control.ack"]
        self.assertEqual(acks, ["applied", "applied"], [(e["type"], e.get("id"), e.get("data"), e["from"]) for e in self.run_events("chat/r", run.id) if e["type"].startswith("control")])
        text = self.text_of(self.events("chat/r"), run.id)
        self.assertEqual(text, "".join(pieces))
        self.assertEqual(self.run_end("chat/r", run.id)["data"]["reason"], "done")

    def test_lost_answer_is_retried_without_a_duplicate(self):
        proxy = _LosingProxy(self.server.port, lose_seq=3)
        try:
            agent = self.agent("http://127.0.0.1:%d" % proxy.port)
            with agent.run("chat/p") as run:
                for i in range(6):
                    run.append("p%d " % i)
                    run.flush()  # one POST each: seq 0 run.start, 1 msg.start, 2.. appends
        finally:
            proxy.close()
        self.assertEqual(proxy.lost, [("3", 200)])
        self.assertEqual(self.text_of(self.events("chat/p"), run.id), "p0 p1 p2 p3 p4 p5 ")
        self.assertEqual(run.reason, "done")


    def test_an_ack_whose_answer_was_lost_is_not_acked_twice_and_the_next_one_is_stored(self):
        # The retry of a landed ack is refused (409 "no pending control request") before the
        # producer seq is looked at; the client takes it as stored and must not reuse its seq.
        proxy = _LosingProxy(self.server.port, lose_seq=0, producer="ack-")
        try:
            agent = self.agent("http://127.0.0.1:%d" % proxy.port)
            with agent.run("chat/k", on_steer=lambda c: None) as run:
                viewer = self.agent(self.url)
                viewer.steer("chat/k", run.id, text="one")
                wait_for(lambda: run.controls_seen and run.controls_seen[0].acked, 10, "the first ack")
                viewer.steer("chat/k", run.id, text="two")
                wait_for(lambda: len(run.controls_seen) == 2 and run.controls_seen[1].acked, 10, "the second ack")
        finally:
            proxy.close()
        self.assertEqual(proxy.lost, [("0", 200)])
        mine = self.run_events("chat/k", run.id)
        acks = [(e["id"], e["data"]["outcome"]) for e in mine if e["type"] == "control.ack"]
        self.assertEqual(acks, [(c.id, "applied") for c in run.controls_seen])

    def test_a_run_start_whose_answer_was_lost(self):
        proxy = _LosingProxy(self.server.port, lose_seq=0)
        try:
            agent = self.agent("http://127.0.0.1:%d" % proxy.port)
            with agent.run("chat/s0", lane="x", lease_ms=4000) as run:
                run.append("once")
                self.agent(self.url).steer("chat/s0", run.id, text="heard")
                wait_for(lambda: run.controls_seen, 10, "the steer")
        finally:
            proxy.close()
        self.assertEqual(proxy.lost, [("0", 200)])
        evs = self.events("chat/s0")
        start = [e for e in evs if e["type"] == "run.start"]
        self.assertEqual(len(start), 1)
        self.assertEqual((run.offset, run.epoch, run.lease_ms, run.lane), (start[0]["offset"], 1, 4000, "x"))
        self.assertEqual(self.text_of(evs, run.id), "once")

    def test_a_write_given_up_after_landing_does_not_swallow_the_next_one(self):
        # seq 3 lands but its answer is lost, then every retry gets 503 until the client gives
        # up. The run.end that follows must be stored, not taken as a duplicate of seq 3.
        proxy = _LosingProxy(self.server.port, lose_seq=3, blackout=True)
        try:
            agent = self.agent("http://127.0.0.1:%d" % proxy.port, retry_for=1.0)
            run = agent.start_run("chat/u")
            for i in range(3):
                run.append("u%d " % i)
                try:
                    run.flush()
                except DsxError:
                    pass
            self.assertIsNotNone(run.error)
            self.assertIn("no server answered", str(run.error))
            proxy.blackout.clear()
            self.assertEqual(run.end("error", error=str(run.error)), "error")
        finally:
            proxy.close()
        self.assertEqual(proxy.lost, [("3", 200)])
        evs = self.events("chat/u")
        self.assertEqual(self.text_of(evs, run.id), "u0 u1 u2 ")
        end = self.run_end("chat/u", run.id)
        self.assertEqual(end["data"]["reason"], "error")
        self.assertIn("no server answered", end["data"]["error"])


class ExampleTest(Base):
    EXAMPLE = os.path.join(CLIENT_DIR, "examples", "openai_stream_agent.py")

    def mock(self, tokens, interval_ms):
        p = Proc([DSX, "audit", "mock-llm", "--tokens", str(tokens), "--interval-ms", str(interval_ms)],
                 os.path.join(self.tmp, "mock.log"))
        self.procs.append(p)
        return "http://127.0.0.1:%d" % p.port

    def example(self, mock_url, session, prompt):
        env = dict(os.environ, OPENAI_BASE_URL=mock_url + "/v1", OPENAI_MODEL="dsx-mock", DSX_SERVER=self.url)
        env.pop("DSX_TOKEN", None)
        return subprocess.Popen([sys.executable, self.EXAMPLE, session, prompt], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def mock_log(self, mock_url):
        with urllib.request.urlopen(mock_url + "/log", timeout=10) as r:
            return [json.loads(l) for l in r.read().decode().splitlines() if l.strip()]

    def test_reply_streams_into_the_session(self):
        mock = self.mock(12, 5)
        p = self.example(mock, "chat/x", "count to twelve")
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        evs = self.events("chat/x")
        self.assertEqual(evs[0]["type"], "user.message")
        self.assertEqual(evs[0]["data"]["text"], "count to twelve")
        run_id = [e for e in evs if e["type"] == "run.start"][0]["run"]
        self.assertEqual(self.text_of(evs, run_id), "".join("tok-%04d " % i for i in range(1, 13)))
        self.assertEqual(self.run_end("chat/x", run_id)["data"]["reason"], "done")
        self.assertIn("ended done", err)

    def test_cancel_stops_the_upstream_call(self):
        mock = self.mock(400, 30)  # 12 s if nobody stops it
        p = self.example(mock, "chat/y", "go on forever")
        try:
            def some_text():
                try:
                    evs = self.events("chat/y")
                except DsxError as e:
                    if e.status == 404:  # the example has not created the session yet
                        return None
                    raise
                starts = [e for e in evs if e["type"] == "run.start"]
                if starts and len(self.text_of(evs, starts[0]["run"])) >= 3 * len("tok-0001 "):
                    return starts[0]["run"]
                return None
            run_id = wait_for(some_text, 30, "the reply to start streaming")
            ans = self.agent(self.url).cancel("chat/y", run_id, "stop")
            self.assertEqual(ans["outcome"]["outcome"], "pending")
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
            p.communicate()
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("ended cancelled", err)
        mine = self.run_events("chat/y", run_id)
        self.assertEqual(mine[-1]["data"]["reason"], "cancelled")
        acks = [e["data"]["outcome"] for e in mine if e["type"] == "control.ack"]
        self.assertEqual(acks, ["applied"])
        # The mock saw its client go away: a 'cancel' entry, well before the 400 tokens.
        log = wait_for(lambda: [e for e in self.mock_log(mock) if e["event"] == "cancel"] or None, 20,
                       "the mock to log the cancel")
        self.assertEqual(len(log), 1)
        self.assertLess(log[0]["sent"], 400)
        self.assertFalse([e for e in self.mock_log(mock) if e["event"] == "done"])
        # Everything stored is a prefix of what the mock sent, and nothing follows the ack.
        text = self.text_of(mine, run_id)
        self.assertTrue("".join("tok-%04d " % i for i in range(1, 401)).startswith(text))
        types = [e["type"] for e in mine]
        self.assertNotIn("msg.append", types[types.index("control.ack"):])


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.path.exists(sys.argv[1]):
        sys.exit("usage: dsx_agent_test.py DSX [unittest args]")
    DSX = sys.argv[1]
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
