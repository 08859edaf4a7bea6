"""dsx jobs end to end with the real binary and the local backend (issue 13, section 1 and 3):
submit, status and logs from new processes, a job that outlives the dsx that submitted it, a
timeout that kills a whole process tree, cancel, unknown ids, a half-written registry folder, and
the session mirror (`dsx session tail jobs/<id>`, `dsx session cancel jobs/<id>`).

usage: jobs_test.py DSX CASE    (python3 stdlib only; every wait is bounded and generous, since a
real process is involved and the machine may be loaded)"""
import hashlib
import json
import os
import re
import shutil
import signal
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


def dsx(*args, check_rc=None, env=None, timeout=60):
    p = subprocess.run([DSX] + list(args), capture_output=True, text=True, env=env or ENV, timeout=timeout)
    if check_rc is not None and p.returncode != check_rc:
        fail("dsx %s: exit %d (want %d)\nstdout: %s\nstderr: %s" %
             (" ".join(args), p.returncode, check_rc, p.stdout, p.stderr))
    return p


def submit(*args, env=None):
    p = dsx("jobs", "submit", "--json", *args, check_rc=0, env=env)
    return json.loads(p.stdout)


def status(job_id):
    return json.loads(dsx("jobs", "status", job_id, "--json", check_rc=0).stdout)


def wait_state(job_id, states, timeout=60):
    deadline = time.time() + timeout
    while True:
        r = status(job_id)
        if r["status"]["state"] in states:
            return r
        if time.time() > deadline:
            fail("job %s still %s after %d s (want %s)" % (job_id, r["status"], timeout, states))
        time.sleep(0.2)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_file(path, timeout=30):
    deadline = time.time() + timeout
    while not (os.path.exists(path) and os.path.getsize(path) > 0):
        if time.time() > deadline:
            fail("no %s after %d s" % (path, timeout))
        time.sleep(0.1)


def pids_in(path, count, timeout=30):
    deadline = time.time() + timeout
    while True:
        try:
            pids = [int(x) for x in open(path).read().split()]
            if len(pids) >= count:
                return pids
        except (FileNotFoundError, ValueError):
            pass
        if time.time() > deadline:
            fail("the job did not write %d pids to %s" % (count, path))
        time.sleep(0.1)


def wait_gone(pids, timeout=30):
    deadline = time.time() + timeout
    while any(alive(p) for p in pids):
        if time.time() > deadline:
            fail("processes still alive: %s" % [p for p in pids if alive(p)])
        time.sleep(0.1)


def jobdir(job_id):
    return os.path.join(ENV["DSX_JOBS_DIR"], job_id)


# A job that starts two background sleepers (the tree) and records their pids and its own.
TREE = "echo $$ > {d}/pids; sleep 300 & echo $! >> {d}/pids; (sleep 301; echo never) & echo $! >> {d}/pids; echo started; wait"


class Server:
    """dsx session serve --memory on a free port (read from its 'listening on' line)."""

    def __init__(self, extra=()):
        self.log = open(os.path.join(TMP, "server.log"), "w+")
        self.proc = subprocess.Popen([DSX, "session", "serve", "--memory", "--listen", "127.0.0.1:0", "--threads", "2"] +
                                     list(extra), stdout=self.log, stderr=self.log, env=ENV)
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


def wait_events(server, job_id, pred, what, timeout=60, token=None):
    deadline = time.time() + timeout
    while True:
        p = dsx("session", "tail", "jobs/" + job_id, "--server", server.url, "--jsonl",
                *(["--token", token] if token else []))
        events = [json.loads(line) for line in p.stdout.splitlines() if line.strip()] if p.returncode == 0 else []
        if pred(events):
            return events
        if time.time() > deadline:
            log = open(os.path.join(jobdir(job_id), "watch.log")).read() if os.path.exists(
                os.path.join(jobdir(job_id), "watch.log")) else ""
            fail("session jobs/%s: no %s after %d s; events: %s\nwatch.log: %s" % (job_id, what, timeout, events, log))
        time.sleep(0.2)


def log_text(events):
    return "".join(e.get("data", {}).get("text", "") for e in events if e.get("type") == "msg.append")


# ---------------------------------------------------------------- cases


