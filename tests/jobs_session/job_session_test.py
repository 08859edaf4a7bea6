"""JobSession (lib/jobs/session) against a real `dsx session serve` on loopback: a job's log
and states followed through the session, Stop through `dsx session cancel` acknowledged only as
the (simulated) backend answers, a cancel after the job ended rejected, and a server killed and
restarted mid-flood without a line lost or repeated. Drives tests/jobs_session/
job_session_driver.cpp. Usage: job_session_test.py DSX DRIVER TEST (python3 stdlib only)."""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "live"))
from harness import Server, all_events, request, texts, wait_for  # noqa: E402

DSX, DRIVER = sys.argv[1], sys.argv[2]
JOB = "j-20261207-013000-3fa9c1"
SESSION = "jobs/" + JOB


def dsx(*args, timeout=60):
    return subprocess.run([DSX] + list(args), capture_output=True, text=True, timeout=timeout)


class Driver:
    """The driver process; its stdout lines are read on a thread (CANCEL lines come unasked)."""

    def __init__(self, server, *extra):
        self.p = subprocess.Popen([DRIVER, "--server", server.url, "--job", JOB] + list(extra),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines, self.cv = [], threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        opened = self.wait(lambda l: l.startswith(("OPEN", "ERR")), 20, "the driver's OPEN")
        assert opened.startswith("OPEN"), opened
        self.run, self.msg = opened.split()[1:3]

    def _read(self):
        for line in self.p.stdout:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def wait(self, pred, timeout, what, start=0):
        deadline = time.time() + timeout
        with self.cv:
            while True:
                for i in range(start, len(self.lines)):
                    if pred(self.lines[i]):
                        return self.lines[i]
                left = deadline - time.time()
                if left <= 0 or (self.p.poll() is not None and not self.cv.wait(0.2)):
                    raise AssertionError("timed out waiting for %s; driver said %r, stderr %r"
                                         % (what, self.lines, self.p.stderr.read() if self.p.poll() is not None else ""))
                self.cv.wait(min(left, 0.5))

    def do(self, cmd, timeout=60):
        with self.cv:
            start = len(self.lines)
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return self.wait(lambda l: l == "OK" or l.startswith("ERR"), timeout, "an answer to " + cmd, start)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def of_run(events, run, type_):
    return [e for e in events if e.get("run") == run and e["type"] == type_]


def test_follow(s):
    d = Driver(s)
    try:
        assert d.do("state queued partition debug") == "OK"
        assert d.do("state running node n1") == "OK"
        assert d.do("flood 5000 step") == "OK"  # a busy job: thousands of lines at once
        assert d.do("log done training") == "OK"
        # `dsx session tail` follows it: the lines arrive within the flush period, before the end.
        wait_for(lambda: "done training" in texts(all_events(s.url, SESSION)).get(d.msg, ""), 20, "the last line")
        assert d.do("end succeeded 0") == "OK"
        evs = all_events(s.url, SESSION)
        start = of_run(evs, d.run, "run.start")[0]
        assert start["data"]["job"] == {"id": JOB, "backend": "local", "name": "driver-" + JOB, "kind": "generic",
                                        "backend_id": "12345"}, start
        assert start["data"]["command"] == "python3 train.py", start
        want = ("[dsx] queued: partition debug\n[dsx] running: node n1\n"
                + "".join("step %d\n" % i for i in range(5000)) + "done training\n[dsx] succeeded (exit 0)\n")
        assert texts(evs)[d.msg] == want, "log text differs"
        frags = len(of_run(evs, d.run, "msg.append"))
        # Reads may conflate consecutive fragments (docs/protocol/sessions.md), so only the upper
        # bound says anything here; the unit tests assert the batching itself.
        assert frags <= 200, "5000 lines should be coalesced, got %d fragments" % frags
        end = of_run(evs, d.run, "run.end")[0]
        assert end["data"]["reason"] == "done" and end["data"]["state"] == "succeeded", end
        assert end["data"]["exit_code"] == 0, end
        p = dsx("session", "tail", SESSION, "--server", s.url, "--text")
        assert p.returncode == 0, p.stderr
        assert "step 4999\ndone training\n[dsx] succeeded (exit 0)" in p.stdout, p.stdout[-500:]
        assert "ended: done" in p.stdout, p.stdout[-300:]
        print("follow: 5000 lines in %d fragments, in order, once; run.start carries the job; run.end done" % frags)
    finally:
        d.close()


def test_cancel_applied(s):
    d = Driver(s, "--cancel", "ok")
    try:
        assert d.do("state running") == "OK"
        assert d.do("log epoch 1") == "OK"
        assert d.do("flush") == "OK"
        p = dsx("session", "cancel", SESSION, "--server", s.url, "--reason", "user pressed stop", "--json")
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
        r = json.loads(p.stdout)
        assert r["results"][0]["outcome"] == "applied", r
        d.wait(lambda l: l == "CANCEL user pressed stop", 10, "the cancel reaching the backend")
        # The job prints while it stops: cut by the server, not an error.
        assert d.do("log Terminated") == "OK"
        assert d.do("flush") == "OK"
        assert d.do("end cancelled") == "OK"
        evs = all_events(s.url, SESSION)
        assert "Terminated" not in texts(evs)[d.msg], texts(evs)
        end = of_run(evs, d.run, "run.end")[0]
        assert end["data"]["reason"] == "cancelled" and end["data"]["state"] == "cancelled", end
        print("cancel_applied: dsx session cancel -> backend asked -> ack applied -> run.end cancelled")
    finally:
        d.close()


def test_cancel_refused(s):
    d = Driver(s, "--cancel", "refuse")
    try:
        assert d.do("state running") == "OK"
        p = dsx("session", "cancel", SESSION, "--server", s.url, "--json")
        r = json.loads(p.stdout)
        assert p.returncode == 4, (p.returncode, p.stdout, p.stderr)
        assert r["results"][0]["outcome"] == "rejected", r
        assert "backend refused the cancel (test)" in r["results"][0]["reason"], r
        assert d.do("log still going") == "OK"
        assert d.do("end succeeded 0") == "OK"
        assert "still going\n" in texts(all_events(s.url, SESSION))[d.msg]
        print("cancel_refused: the backend's refusal is the ack's reason; the job's output continues")
    finally:
        d.close()


def test_cancel_after_end(s):
    d = Driver(s, "--cancel", "ok")
    try:
        assert d.do("state succeeded") == "OK"
        p = dsx("session", "cancel", SESSION, "--server", s.url, "--json")
        r = json.loads(p.stdout)
        assert p.returncode == 4 and r["results"][0]["outcome"] == "rejected", (p.returncode, p.stdout)
        assert r["results"][0]["reason"] == "job already succeeded", r
        assert not any(l.startswith("CANCEL") for l in d.lines), d.lines
        assert d.do("end succeeded 0") == "OK"
        print("cancel_after_end: rejected 'job already succeeded' without asking the backend")
    finally:
        d.close()


def test_server_restart(s):
    d = Driver(s, "--retry-for-ms", "60000")
    try:
        assert d.do("state running") == "OK"
        s.kill9()
        restarter = threading.Timer(1.0, s.start)  # the flood below meets the outage and rides it out
        restarter.start()
        t0 = time.time()
        assert d.do("flood 3000 line", timeout=90) == "OK"
        assert d.do("flush", timeout=90) == "OK"
        waited = time.time() - t0
        restarter.join()
        assert waited > 0.5, "the flush did not meet the outage (%.2f s)" % waited
        assert d.do("end succeeded 0", timeout=90) == "OK"
        evs = all_events(s.url, SESSION)
        want = "[dsx] running\n" + "".join("line %d\n" % i for i in range(3000)) + "[dsx] succeeded (exit 0)\n"
        assert texts(evs)[d.msg] == want, "log text differs after the restart"
        assert of_run(evs, d.run, "run.end")[0]["data"]["reason"] == "done"
        print("server_restart: kill -9 mid-flood, flush rode out %.1f s of outage: every line exactly once, "
              "run ended done" % waited)
    finally:
        d.close()


def test_lease(s):
    """Heartbeats keep a 1 s lease alive for several seconds and report a state the server takes."""
    d = Driver(s, "--lease-ms", "1000")
    try:
        assert d.do("state running") == "OK"

        def agent_state():
            st, body = request(s.url + "/v1/session/" + SESSION + "/presence")
            assert st == 200, (st, body)
            states = [m.get("state") for m in body["members"] if m.get("run") == d.run]
            return states[0] if states and states[0] in ("streaming", "lost") else None

        assert wait_for(agent_state, 10, "a heartbeat's state in presence") == "streaming"
        time.sleep(3.5)  # a real server's lease: wall time is the point (3 leases)
        assert d.do("log still alive") == "OK"
        assert d.do("end succeeded 0") == "OK"
        evs = all_events(s.url, SESSION)
        ends = of_run(evs, d.run, "run.end")
        assert len(ends) == 1 and ends[0]["data"]["reason"] == "done", ends
        assert "still alive\n" in texts(evs)[d.msg]
        print("lease: 1 s lease renewed for 3.5 s, presence 'streaming', run ended done")
    finally:
        d.close()


TESTS = {n[5:]: f for n, f in globals().items() if n.startswith("test_")}

if __name__ == "__main__":
    server = Server(DSX).start()
    try:
        TESTS[sys.argv[3]](server)
    finally:
        server.stop()
