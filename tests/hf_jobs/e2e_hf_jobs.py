#!/usr/bin/python3
"""End to end: the HF Jobs backend's real HTTP client against fake_hf_jobs.py.

Two layers, each with HF_ENDPOINT=http://127.0.0.1:<port>:
  case_*      hf_jobs_driver (HfBackend behind a small CLI, no registry): the client itself;
  case_cli_*  the real `dsx jobs submit --backend hf|status|logs -f|cancel` with a registry in
              a temp folder (DSX_JOBS_DIR): what a user runs.
Each checks output, exit code (core/status.hpp: 2 usage, 3 not found, 4 refused,
5 unavailable) and the exact requests the server recorded.
The token must never appear in any output. Waits are bounded and generous (a loaded 2-core
machine); nothing asserts a duration from above except the suite's own time limits.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

TOKEN = "hf_e2eSecretToken7731"


class Suite:
    def __init__(self, driver, server_script, dsx=None):
        self.driver = driver
        self.dsx = dsx
        self.server_script = server_script
        self.tmp = tempfile.mkdtemp(prefix="dsx-hf-e2e-")
        self.record = os.path.join(self.tmp, "requests.json")
        self.outputs = []  # every stdout/stderr, checked for the token at the end
        port_file = os.path.join(self.tmp, "port")
        self.server = subprocess.Popen([sys.executable, server_script, "--port-file", port_file,
                                        "--record", self.record, "--keepalive", "0.3"])
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("fake_hf_jobs.py did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            self.endpoint = "http://127.0.0.1:%s" % f.read().strip()
        self.home = os.path.join(self.tmp, "home")  # no token file unless a case writes one
        os.makedirs(self.home)

    def close(self):
        self.server.terminate()
        try:
            self.server.wait(10)
        except subprocess.TimeoutExpired:
            self.server.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def env(self, token=TOKEN, **extra):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home, "HF_ENDPOINT": self.endpoint,
               "DSX_JOBS_DIR": os.path.join(self.tmp, "registry"), "DSX_CONFIG_DIR": os.path.join(self.tmp, "config")}
        if token is not None:
            env["HF_TOKEN"] = token
        env.update(extra)
        return env

    def run(self, args, env=None, timeout=90, binary=None):
        p = subprocess.run([binary or self.driver] + args, env=env or self.env(), capture_output=True, text=True,
                           timeout=timeout)
        self.outputs.append(p.stdout + p.stderr)
        return p

    def dsx_run(self, args, env=None, timeout=90):
        return self.run(["jobs"] + args, env=env, timeout=timeout, binary=self.dsx)

    def cli_submit(self, *extra, token=TOKEN, env_extra=None, cmd=("python3", "-c", "print(1)")):
        """dsx jobs submit --backend hf --json ...: the job's record (or the failed process)."""
        # Options straight before "--" on purpose: a repeatable one (--env) there once made the
        # parser take the command's own flags ("-c") as dsx's (fixed in 7b8e3df).
        p = self.dsx_run(["submit", "--backend", "hf", "--json"] + list(extra) + ["--"] + list(cmd),
                         env=self.env(token, **(env_extra or {})))
        return p, (json.loads(p.stdout) if p.returncode == 0 else None)

    def cli_wait_state(self, job_id, want, limit=60):
        seen = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            p = self.dsx_run(["status", job_id, "--json"])
            check(p.returncode == 0, "dsx jobs status failed: %s" % p.stderr)
            word = json.loads(p.stdout)["status"]["state"]
            if not seen or seen[-1] != word:
                seen.append(word)
            if word == want:
                return seen
            time.sleep(0.2)
        raise AssertionError("job %s never reached %s (saw %s)" % (job_id, want, seen))

    def requests(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return json.load(f)

    def state(self, name):
        return os.path.join(self.tmp, name + ".json")

    def submit(self, name, *extra, token=TOKEN, env_extra=None, cmd=("python3", "-c", "print(1)")):
        args = ["submit", "--state", self.state(name)] + list(extra) + ["--"] + list(cmd)
        return self.run(args, env=self.env(token, **(env_extra or {})))

    def wait_state(self, name, want, limit=60):
        seen = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            p = self.run(["status", "--state", self.state(name)])
            check(p.returncode == 0, "status failed: %s" % p.stderr)
            word = p.stdout.split()[0]
            if not seen or seen[-1] != word:
                seen.append(word)
            if word == want:
                return seen
            time.sleep(0.2)
        raise AssertionError("job %s never reached %s (saw %s)" % (name, want, seen))


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def since(suite, n):
    return suite.requests()[n:]


# --- cases -----------------------------------------------------------------------------------

def case_hardware(s):
    p = s.run(["hardware"], env=s.env(token=None))
    check(p.returncode == 0, p.stderr)
    rows = {line.split()[0]: line.split()[1:] for line in p.stdout.splitlines()}
    check(rows["a10g-large"] == ["1.50", "1", "24"], rows.get("a10g-large"))
    check(rows["a10g-largex2"] == ["3.00", "2", "48"], rows.get("a10g-largex2"))
    check(rows["cpu-basic"][0] == "0.01", rows.get("cpu-basic"))


def case_dry_run_needs_no_token_and_sends_nothing(s):
    n = len(s.requests())
    p = s.submit("dry", "--dry-run", "--namespace", "my-org", "--secret", "WANDB_API_KEY", token=None)
    check(p.returncode == 0, p.stderr)
    check(len(s.requests()) == n, "a dry run sent a request")
    head, body = p.stdout.split("\n\n", 1)
    check(head == "POST %s/api/jobs/my-org\nAuthorization: Bearer <HF_TOKEN>\nContent-Type: application/json"
          % s.endpoint, head)
    body = json.loads(body)
    check(body["secrets"] == {"WANDB_API_KEY": "<from $WANDB_API_KEY>"}, body)
    check(body["timeoutSeconds"] == 1800 and body["flavor"] == "cpu-basic", body)


def case_submit_exact_request_and_inline_files(s):
    script = os.path.join(s.tmp, "train.py")
    with open(script, "w") as f:
        f.write("import sys\nprint('trained with', sys.argv[1:])\n")
    n = len(s.requests())
    p = s.submit("sub", "--flavor", "t4-small", "--timeout", "3600", "--env", "MODE=fast",
                 "--secret", "HF_TOKEN", "--secret", "WANDB_API_KEY", "--file", "train.py=" + script,
                 env_extra={"WANDB_API_KEY": "wandb-value-1"},
                 cmd=("python3", "{jobdir}/train.py", "--out={jobdir}/out"))
    check(p.returncode == 0, p.stderr)
    reqs = since(s, n)
    check([(r["method"], r["path"]) for r in reqs] == [("GET", "/api/whoami-v2"), ("POST", "/api/jobs/alice")],
          [(r["method"], r["path"]) for r in reqs])
    create = reqs[1]
    check(create["headers"]["Authorization"] == "Bearer " + TOKEN, "no Bearer token on create")
    check(create["headers"]["Content-Type"] == "application/json", create["headers"])
    body = create["body"]
    with open(s.state("sub")) as f:
        record = json.load(f)
    encoded = base64.b64encode(open(script, "rb").read()).decode()
    want_script = ("set -e; mkdir -p /tmp/dsx-job; printf %s \"$DSX_FILE_0\" | base64 -d > /tmp/dsx-job/train.py; "
                   "unset DSX_FILE_0; exec \"$@\"")
    want = {
        "command": ["sh", "-c", want_script, "dsx-job", "python3", "/tmp/dsx-job/train.py", "--out=/tmp/dsx-job/out"],
        "arguments": [],
        "environment": {"MODE": "fast", "DSX_FILE_0": encoded},
        "flavor": "t4-small",
        "secrets": {"HF_TOKEN": TOKEN, "WANDB_API_KEY": "wandb-value-1"},
        "timeoutSeconds": 3600,
        "labels": {"dsx-job": record["id"]},
        "dockerImage": "ghcr.io/astral-sh/uv:python3.12-bookworm",
    }
    check(body == want, "create body:\n%s\nwant:\n%s" % (json.dumps(body, indent=1), json.dumps(want, indent=1)))
    job_id = p.stdout.split()[1]
    check(p.stdout.strip() == "submitted %s %s/jobs/alice/%s" % (job_id, s.endpoint, job_id), p.stdout)
    check(record["backend_id"] == job_id, record)

    # The wrapper really decodes and runs the file: run the sent command here, in a private
    # folder instead of /tmp/dsx-job (the only change), with the sent environment.
    here = os.path.join(s.tmp, "jobdir")
    cmd = [c.replace("/tmp/dsx-job", here) for c in body["command"]]
    out = subprocess.run(cmd, env=dict(body["environment"], PATH=os.environ.get("PATH", "/usr/bin:/bin")),
                         capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, out.stderr)
    check(out.stdout.strip() == "trained with ['--out=%s/out']" % here, out.stdout)


def case_status_transitions(s):
    # 3 s in each stage: wide enough for a status call every 0.2 s on a loaded machine.
    p = s.submit("st", "--namespace", "alice", "--env", "FAKE_SCHEDULE_S=3", "--env", "FAKE_RUN_S=3")
    check(p.returncode == 0, p.stderr)
    seen = s.wait_state("st", "succeeded")
    check(seen == ["queued", "running", "succeeded"], seen)
    p = s.run(["status", "--state", s.state("st")])
    check(p.stdout.strip() == "succeeded COMPLETED", p.stdout)


def case_failed_job(s):
    p = s.submit("err", "--namespace", "alice", "--env", "FAKE_RUN_S=0.5", "--env", "FAKE_FINAL_STAGE=ERROR")
    check(p.returncode == 0, p.stderr)
    s.wait_state("err", "failed")
    p = s.run(["status", "--state", s.state("err")])
    check(p.stdout.strip() == "failed ERROR Job failed with exit code: 1", p.stdout)


def case_logs_follow_ends_at_completed(s):
    p = s.submit("logs", "--namespace", "alice", "--env", "FAKE_SCHEDULE_S=0.5", "--env", "FAKE_RUN_S=3",
                 "--env", "FAKE_LINES=6")
    check(p.returncode == 0, p.stderr)
    n = len(s.requests())
    # The server never closes the stream and sends a keep-alive every 0.3 s: only the state
    # checks can end this.
    p = s.run(["logs", "-f", "--state", s.state("logs")], env=s.env(DSX_HF_POLL_MS="700"), timeout=120)
    check(p.returncode == 0, p.stderr)
    lines = p.stdout.splitlines()
    check(len(lines) == 8 and lines[0].startswith("===== Job started") and lines[-1] == "done", lines)
    check(lines[1:7] == ["step %d/6" % i for i in range(1, 7)], lines)
    kinds = [r["path"].rsplit("/", 1)[-1] for r in since(s, n)]
    check("logs" in kinds and kinds.count("logs") < len(kinds), "the job state was never checked: %s" % kinds)
    # Without -f, a finished job's log comes back whole, once.
    p = s.run(["logs", "--state", s.state("logs")])
    check(p.returncode == 0 and p.stdout.splitlines()[1:] == lines[1:], p.stdout)


def case_logs_follow_silent_stream_reconnects_without_duplicates(s):
    # The server writes to this job's stream only every 30 s: the client sees silence, checks
    # the state, reconnects, gets the whole log replayed, and must print each line once.
    p = s.submit("quiet", "--namespace", "alice", "--env", "FAKE_SCHEDULE_S=0.2", "--env", "FAKE_RUN_S=4",
                 "--env", "FAKE_LINES=3", "--env", "FAKE_KEEPALIVE_S=30")
    check(p.returncode == 0, p.stderr)
    n = len(s.requests())
    p = s.run(["logs", "-f", "--state", s.state("quiet")], env=s.env(DSX_HF_IDLE_MS="1000"), timeout=120)
    check(p.returncode == 0, p.stderr)
    lines = p.stdout.splitlines()
    check(lines[1:] == ["step 1/3", "step 2/3", "step 3/3", "done"], lines)
    streams = [r for r in since(s, n) if r["path"].endswith("/logs")]
    check(len(streams) >= 2, "expected reconnects, saw %d log requests" % len(streams))


def case_cancel(s):
    p = s.submit("cancel", "--namespace", "alice", "--env", "FAKE_SCHEDULE_S=0.2", "--env", "FAKE_RUN_S=120")
    check(p.returncode == 0, p.stderr)
    s.wait_state("cancel", "running")
    n = len(s.requests())
    p = s.run(["cancel", "--state", s.state("cancel")])
    check(p.returncode == 0, p.stderr)
    req = since(s, n)[0]
    job_id = json.load(open(s.state("cancel")))["backend_id"]
    check((req["method"], req["path"]) == ("POST", "/api/jobs/alice/%s/cancel" % job_id), req)
    check(req["headers"]["Authorization"] == "Bearer " + TOKEN, "no Bearer token on cancel")
    p = s.run(["status", "--state", s.state("cancel")])
    check(p.stdout.strip() == "cancelled CANCELED", p.stdout)
    # Following a cancelled job returns at once with what it wrote.
    p = s.run(["logs", "-f", "--state", s.state("cancel")], timeout=60)
    check(p.returncode == 0 and p.stdout.startswith("===== Job started"), p.stdout + p.stderr)
    # Cancelling again is fine.
    check(s.run(["cancel", "--state", s.state("cancel")]).returncode == 0, "second cancel failed")


def case_revoked_token_401(s):
    revoked = "hf_revoked_Zq81xx"
    for args in (["status", "--state", s.state("st")], ["logs", "-f", "--state", s.state("st")]):
        p = s.run(args, env=s.env(revoked))
        check(p.returncode == 4, "exit %d: %s" % (p.returncode, p.stderr))
        check("Hugging Face refused the token (401): check HF_TOKEN" in p.stderr, p.stderr)
        check(revoked not in p.stdout + p.stderr, "the token was printed")
    p = s.submit("revoked", token=revoked)
    check(p.returncode == 4 and revoked not in p.stdout + p.stderr, p.stderr)


def case_no_credit_402(s):
    p = s.submit("broke", "--namespace", "alice", token="hf_nocredit_1")
    check(p.returncode == 4, "exit %d: %s" % (p.returncode, p.stderr))
    check("no credit on alice: Jobs need a positive balance (402)" in p.stderr, p.stderr)
    check(not os.path.exists(s.state("broke")), "a refused job left a record")


def case_rate_limited_429_retried(s):
    n = len(s.requests())
    t0 = time.monotonic()
    p = s.submit("busy", "--namespace", "alice", token="hf_busy_1")
    check(p.returncode == 0, p.stderr)
    check(time.monotonic() - t0 >= 1.9, "Retry-After: 1 was not honoured")
    posts = [r for r in since(s, n) if r["method"] == "POST"]
    check(len(posts) == 3 and posts[0]["body"] == posts[2]["body"], "%d creates" % len(posts))
    # Throttled for good: kUnavailable after the bounded attempts.
    p = s.run(["status", "--state", s.state("busy")], env=s.env("hf_throttled_1"))
    check(p.returncode == 5 and "429" in p.stderr, "exit %d: %s" % (p.returncode, p.stderr))


def case_unknown_job_3(s):
    with open(s.state("busy")) as f:
        record = json.load(f)
    record["backend_id"] = "000000000000000000000000"
    record["url"] = "%s/jobs/alice/000000000000000000000000" % s.endpoint
    with open(s.state("ghost"), "w") as f:
        json.dump(record, f)
    for verb in ("status", "cancel", "logs"):
        p = s.run([verb, "--state", s.state("ghost")])
        check(p.returncode == 3, "%s: exit %d: %s" % (verb, p.returncode, p.stderr))
        check("has no job 000000000000000000000000 in alice" in p.stderr, p.stderr)


def case_unreachable_5(s):
    p = s.run(["status", "--state", s.state("st")], env=s.env(HF_ENDPOINT="http://127.0.0.1:9"))
    check(p.returncode == 5, "exit %d: %s" % (p.returncode, p.stderr))
    check("cannot reach Hugging Face at http://127.0.0.1:9" in p.stderr, p.stderr)


def case_token_file_and_missing_token(s):
    token_file = os.path.join(s.home, ".cache", "huggingface", "token")
    os.makedirs(os.path.dirname(token_file))
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    n = len(s.requests())
    p = s.run(["status", "--state", s.state("st")], env=s.env(token=None))
    check(p.returncode == 0, p.stderr)
    check(since(s, n)[0]["headers"]["Authorization"] == "Bearer " + TOKEN, "token file not used")
    os.remove(token_file)
    p = s.run(["status", "--state", s.state("st")], env=s.env(token=None))
    check(p.returncode == 2, "exit %d" % p.returncode)
    check("no Hugging Face token: set HF_TOKEN or run `hf auth login`" in p.stderr, p.stderr)


def case_rejected_spec_400(s):
    # h100 left the Jobs flavors in 2026: the server's own reason reaches the user, exit 1.
    p = s.submit("h100", "--namespace", "alice", "--flavor", "h100")
    check(p.returncode == 1, "exit %d: %s" % (p.returncode, p.stderr))
    check("Hugging Face answered 400: unknown flavor 'h100'" in p.stderr, p.stderr)


def case_missing_secret_2(s):
    n = len(s.requests())
    p = s.submit("nosecret", "--namespace", "alice", "--secret", "WANDB_API_KEY")
    check(p.returncode == 2 and "WANDB_API_KEY" in p.stderr, "exit %d: %s" % (p.returncode, p.stderr))
    check(len(s.requests()) == n, "a request was sent")


CASES = [case_hardware, case_dry_run_needs_no_token_and_sends_nothing, case_submit_exact_request_and_inline_files,
         case_status_transitions, case_failed_job, case_logs_follow_ends_at_completed,
         case_logs_follow_silent_stream_reconnects_without_duplicates, case_cancel,
         case_revoked_token_401, case_no_credit_402, case_rate_limited_429_retried, case_unknown_job_3,
         case_unreachable_5, case_token_file_and_missing_token, case_rejected_spec_400, case_missing_secret_2]


# --- the dsx CLI over the same server ----------------------------------------------------------

def case_cli_submit_status_transitions(s):
    n = len(s.requests())
    p, rec = s.cli_submit("--flavor", "a10g-large", "--secret", "HF_TOKEN", "--name", "e2e", "--env",
                          "FAKE_SCHEDULE_S=3", "--env", "FAKE_RUN_S=3", "--timeout", "600")
    check(p.returncode == 0, p.stderr)
    reqs = since(s, n)
    creates = [r for r in reqs if r["method"] == "POST"]
    check(len(creates) == 1 and creates[0]["path"] == "/api/jobs/alice", [r["path"] for r in reqs])
    check(creates[0]["headers"]["Authorization"] == "Bearer " + TOKEN, "no Bearer token")
    want = {"command": ["python3", "-c", "print(1)"], "arguments": [],
            "environment": {"FAKE_SCHEDULE_S": "3", "FAKE_RUN_S": "3"}, "flavor": "a10g-large",
            "secrets": {"HF_TOKEN": TOKEN}, "timeoutSeconds": 600, "labels": {"dsx-job": rec["id"]},
            "dockerImage": "ghcr.io/astral-sh/uv:python3.12-bookworm"}
    check(creates[0]["body"] == want, json.dumps(creates[0]["body"], indent=1))
    check(rec["url"] == "%s/jobs/alice/%s" % (s.endpoint, rec["backend_id"]), rec)
    check(rec["status"]["state"] == "queued", rec["status"])
    seen = s.cli_wait_state(rec["id"], "succeeded")
    seen = ["queued"] + seen[1:] if seen[0] == "queued" else ["queued"] + seen  # submit said queued
    check(seen == ["queued", "running", "succeeded"], seen)
    s.cli_job = rec["id"]


def case_cli_logs_follow_ends_at_completed(s):
    p, rec = s.cli_submit("--env", "FAKE_RUN_S=3", "--env", "FAKE_LINES=4")
    check(p.returncode == 0, p.stderr)
    p = s.dsx_run(["logs", "-f", rec["id"]], timeout=120)
    check(p.returncode == 0, p.stderr)
    lines = p.stdout.splitlines()
    check(lines[1:] == ["step 1/4", "step 2/4", "step 3/4", "step 4/4", "done"], lines)
    p = s.dsx_run(["status", rec["id"], "--json"])
    check(json.loads(p.stdout)["status"]["state"] == "succeeded", p.stdout)


def case_cli_cancel(s):
    p, rec = s.cli_submit("--env", "FAKE_SCHEDULE_S=0.2", "--env", "FAKE_RUN_S=120")
    check(p.returncode == 0, p.stderr)
    s.cli_wait_state(rec["id"], "running")
    n = len(s.requests())
    p = s.dsx_run(["cancel", rec["id"], "--wait", "30"])
    check(p.returncode == 0, p.stderr)
    posts = [r["path"] for r in since(s, n) if r["method"] == "POST"]
    check(posts == ["/api/jobs/alice/%s/cancel" % rec["backend_id"]], posts)
    p = s.dsx_run(["status", rec["id"], "--json"])
    check(json.loads(p.stdout)["status"]["state"] == "cancelled", p.stdout)
    s.cli_cancelled = rec


def case_cli_revoked_token_401(s):
    p, rec = s.cli_submit("--env", "FAKE_RUN_S=120")
    check(p.returncode == 0, p.stderr)
    revoked = "hf_revoked_cli_55aa"
    for args in (["status", rec["id"]], ["logs", "-f", rec["id"]], ["cancel", rec["id"]]):
        p = s.dsx_run(args, env=s.env(revoked))
        check(p.returncode == 4, "%s: exit %d: %s" % (args[0], p.returncode, p.stderr))
        check("Hugging Face refused the token (401): check HF_TOKEN" in p.stderr, p.stderr)
        check(revoked not in p.stdout + p.stderr, "the token was printed")
    check(s.dsx_run(["cancel", rec["id"], "--wait", "0"]).returncode == 0, "cleanup cancel failed")


def case_cli_no_credit_402(s):
    p, _ = s.cli_submit(token="hf_nocredit_cli")
    check(p.returncode == 4, "exit %d: %s" % (p.returncode, p.stderr))
    check("no credit on alice: Jobs need a positive balance (402)" in p.stderr, p.stderr)


def case_cli_rate_limited_429_retried(s):
    n = len(s.requests())
    p, rec = s.cli_submit(token="hf_busy_cli")
    check(p.returncode == 0, p.stderr)
    posts = [r for r in since(s, n) if r["method"] == "POST"]
    check(len(posts) == 3, "%d creates" % len(posts))


def case_cli_unknown_job_3(s):
    p = s.dsx_run(["status", "j-20261207-000000-abcdef"])
    check(p.returncode == 3, "exit %d: %s" % (p.returncode, p.stderr))


def case_cli_unreachable_5(s):
    p = s.dsx_run(["submit", "--backend", "hf", "--", "true"], env=s.env(HF_ENDPOINT="http://127.0.0.1:9"))
    check(p.returncode == 5, "exit %d: %s" % (p.returncode, p.stderr))
    check("cannot reach Hugging Face at http://127.0.0.1:9" in p.stderr, p.stderr)


CLI_CASES = [case_cli_submit_status_transitions, case_cli_logs_follow_ends_at_completed, case_cli_cancel,
             case_cli_revoked_token_401, case_cli_no_credit_402, case_cli_rate_limited_429_retried,
             case_cli_unknown_job_3, case_cli_unreachable_5]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--dsx", help="the dsx binary: also run the case_cli_* cases")
    ap.add_argument("-k", help="run only cases whose name contains this")
    args = ap.parse_args()
    if shutil.which("sh") is None or shutil.which("base64") is None:
        print("SKIP: sh and base64 (coreutils) are needed")
        return 77
    suite = Suite(args.driver, args.server, args.dsx)
    cases = CASES + (CLI_CASES if args.dsx else [])
    failed = 0
    try:
        for case in cases:
            if args.k and args.k not in case.__name__:
                continue
            t0 = time.monotonic()
            try:
                case(suite)
                print("ok   %-62s %.1fs" % (case.__name__, time.monotonic() - t0), flush=True)
            except Exception:
                failed += 1
                print("FAIL %s" % case.__name__, flush=True)
                traceback.print_exc()
        leaks = [o for o in suite.outputs if TOKEN in o]
        if leaks:
            failed += 1
            print("FAIL the token appeared in %d outputs" % len(leaks))
        # Nor in any file the client or dsx wrote (driver state files, the job registry).
        for root, _, files in os.walk(suite.tmp):
            for name in files:
                path = os.path.join(root, name)
                if path == suite.record or path.startswith(suite.home):
                    continue  # the server's own log of what it received; the token file
                with open(path, "rb") as f:
                    if TOKEN.encode() in f.read():
                        failed += 1
                        print("FAIL the token was written to %s" % os.path.relpath(path, suite.tmp))
    finally:
        suite.close()
    print("%s: %d failed" % ("FAILED" if failed else "PASSED", failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