def case_submit_status_logs():
    r = submit("--name", "count", "--", "bash", "-c", "for i in 1 2 3; do echo line $i; sleep 0.2; done; echo err >&2")
    check(re.fullmatch(r"j-\d{8}-\d{6}-[0-9a-f]{6}", r["id"]), "job id shape: " + r["id"])
    check(r["request"]["backend"] == "local" and r["request"]["name"] == "count", "record: %s" % r)
    # logs -f in a new process follows to the end and exits 0.
    p = dsx("jobs", "logs", "-f", r["id"], check_rc=0)
    check(p.stdout.splitlines() == ["line 1", "line 2", "line 3", "err"], "logs -f: %r" % p.stdout)
    done = wait_state(r["id"], ["succeeded"])
    check(done["status"]["exit_code"] == 0 and done["finished_ms"] >= done["started_ms"] > 0, "record: %s" % done)
    text = dsx("jobs", "status", r["id"], check_rc=0).stdout
    check("succeeded" in text and r["id"] in text, "status text: " + text)
    lst = json.loads(dsx("jobs", "list", "--json", check_rc=0).stdout)
    check([j["id"] for j in lst["jobs"]] == [r["id"]] and lst["problems"] == [], "list: %s" % lst)
    check(json.loads(dsx("jobs", "list", "--kind", "finetune", "--json", check_rc=0).stdout)["jobs"] == [],
          "--kind filters")
    events = [json.loads(l) for l in open(os.path.join(jobdir(r["id"]), "events.jsonl"))]
    check([e["state"] for e in events if "state" in e][-1] == "succeeded", "events: %s" % events)
    # A failing command is failed with its exit code.
    f = submit("--", "bash", "-c", "exit 7")
    ff = wait_state(f["id"], ["failed"])
    check(ff["status"]["exit_code"] == 7, "exit code: %s" % ff)


def case_survives_submitter():
    # The submitting dsx runs inside a shell in its own process group that is killed with SIGKILL
    # right after: the job must not notice (its supervisor is detached: setsid, reparented).
    marker = os.path.join(TMP, "survivor")
    sh = subprocess.Popen(["bash", "-c", '"$0" jobs submit --json -- bash -c "sleep 1.5; echo alive > %s; echo done"; '
                           'sleep 300' % marker, DSX], stdout=subprocess.PIPE, text=True, env=ENV,
                          start_new_session=True)
    line = sh.stdout.readline()
    job_id = json.loads(line)["id"]
    os.killpg(sh.pid, signal.SIGKILL)
    sh.wait()
    r = status(job_id)  # a new shell
    check(r["status"]["state"] in ("queued", "running"), "after the submitter died: %s" % r["status"])
    done = wait_state(job_id, ["succeeded", "failed", "lost", "cancelled"])
    check(done["status"]["state"] == "succeeded", "job outcome: %s" % done["status"])
    check(open(marker).read().strip() == "alive", "the job did not finish its work")
    out = dsx("jobs", "logs", job_id, check_rc=0).stdout
    check(out.strip() == "done", "logs: %r" % out)


def case_timeout_kills_tree():
    d = os.path.join(TMP, "tree")
    os.mkdir(d)
    r = submit("--timeout", "2", "--", "bash", "-c", TREE.format(d=d))
    pids = pids_in(os.path.join(d, "pids"), 3)
    check(all(alive(p) for p in pids), "the tree did not start")
    done = wait_state(r["id"], ["timeout", "succeeded", "failed", "cancelled", "lost"], timeout=60)
    check(done["status"]["state"] == "timeout", "state: %s" % done["status"])
    wait_gone(pids)
    check("never" not in dsx("jobs", "logs", r["id"], check_rc=0).stdout, "a member outlived the timeout")


def case_cancel():
    d = os.path.join(TMP, "tree")
    os.mkdir(d)
    r = submit("--", "bash", "-c", TREE.format(d=d))
    pids = pids_in(os.path.join(d, "pids"), 3)
    p = dsx("jobs", "cancel", r["id"], "--wait", "60", "--json", check_rc=0)
    c = json.loads(p.stdout)
    check(c["status"]["state"] == "cancelled", "cancel: %s" % c["status"])
    wait_gone(pids)
    events = [json.loads(l) for l in open(os.path.join(jobdir(r["id"]), "events.jsonl"))]
    check(any(e.get("event") == "cancel_requested" for e in events), "events: %s" % events)
    # Again: the job already ended; reported, exit 0, nothing else happens.
    p = dsx("jobs", "cancel", r["id"], check_rc=0)
    check("cancelled" in p.stdout, "second cancel: " + p.stdout)


