"""dsx jobs with --backend slurm end to end: the real dsx binary against the real single-node
Slurm that run_e2e.sh started (SLURM_CONF in the environment), mirrored into a `dsx session serve
--memory` this test starts on a free loopback port (issue 13, section 3: "submit a small CPU job
that prints progress, follow its logs into a session, cancel another mid-run through the session,
check the states").

usage: run_e2e.sh /usr/bin/python3 slurm_cli_test.py DSX CASE   (python3 stdlib only; every wait
is bounded and generous: real daemons on a possibly loaded 2-core machine)"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

DSX = None
TMP = None
ENV = None


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def dsx(*args, check_rc=None, timeout=90):
    p = subprocess.run([DSX] + list(args), capture_output=True, text=True, env=ENV, timeout=timeout)
    if check_rc is not None and p.returncode != check_rc:
        fail("dsx %s: exit %d (want %d)\nstdout: %s\nstderr: %s" %
             (" ".join(args), p.returncode, check_rc, p.stdout, p.stderr))
    return p


def submit(*args):
    return json.loads(dsx("jobs", "submit", "--backend", "slurm", "--json", *args, check_rc=0).stdout)


def status(job_id):
    return json.loads(dsx("jobs", "status", job_id, "--json", check_rc=0).stdout)


def wait_state(job_id, states, timeout=120):
    deadline = time.time() + timeout
    while True:
        r = status(job_id)
        if r["status"]["state"] in states:
            return r
        if time.time() > deadline:
            fail("job %s still %s after %d s (want %s)" % (job_id, r["status"], timeout, states))
        time.sleep(0.3)


def scontrol_state(backend_id):
    p = subprocess.run(["scontrol", "show", "job", backend_id.split(";")[0]], capture_output=True, text=True,
                       env=ENV, timeout=30)
    m = re.search(r"JobState=(\S+)", p.stdout)
    return m.group(1) if m else "?(%s)" % p.stderr.strip()


def jobdir(job_id):
    return os.path.join(ENV["DSX_JOBS_DIR"], job_id)


class Server:
    """dsx session serve --memory on a free port (read from its 'listening on' line)."""

    def __init__(self):
        self.log = open(os.path.join(TMP, "server.log"), "w+")
        self.proc = subprocess.Popen([DSX, "session", "serve", "--memory", "--listen", "127.0.0.1:0", "--threads", "2"],
                                     stdout=self.log, stderr=self.log, env=ENV)
        deadline = time.time() + 30
        while True:
            self.log.seek(0)
            m = re.search(r"listening on (http://\S+)", self.log.read())
            if m:
                self.url = m.group(1)
                return
            if self.proc.poll() is not None or time.time() > deadline:
                self.log.seek(0)
                fail("the session server did not start: " + self.log.read())
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def events_of(server, job_id):
    p = dsx("session", "tail", "jobs/" + job_id, "--server", server.url, "--jsonl")
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()] if p.returncode == 0 else []


def wait_events(server, job_id, pred, what, timeout=120):
    deadline = time.time() + timeout
    while True:
        events = events_of(server, job_id)
        if pred(events):
            return events
        if time.time() > deadline:
            path = os.path.join(jobdir(job_id), "watch.log")
            log = open(path).read() if os.path.exists(path) else ""
            fail("session jobs/%s: no %s after %d s; events: %s\nwatch.log: %s" % (job_id, what, timeout, events, log))
        time.sleep(0.3)


def log_text(events):
    return "".join(e.get("data", {}).get("text", "") for e in events if e.get("type") == "msg.append")


def has_end(events):
    return any(e["type"] == "run.end" for e in events)


# ---------------------------------------------------------------- cases

# Two seconds a step: the session must show "step 1" while the job still runs (8 s of margin for a
# loaded machine), which is what "followed live" means.
PROGRESS = "for i in 1 2 3 4 5; do echo step $i; sleep 2; done"


def case_session_follow():
    """A progress job through the CLI: its lines reach the session while it runs, then run.end."""
    server = Server()
    try:
        r = submit("--server", server.url, "--name", "progress", "--cpus", "1", "--timeout", "600", "--",
                   "bash", "-c", PROGRESS)
        check(r["request"]["backend"] == "slurm", "record: %s" % r)
        check(re.fullmatch(r"\d+", r["backend_id"]), "backend id: %s" % r["backend_id"])
        check(r["session"] == "jobs/" + r["id"], "record: %s" % r)
        # Followed live: "step 1" is in the session before the job has ended.
        early = wait_events(server, r["id"], lambda ev: "step 1\n" in log_text(ev), "the first progress line", 90)
        check(not has_end(early) and "step 5" not in log_text(early),
              "the first line reached the session only with the end: %s" % early)
        events = wait_events(server, r["id"], has_end, "run.end")
        text = log_text(events)
        for i in range(1, 6):
            check("step %d\n" % i in text, "line %d missing from the session: %r" % (i, text))
        check(text.index("step 1") < text.index("step 5"), "order: %r" % text)
        end = [e for e in events if e["type"] == "run.end"][0]
        check(end["data"]["state"] == "succeeded" and end["data"]["reason"] == "done", "run.end: %s" % end)
        st = wait_state(r["id"], ["succeeded", "failed", "cancelled", "timeout", "lost"])
        check(st["status"]["state"] == "succeeded", "status: %s" % st["status"])
        check(scontrol_state(r["backend_id"]) == "COMPLETED", "slurm says %s" % scontrol_state(r["backend_id"]))
        # The registry's logs come from the same output file, from a new process.
        p = dsx("jobs", "logs", r["id"], check_rc=0)
        check(p.stdout == "".join("step %d\n" % i for i in range(1, 6)), "dsx jobs logs: %r" % p.stdout)
        sbatch = open(os.path.join(jobdir(r["id"]), "job.sbatch")).read()
        check("#SBATCH --comment=dsx-job=%s\n" % r["id"] in sbatch, "job.sbatch: %s" % sbatch)
        print("session_follow: Slurm job %s, lines in the session while it ran, run.end succeeded, COMPLETED"
              % r["backend_id"])
    finally:
        server.stop()


def case_session_cancel():
    """Stop through the session: dsx session cancel -> scancel -> Slurm CANCELLED -> run.end."""
    server = Server()
    try:
        r = submit("--server", server.url, "--name", "sleeper", "--",
                   "bash", "-c", "echo started; for i in $(seq 1 300); do echo tick $i; sleep 1; done")
        wait_events(server, r["id"], lambda ev: "started\n" in log_text(ev), "the job's first line")
        check(scontrol_state(r["backend_id"]) == "RUNNING", "slurm says %s" % scontrol_state(r["backend_id"]))
        p = dsx("session", "cancel", "jobs/" + r["id"], "--server", server.url, "--wait", "60", "--json", check_rc=0)
        res = json.loads(p.stdout)["results"]
        check(len(res) == 1 and res[0]["outcome"] == "applied", "cancel answer: %s" % res)
        done = wait_state(r["id"], ["cancelled", "succeeded", "failed", "timeout", "lost"])
        check(done["status"]["state"] == "cancelled", "state: %s" % done["status"])
        check(scontrol_state(r["backend_id"]) == "CANCELLED", "slurm says %s" % scontrol_state(r["backend_id"]))
        events = wait_events(server, r["id"], has_end, "run.end")
        end = [e for e in events if e["type"] == "run.end"][0]
        check(end["data"]["reason"] == "cancelled", "run.end: %s" % end)
        print("session_cancel: Slurm job %s CANCELLED through dsx session cancel" % r["backend_id"])
    finally:
        server.stop()


def case_cli_states():
    """Without a session: a failing job's exit code, cancel through dsx jobs cancel, a bad partition."""
    r = submit("--", "bash", "-c", "echo about to fail; exit 3")
    st = wait_state(r["id"], ["succeeded", "failed", "cancelled", "timeout", "lost"])
    check(st["status"]["state"] == "failed" and st["status"].get("exit_code") == 3, "status: %s" % st["status"])
    check(scontrol_state(r["backend_id"]) == "FAILED", "slurm says %s" % scontrol_state(r["backend_id"]))

    p = dsx("jobs", "submit", "--backend", "slurm", "--partition", "no-such-partition", "--", "true")
    check(p.returncode == 2, "bad partition: exit %d, stderr %s" % (p.returncode, p.stderr))
    check("Invalid partition" in p.stderr, "bad partition message: %s" % p.stderr)

    p = dsx("jobs", "submit", "--backend", "slurm", "--dry-run", "--gpus", "2", "--gpu-type", "a100",
            "--mem-gb", "16", "--timeout", "90", "--", "python3", "train.py", check_rc=0)
    for line in ("#SBATCH --gres=gpu:a100:2", "#SBATCH --mem=16G", "#SBATCH --time=0-00:02:00",
                 "python3 train.py"):
        check(line in p.stdout, "dry run lacks %r: %s" % (line, p.stdout))
    print("cli_states: exit 3 -> failed (FAILED), bad partition -> exit 2, dry run shows the script")