def case_unknown_id():
    unknown = "j-20200101-000000-abcdef"
    for args in (["status", unknown], ["logs", unknown], ["cancel", unknown], ["logs", "-f", unknown]):
        p = dsx("jobs", *args, check_rc=3)
        check(unknown in p.stderr and "dsx jobs list" in p.stderr, "message: " + p.stderr)
    for bad in ("../../etc", "j-1", "nope"):
        p = dsx("jobs", "status", bad, check_rc=2)
        check(p.stderr.startswith("dsx: "), "message: " + p.stderr)
    check(not os.path.exists(os.path.join(TMP, "etc")), "an id escaped the registry")


def case_half_written():
    ok = submit("--", "true")
    wait_state(ok["id"], ["succeeded"])
    root = ENV["DSX_JOBS_DIR"]
    # What a dsx killed inside Create leaves: a .tmp- folder (young: another dsx may be writing it).
    young = os.path.join(root, ".tmp-j-20261207-000000-aaaaaa")
    os.makedirs(young)
    open(os.path.join(young, "job.json"), "w").write('{"id": "j-2026')
    # And an old one, which is certainly abandoned and gets removed.
    old = os.path.join(root, ".tmp-j-20261207-000000-bbbbbb")
    os.makedirs(old)
    t = time.time() - 7200
    os.utime(old, (t, t))
    # A job folder whose job.json was cut short (a disk that filled, an editor).
    damaged = "j-20261207-000000-cccccc"
    os.makedirs(os.path.join(root, damaged))
    open(os.path.join(root, damaged, "job.json"), "w").write('{"id": "j-2026')
    p = dsx("jobs", "list", "--json", check_rc=0)
    lst = json.loads(p.stdout)
    check([j["id"] for j in lst["jobs"]] == [ok["id"]], "list: %s" % lst)
    probs = "\n".join(lst["problems"])
    check(damaged in probs and "bbbbbb" in probs and "aaaaaa" not in probs, "problems: %s" % probs)
    check(os.path.isdir(young) and not os.path.exists(old), "young .tmp- kept, old removed")
    p = dsx("jobs", "list", check_rc=0)
    check(damaged in p.stderr and ok["id"] in p.stdout, "text list: %s / %s" % (p.stdout, p.stderr))
    p = dsx("jobs", "status", damaged, check_rc=1)
    check("damaged" in p.stderr, "status of a damaged job: " + p.stderr)
    check(open(os.path.join(root, damaged, "job.json")).read() == '{"id": "j-2026', "the damaged file was touched")
    dsx("jobs", "status", ".tmp-j-20261207-000000-aaaaaa", check_rc=2)


def case_dry_run():
    p = dsx("jobs", "submit", "--dry-run", "--timeout", "5", "--", "echo", "hi", check_rc=0)
    check("echo" in p.stdout, "render: " + p.stdout)
    p = dsx("jobs", "submit", "--dry-run", "--json", "--", "echo", "hi", check_rc=0)
    j = json.loads(p.stdout)
    check(j["dry_run"] is True and j["request"]["command"] == ["echo", "hi"], "json: %s" % j)
    check(json.loads(dsx("jobs", "list", "--json", check_rc=0).stdout)["jobs"] == [], "dry run wrote a job")
    dsx("jobs", "submit", "--backend", "nope", "--", "true", check_rc=2)
    dsx("jobs", "submit", "--env", "NOEQUALS", "--", "true", check_rc=2)
    dsx("jobs", "submit", "--secret", "A=b", "--", "true", check_rc=2)
    dsx("jobs", "submit", check_rc=2)
    check(json.loads(dsx("jobs", "list", "--json", check_rc=0).stdout)["jobs"] == [], "bad input wrote a job")


def case_secrets_stay_out():
    env = dict(ENV, JOB_SECRET="s3cr3t-value-123", DSX_TOKEN="t0ken-value-456")
    server = Server()
    try:
        # The job checks it got the value by its digest: the command line itself is stored.
        digest = hashlib.sha256(b"s3cr3t-value-123").hexdigest()
        r = submit("--server", server.url, "--secret", "JOB_SECRET", "--env", "PLAIN=shown", "--",
                   "bash", "-c", 'test "$(printf %%s "$JOB_SECRET" | sha256sum | cut -d" " -f1)" = %s && '
                   'echo secret-ok; echo "$PLAIN"; sleep 2' % digest, env=env)
        # The watcher runs now: its argv must not hold the token.
        deadline = time.time() + 30
        watcher = None
        while watcher is None and time.time() < deadline:
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        cmd = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
                    except OSError:
                        continue
                    if b"_watch" in cmd and r["id"].encode() in cmd:
                        watcher = cmd
            time.sleep(0.1)
        check(watcher is not None, "no watcher process for " + r["id"])
        check(not any(b"t0ken" in a for a in watcher), "token in the watcher's argv: %s" % watcher)
        wait_state(r["id"], ["succeeded"])
        out = dsx("jobs", "logs", r["id"], check_rc=0).stdout
        check(out.splitlines() == ["secret-ok", "shown"], "the job did not get its secret: %r" % out)
        for root, _, files in os.walk(jobdir(r["id"])):
            for f in files:
                if f == "output.log":
                    continue  # the job's own output (it printed no secret)
                data = open(os.path.join(root, f), "rb").read()
                check(b"s3cr3t" not in data and b"t0ken" not in data, "a secret in " + f)
        for args in (["status", r["id"], "--json"], ["list", "--json"]):
            p = dsx("jobs", *args, check_rc=0)
            check("s3cr3t" not in p.stdout and "t0ken" not in p.stdout, "a secret in dsx jobs " + args[0])
        # A secret that is not set is a usage error before anything is written.
        dsx("jobs", "submit", "--secret", "NOT_SET_ANYWHERE", "--", "true", check_rc=2)
    finally:
        server.stop()


def case_failed_start():
    p = dsx("jobs", "submit", "--json", "--", "/nonexistent/program")
    check(p.returncode == 3, "submitting a program that does not exist: exit %d (want 3)" % p.returncode)
    check("nonexistent" in p.stderr, "message: " + p.stderr)
    lst = json.loads(dsx("jobs", "list", "--json", check_rc=0).stdout)
    check(len(lst["jobs"]) == 1 and lst["jobs"][0]["status"]["state"] == "failed", "record: %s" % lst)


def case_session_tail():
    server = Server()
    try:
        r = submit("--server", server.url, "--name", "mirrored", "--",
                   "bash", "-c", "for i in 1 2 3; do echo step $i; sleep 0.3; done")
        check(r["session"] == "jobs/" + r["id"] and r["server"] == server.url, "record: %s" % r)
        events = wait_events(server, r["id"], lambda ev: any(e["type"] == "run.end" for e in ev), "run.end")
        types = [e["type"] for e in events]
        check(types[0] == "run.start", "first event: %s" % types)
        check(events[0]["data"]["job"]["id"] == r["id"], "run.start data: %s" % events[0])
        text = log_text(events)
        for i in (1, 2, 3):
            check("step %d\n" % i in text, "log line %d missing: %r" % (i, text))
        check(text.index("step 3") < text.index("[dsx] succeeded"), "final state before the last line: %r" % text)
        end = [e for e in events if e["type"] == "run.end"][0]
        check(end["data"]["reason"] == "done" and end["data"]["state"] == "succeeded", "run.end: %s" % end)
        check(status(r["id"])["status"]["state"] == "succeeded", "registry state")
    finally:
        server.stop()


def case_session_cancel():
    server = Server()
    try:
        d = os.path.join(TMP, "tree")
        os.mkdir(d)
        r = submit("--server", server.url, "--", "bash", "-c", TREE.format(d=d))
        pids = pids_in(os.path.join(d, "pids"), 3)
        wait_events(server, r["id"], lambda ev: "started" in log_text(ev), "the job's first line")
        p = dsx("session", "cancel", "jobs/" + r["id"], "--server", server.url, "--wait", "30", "--json", check_rc=0)
        res = json.loads(p.stdout)["results"]
        check(len(res) == 1 and res[0]["outcome"] == "applied", "cancel answer: %s" % res)
        wait_gone(pids)
        done = wait_state(r["id"], ["cancelled", "succeeded", "failed", "timeout", "lost"])
        check(done["status"]["state"] == "cancelled", "state: %s" % done["status"])
        events = wait_events(server, r["id"], lambda ev: any(e["type"] == "run.end" for e in ev), "run.end")
        end = [e for e in events if e["type"] == "run.end"][0]
        check(end["data"]["reason"] == "cancelled", "run.end: %s" % end)
        # A cancel after the end is not applied again.
        p = dsx("session", "cancel", "jobs/" + r["id"], "--server", server.url, "--wait", "5", "--json")
        check("applied" not in p.stdout, "a second cancel was applied: " + p.stdout)
    finally:
        server.stop()