def main():
    global DSX, TMP, ENV
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    DSX = os.path.abspath(sys.argv[1])
    case = globals().get("case_" + sys.argv[2])
    if case is None:
        fail("no case " + sys.argv[2])
    if not os.environ.get("SLURM_CONF"):
        fail("SLURM_CONF is not set: run through tests/slurm/run_e2e.sh")
    TMP = tempfile.mkdtemp(prefix="dsx-slurm-cli-")
    ENV = dict(os.environ)
    for k in ("DSX_SERVER", "DSX_TOKEN", "HF_TOKEN"):
        ENV.pop(k, None)
    ENV["DSX_JOBS_DIR"] = os.path.join(TMP, "jobs")
    ENV["DSX_CONFIG_DIR"] = os.path.join(TMP, "config")
    try:
        case()
    except subprocess.TimeoutExpired as e:
        fail("timed out: %s" % e)
    finally:
        # A failed case may leave jobs running, and their watchers with them: cancel every job of
        # this registry while the cluster is still up (run_e2e.sh stops it after us).
        root = ENV["DSX_JOBS_DIR"]
        if os.path.isdir(root):
            for job in os.listdir(root):
                if job.startswith("j-"):
                    dsx("jobs", "cancel", job, "--wait", "20")
        shutil.rmtree(TMP, ignore_errors=True)
    print("ok " + sys.argv[2])


if __name__ == "__main__":
    main()