def case_logs_interrupt():
    # Ctrl-C on `logs -f` stops following (exit 130) and leaves the job running.
    r = submit("--", "bash", "-c", "echo first; sleep 300")
    p = subprocess.Popen([DSX, "jobs", "logs", "-f", r["id"]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=ENV)
    check(p.stdout.readline() == "first\n", "no first line")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    check(p.returncode == 130, "logs -f after SIGINT: exit %d (%s)" % (p.returncode, err))
    check(status(r["id"])["status"]["state"] == "running", "the job stopped with the follower")
    dsx("jobs", "cancel", r["id"], check_rc=0)


def case_session_cli_cancel():
    # `dsx jobs cancel` (not the session) on a mirrored job: the watcher sees it and ends the run
    # cancelled, after the job's output.
    server = Server()
    try:
        r = submit("--server", server.url, "--", "bash", "-c", "echo begin; sleep 300")
        wait_events(server, r["id"], lambda ev: "begin" in log_text(ev), "the job's first line")
        c = json.loads(dsx("jobs", "cancel", r["id"], "--json", check_rc=0).stdout)
        check(c["status"]["state"] == "cancelled", "cancel: %s" % c["status"])
        events = wait_events(server, r["id"], lambda ev: any(e["type"] == "run.end" for e in ev), "run.end")
        end = [e for e in events if e["type"] == "run.end"][0]
        check(end["data"]["reason"] == "cancelled" and end["data"]["state"] == "cancelled", "run.end: %s" % end)
        text = log_text(events)
        check(text.index("begin") < text.index("[dsx] cancelled"), "order: %r" % text)
    finally:
        server.stop()


def case_session_auth():
    # A server that requires tokens: the job's token reaches the watcher (by environment), a
    # reader follows the run with its own token, and a cancel needs the right to cancel.
    key = os.path.join(TMP, "key")
    open(key, "w").write("k" * 40 + "\n")
    server = Server(["--auth-key-file", key])

    def tok(sub, rights):
        p = dsx("session", "token", "--auth-key-file", key, "--sub", sub, "--rights", rights, "--session", "jobs/*",
                "--ttl", "1h", check_rc=0)
        return p.stdout.strip().splitlines()[-1]

    try:
        agent, viewer, ops = tok("jobs-agent", "run,read,append"), tok("viewer", "read"), tok("ops", "read,cancel_any")
        r = submit("--server", server.url, "--", "bash", "-c", "echo hello; sleep 300",
                   env=dict(ENV, DSX_TOKEN=agent))
        events = wait_events(server, r["id"], lambda ev: "hello" in log_text(ev), "the job's first line",
                             token=viewer)
        check(events[0]["type"] == "run.start" and events[0]["from"]["sub"] == "jobs-agent", "run.start: %s" % events[0])
        p = dsx("session", "cancel", "jobs/" + r["id"], "--server", server.url, "--token", viewer, "--wait", "10")
        check(p.returncode == 4, "a reader's cancel: exit %d %s" % (p.returncode, p.stderr))
        check(status(r["id"])["status"]["state"] == "running", "a refused cancel stopped the job")
        p = dsx("session", "cancel", "jobs/" + r["id"], "--server", server.url, "--token", ops, "--wait", "30", "--json",
                check_rc=0)
        check(json.loads(p.stdout)["results"][0]["outcome"] == "applied", "cancel: " + p.stdout)
        check(wait_state(r["id"], ["cancelled", "failed", "succeeded", "lost"])["status"]["state"] == "cancelled",
              "state after the cancel")
        for root, _, files in os.walk(jobdir(r["id"])):
            for f in files:
                check(agent.encode() not in open(os.path.join(root, f), "rb").read(), "the token is in " + f)
    finally:
        server.stop()


def main():
    global DSX, TMP, ENV
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    DSX = os.path.abspath(sys.argv[1])
    case = globals().get("case_" + sys.argv[2])
    if case is None:
        fail("no case " + sys.argv[2])
    TMP = tempfile.mkdtemp(prefix="dsx-jobs-e2e-")
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
        # Stop what a failed case may have left running: every supervisor of this registry.
        root = ENV["DSX_JOBS_DIR"]
        if os.path.isdir(root):
            for job in os.listdir(root):
                if job.startswith("j-"):
                    dsx("jobs", "cancel", job, "--wait", "10")
        shutil.rmtree(TMP, ignore_errors=True)
    print("ok " + sys.argv[2])


if __name__ == "__main__":
    main()
