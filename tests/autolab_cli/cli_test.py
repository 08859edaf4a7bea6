#!/usr/bin/python3
"""The `dsx autolab` command line beyond validate, end to end with the real binary.

Usage: cli_test.py DSX CASE

A tiny plan (tests/autolab_cli/exp.py prints {"loss": |x - 2| + 0.01 * seed}: milliseconds per
experiment) is run as local jobs in a temporary $DSX_AUTOLAB_DIR / $DSX_JOBS_DIR, then:
  run_json   run --json: the outcome object, exit 0, the default run folder; --quiet prints nothing
             on stderr
  run_again  a second run of a finished plan starts no job and exits 0
  status     status by run folder, plan file and plan name; --json fields; the best is x=2 with its
             interval; without plan.json the counts still show
  control    stop -> status says stop -> run exits 6; pause -> run exits 7; resume clears it -> 0
  errors     unknown run (3), a folder without a ledger (3), a bad plan (2), a missing plan (3),
             bad flags (2), a run folder made by another plan (2, ledger unchanged)
  live       a driver holding experiments running (gated on a file): status shows them and the
             driver alive, a second run exits 9, stop from another shell makes the driver cancel
             and requeue them and exit 6; resume and run again finish everything
  report     report rewrites report.md, results.json, results.tsv (ids first), plots; identical
             twice; falls back to the plan file when the run folder has no plan.json
  researcher_off  a plan with a researcher and no API key: the run says why and runs the plan's own
             hypotheses (exit 0)
  skill_plan the plan skeleton and train.py of skills/dsx/references/autolab.md validate and run, and
             the status --json example there has the keys the real one has
  session    run --server on a local `dsx session serve --memory`: progress lands in the session
             autolab/<run> (run.start, autolab.run, autolab.experiment), and a pause steered there
             reaches the live driver (exit 7)
  man_page   every subcommand and flag of `dsx autolab ... --help` is in man/dsx-autolab.1, which
             lists every exit code and the crontab line
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MAN = os.path.join(ROOT, "man", "dsx-autolab.1")
EXP = os.path.join(HERE, "exp.py")
WAIT_S = 90  # bound on any wait for a condition (a loaded 2-core machine is slow, never this slow)
EXIT_DONE, EXIT_STOPPED, EXIT_PAUSED, EXIT_LEASE = 0, 6, 7, 9
STATES = ["proposed", "queued", "running", "finished", "failed", "pruned", "cancelled"]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Lab:
    def __init__(self, dsx):
        self.dsx = dsx
        self.tmp = tempfile.mkdtemp(prefix="dsx-autolab-cli-")
        env = dict(os.environ)
        for k in ("DSX_SERVER", "DSX_TOKEN", "HF_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL",
                  "ANTHROPIC_BASE_URL"):
            env.pop(k, None)
        env["DSX_JOBS_DIR"] = os.path.join(self.tmp, "jobs")
        env["DSX_AUTOLAB_DIR"] = os.path.join(self.tmp, "autolab")
        env["DSX_CONFIG_DIR"] = os.path.join(self.tmp, "config")
        self.env = env
        self.bg = []

    def plan(self, name="tiny", xs=(1, 2, 3), repeats=2, max_parallel=2, gate=""):
        folder = os.path.join(self.tmp, "plans")
        os.makedirs(folder, exist_ok=True)
        shutil.copy(EXP, os.path.join(folder, "exp.py"))
        gate_arg = (" --gate " + gate) if gate else ""
        text = (
            "name: %s\n"
            "objective: {metric: loss, direction: minimize, repeats: %d}\n"
            "budget: {max_experiments: %d, max_parallel: %d, experiment_timeout: 120}\n"
            "experiment:\n"
            "  command: /usr/bin/python3 {workdir}/exp.py --x {x} --seed {seed}%s\n"
            "  files: [exp.py]\n"
            "sweep:\n"
            "  params:\n"
            "    x: [%s]\n" % (name, repeats, len(xs) * repeats, max_parallel, gate_arg,
                               ", ".join(str(x) for x in xs)))
        path = os.path.join(folder, name + ".yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, args, want=None, timeout=150):
        p = subprocess.run([self.dsx] + args, env=self.env, capture_output=True, text=True, timeout=timeout)
        if want is not None:
            check(p.returncode == want, "dsx %s: exit %d, want %d\nstdout: %s\nstderr: %s"
                  % (" ".join(args), p.returncode, want, p.stdout[-2000:], p.stderr[-2000:]))
        return p

    def json(self, args, want=0):
        p = self.run(args + ["--json"], want=want)
        try:
            return json.loads(p.stdout)
        except ValueError:
            raise Failure("dsx %s --json printed no JSON object: %r" % (" ".join(args), p.stdout[:500]))

    def start(self, args):
        p = subprocess.Popen([self.dsx] + args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        self.bg.append(p)
        return p

    def wait_for(self, what, fn):
        deadline = time.monotonic() + WAIT_S
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.05)
        raise Failure("waited %ds for %s" % (WAIT_S, what))

    def autolab_jobs(self):
        out = self.json(["jobs", "list", "--kind", "autolab"])
        return out["jobs"]

    def run_dir(self, name="tiny"):
        return os.path.join(self.env["DSX_AUTOLAB_DIR"], name)

    def close(self):
        for p in self.bg:
            if p.poll() is None:
                p.kill()
                p.wait()
        if not os.environ.get("DSX_TEST_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- cases

def case_run_json(lab):
    plan = lab.plan()
    p = lab.run(["autolab", "run", plan, "--json", "--poll-ms", "50"], want=EXIT_DONE)
    out = json.loads(p.stdout)
    check(out["end"] == "done" and out["exit_code"] == 0, "outcome: %s" % out)
    check(out["finished"] == 6 and out["failed"] == 0 and out["pending"] == 0, "counts: %s" % out)
    check(out["run_dir"] == lab.run_dir(), "default run folder: %s" % out["run_dir"])
    check(re.fullmatch(r"e-[0-9a-f]{12}", out["best_id"] or ""), "best_id: %s" % out)
    check(set(out) >= {"reason", "pruned", "cancelled"}, "keys: %s" % sorted(out))
    check("dsx autolab:" in p.stderr, "progress lines on stderr without --quiet: %r" % p.stderr[:300])
    for f in ("ledger.sqlite", "plan.json", "report.md", "results.json", "results.tsv"):
        check(os.path.exists(os.path.join(lab.run_dir(), f)), "run folder lacks " + f)
    # --quiet: only the outcome line on stdout, nothing on stderr.
    q = lab.run(["autolab", "run", plan, "--quiet", "--poll-ms", "50", "--run-dir", os.path.join(lab.tmp, "q")],
                want=EXIT_DONE)
    check(q.stderr == "", "--quiet printed on stderr: %r" % q.stderr)
    check(q.stdout.startswith("done: ") and q.stdout.count("\n") == 1, "outcome line: %r" % q.stdout)


def case_run_again(lab):
    plan = lab.plan()
    lab.run(["autolab", "run", plan, "--poll-ms", "50"], want=EXIT_DONE)
    jobs = len(lab.autolab_jobs())
    check(jobs == 6, "6 experiments, %d jobs" % jobs)
    again = json.loads(lab.run(["autolab", "run", plan, "--json", "--poll-ms", "50"], want=EXIT_DONE).stdout)
    check(again["finished"] == 6, "second run: %s" % again)
    check(len(lab.autolab_jobs()) == jobs, "a second run submitted jobs: nothing should run twice")


def case_status(lab):
    plan = lab.plan()
    lab.run(["autolab", "run", plan, "--poll-ms", "50"], want=EXIT_DONE)
    texts = [lab.run(["autolab", "status", arg], want=0).stdout for arg in (lab.run_dir(), plan, "tiny")]
    check(texts[0] == texts[1] == texts[2], "status by folder, plan file and plan name differ:\n%s" % texts)
    t = texts[0]
    for want in ("plan     tiny (", "control  run", "driver   none", "budget   6 of 6 experiments",
                 "finished 6", "best     e-"):
        check(want in t, "status text lacks %r:\n%s" % (want, t))
    s = lab.json(["autolab", "status", plan])
    v = lab.json(["autolab", "validate", plan])
    check(s["plan"] == {"name": "tiny", "hash": v["plan_hash"]}, "plan: %s" % s["plan"])
    check(s["control"] == "run" and s["lease"] is None, "control/lease: %s" % s)
    check(sorted(s["counts"]) == sorted(STATES), "counts keys: %s" % s["counts"])
    check(s["counts"]["finished"] == 6 and s["total"] == 6, "counts: %s" % s["counts"])
    check(s["budget"]["used"] == 6 and s["budget"]["max_experiments"] == 6, "budget: %s" % s["budget"])
    check(s["running"] == [], "running: %s" % s["running"])
    b = s["best"]
    check(b is not None and b["params"] == {"x": 2} and b["n"] == 2, "best: %s" % b)
    check(abs(b["mean"] - 0.005) < 1e-9, "best mean: %s" % b)
    check(b["ci"][0] < 0.0 < 0.01 < b["ci"][1], "best interval around 0, 0.01: %s" % b["ci"])
    check(s["promoted"] == b["id"], "promoted %s, best %s" % (s["promoted"], b["id"]))
    check(s["objective"] == {"metric": "loss", "direction": "minimize"}, "objective: %s" % s["objective"])
    # Without plan.json (by run folder): the ledger alone still gives the counts.
    os.rename(os.path.join(lab.run_dir(), "plan.json"), os.path.join(lab.tmp, "plan.json.away"))
    p = lab.run(["autolab", "status", lab.run_dir()], want=0)
    check("no ranking" in p.stderr and "finished 6" in p.stdout, "without plan.json:\n%s%s" % (p.stdout, p.stderr))
    s2 = lab.json(["autolab", "status", lab.run_dir()])
    check(s2["best"] is None and s2["counts"]["finished"] == 6, "without plan.json --json: %s" % s2)


def case_control(lab):
    plan = lab.plan()
    lab.run(["autolab", "run", plan, "--poll-ms", "50"], want=EXIT_DONE)
    st = lab.json(["autolab", "stop", "tiny"])
    check(st["control"] == "stop" and st["previous"] == "run", "stop --json: %s" % st)
    check(st["driver"] is None and st["running"] == 0, "stop --json driver: %s" % st)
    check("code 6" in st["effect"], "stop effect: %s" % st["effect"])
    check(lab.json(["autolab", "status", plan])["control"] == "stop", "status after stop")
    check("control  stop" in lab.run(["autolab", "status", plan]).stdout, "status text after stop")
    r = json.loads(lab.run(["autolab", "run", plan, "--json"], want=EXIT_STOPPED).stdout)
    check(r["end"] == "stopped" and r["exit_code"] == 6, "run while stopped: %s" % r)
    p = lab.run(["autolab", "pause", lab.run_dir()], want=0)
    check(p.stdout.startswith("pause recorded for "), "pause text: %r" % p.stdout)
    check(lab.json(["autolab", "status", plan])["control"] == "pause", "status after pause")
    lab.run(["autolab", "run", plan], want=EXIT_PAUSED)
    r = lab.json(["autolab", "resume", plan])
    check(r["control"] == "run" and r["previous"] == "pause", "resume --json: %s" % r)
    check(lab.json(["autolab", "status", plan])["control"] == "run", "status after resume")
    lab.run(["autolab", "run", plan], want=EXIT_DONE)


def case_errors(lab):
    plan = lab.plan()
    for verb in ("status", "stop", "pause", "resume", "report"):
        p = lab.run(["autolab", verb, "no-such-run"], want=3)
        check("no run 'no-such-run'" in p.stderr, "%s: %r" % (verb, p.stderr))
    empty = os.path.join(lab.tmp, "empty")
    os.makedirs(empty)
    lab.run(["autolab", "status", empty], want=3)
    check(os.listdir(empty) == [], "status created files in a folder that is not a run")
    bad = os.path.join(lab.tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("objective: 3\n")
    p = lab.run(["autolab", "run", bad], want=2)
    check("bad.yaml:1:12:" in p.stderr, "bad plan errors with line:col: %r" % p.stderr)
    lab.run(["autolab", "status", bad], want=2)
    lab.run(["autolab", "run", os.path.join(lab.tmp, "missing.yaml")], want=3)
    # A plan path that never ends (/dev/zero) is refused past the bound, not read until memory runs out.
    for verb in ("validate", "run"):
        p = lab.run(["autolab", verb, "/dev/zero"], want=2, timeout=60)
        check("larger than" in p.stderr, "%s /dev/zero: %r" % (verb, p.stderr))
    lab.run(["autolab", "run", plan, "--max-attempts", "0"], want=2)
    lab.run(["autolab", "run", plan, "--poll-ms", "0"], want=2)
    lab.run(["autolab", "run"], want=2)
    lab.run(["autolab", "status"], want=2)
    # A run folder belongs to one plan: another plan in it is refused and the ledger is untouched.
    lab.run(["autolab", "run", plan, "--poll-ms", "50"], want=EXIT_DONE)
    before = lab.json(["autolab", "status", plan])
    other = lab.plan(name="other", xs=(5, 6))
    p = lab.run(["autolab", "run", other, "--run-dir", lab.run_dir()], want=2)
    check("another plan" in p.stderr, "plan mismatch message: %r" % p.stderr)
    check(lab.json(["autolab", "status", lab.run_dir()]) == before, "the refused run changed the ledger")
    # A cost limit on a paid backend needs a price: an unknown flavor is refused before anything runs.
    with open(plan) as f:
        text = f.read()
    priced = os.path.join(os.path.dirname(plan), "priced.yaml")
    with open(priced, "w") as f:
        f.write(text.replace("name: tiny", "name: priced")
                .replace("experiment_timeout: 120}", "experiment_timeout: 120, max_cost_usd: 5}") +
                "backend: hf\nresources: {flavor: no-such-flavor}\n")
    p = lab.run(["autolab", "run", priced], want=2)
    check("no price for flavor 'no-such-flavor'" in p.stderr, "unpriced flavor: %r" % p.stderr)


def case_live(lab):
    gate = os.path.join(lab.tmp, "gate")
    plan = lab.plan(xs=(1, 3), repeats=2, max_parallel=2, gate=gate)
    driver = lab.start(["autolab", "run", plan, "--poll-ms", "50"])

    def two_running():
        if not os.path.exists(os.path.join(lab.run_dir(), "ledger.sqlite")):
            return None
        try:  # the driver may be creating the run folder right now: ask again
            s = lab.json(["autolab", "status", plan], want=None)
        except Failure:
            return None
        return s if s["counts"]["running"] == 2 and s["lease"] else None

    s = lab.wait_for("two experiments running", two_running)
    check(s["lease"]["alive"] and s["lease"]["pid"] == driver.pid, "lease: %s (driver pid %d)" % (s["lease"], driver.pid))
    check(len(s["running"]) == 2 and all(r["job_id"].startswith("j-") for r in s["running"]), "running: %s" % s)
    t = lab.run(["autolab", "status", plan], want=0).stdout
    check("(running)" in t and t.count("running  e-") == 2 and "job j-" in t, "status text, live:\n%s" % t)
    # Cron overlapping: a second invocation finds the live driver and does nothing.
    r = json.loads(lab.run(["autolab", "run", plan, "--json"], want=EXIT_LEASE).stdout)
    check(r["end"] == "lease_held", "second run: %s" % r)
    st = lab.json(["autolab", "stop", plan])
    check(st["driver"] and st["driver"]["alive"] and st["driver"]["pid"] == driver.pid, "stop --json: %s" % st)
    check(st["running"] == 2 and "cancels" in st["effect"], "stop effect: %s" % st)
    try:
        rc = driver.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        raise Failure("the driver did not exit within %ds of stop" % WAIT_S)
    check(rc == EXIT_STOPPED, "driver exit %d after stop, want 6\n%s" % (rc, driver.stderr.read()[-2000:]))
    s = lab.json(["autolab", "status", plan])
    check(s["control"] == "stop" and s["counts"]["running"] == 0, "after stop: %s" % s)
    check(s["counts"]["finished"] == 0 and s["counts"]["queued"] >= 2, "stopped experiments requeued: %s" % s["counts"])
    check(s["lease"] is None or not s["lease"]["alive"], "lease after exit: %s" % s["lease"])
    lab.run(["autolab", "resume", plan], want=0)
    with open(gate, "w"):
        pass
    r = json.loads(lab.run(["autolab", "run", plan, "--json", "--poll-ms", "50"], want=EXIT_DONE).stdout)
    check(r["finished"] == 4, "after resume: %s" % r)


def case_report(lab):
    plan = lab.plan()
    lab.run(["autolab", "run", plan, "--poll-ms", "50"], want=EXIT_DONE)
    rd = lab.run_dir()
    for f in ("report.md", "results.json", "results.tsv"):
        os.remove(os.path.join(rd, f))
    shutil.rmtree(os.path.join(rd, "plots"), ignore_errors=True)
    p = lab.run(["autolab", "report", plan], want=0)
    printed = p.stdout.split()
    for f in ("report.md", "results.json", "results.tsv"):
        path = os.path.join(rd, f)
        check(path in printed and os.path.exists(path), "report did not write/print %s: %r" % (f, p.stdout))
    out = lab.json(["autolab", "report", rd])
    check(out["run_dir"] == rd and out["plots"], "report --json: %s" % out)
    for path in [out["report_md"], out["results_json"], out["results_tsv"]] + out["plots"]:
        check(os.path.isfile(path), "report --json names a missing file: %s" % path)
    with open(out["results_tsv"]) as f:
        rows = [line.split("\t") for line in f.read().splitlines()]
    ids = [r[0] for r in rows[1:]]
    check(len(ids) == 6 and all(re.fullmatch(r"e-[0-9a-f]{12}", i) for i in ids), "results.tsv ids: %s" % ids)
    with open(out["results_json"], "rb") as f:
        first = f.read()
    lab.run(["autolab", "report", "tiny"], want=0)
    with open(out["results_json"], "rb") as f:
        check(f.read() == first, "report twice: results.json differs")
    # No plan.json in the folder: by folder it cannot rank (3, says why); by plan file it can.
    os.remove(os.path.join(rd, "plan.json"))
    p = lab.run(["autolab", "report", rd], want=3)
    check("plan.json" in p.stderr, "report without plan.json: %r" % p.stderr)
    lab.run(["autolab", "report", plan], want=0)


def case_researcher_off(lab):
    folder = os.path.join(lab.tmp, "plans")
    os.makedirs(folder, exist_ok=True)
    shutil.copy(EXP, os.path.join(folder, "exp.py"))
    plan = os.path.join(folder, "evo.yaml")
    with open(plan, "w") as f:
        f.write("name: evo\n"
                "objective: {metric: loss, direction: minimize, repeats: 2}\n"
                "budget: {max_experiments: 8, experiment_timeout: 120}\n"
                "experiment:\n"
                "  command: /usr/bin/python3 {workdir}/exp.py --x {x} --seed {seed}\n"
                "  files: [exp.py]\n"
                "evolve:\n"
                "  base: {x: 0}\n"
                "  hypotheses:\n"
                "    - {id: closer, rationale: x nearer 2, overrides: {x: 2}}\n"
                "researcher: {provider: openai, model: gpt-4o-mini, goal: lower loss}\n")
    lab.run(["autolab", "validate", plan], want=0)
    p = lab.run(["autolab", "run", plan, "--json", "--poll-ms", "50"], want=EXIT_DONE)
    check("researcher off: " in p.stderr and "OPENAI_API_KEY" in p.stderr, "no reason on stderr: %r" % p.stderr)
    out = json.loads(p.stdout)
    check(out["finished"] == 4, "baseline and one hypothesis, 2 repeats each: %s" % out)
    best = lab.json(["autolab", "status", "evo"])["best"]
    check(best and best["params"] == {"x": 2} and best["hypothesis"] == "closer", "best: %s" % best)


def serve(lab):
    """A memory-store session server on a free port; returns its base URL."""
    log = os.path.join(lab.tmp, "serve.log")
    with open(log, "w") as err:
        p = subprocess.Popen([lab.dsx, "session", "serve", "--memory", "--listen", "127.0.0.1:0"], env=lab.env,
                             stdout=subprocess.DEVNULL, stderr=err)
    lab.bg.append(p)

    def address():
        with open(log) as f:
            m = re.search(r"http://127\.0\.0\.1:\d+", f.read())
        return m.group(0) if m else None
    return lab.wait_for("the session server to listen", address)


def session_events(lab, server, name):
    p = lab.run(["session", "tail", name, "--jsonl", "--server", server], want=0)
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def case_session(lab):
    server = serve(lab)
    gate = os.path.join(lab.tmp, "gate")
    plan = lab.plan(xs=(1, 3), repeats=2, max_parallel=2, gate=gate)
    driver = lab.start(["autolab", "run", plan, "--poll-ms", "50", "--server", server])

    def two_running():
        if not os.path.exists(os.path.join(lab.run_dir(), "ledger.sqlite")):
            return None
        try:
            s = lab.json(["autolab", "status", plan], want=None)
        except Failure:
            return None
        return s if s["counts"]["running"] == 2 else None
    lab.wait_for("two experiments running", two_running)

    def started():
        types = [e.get("type") for e in session_events(lab, server, "autolab/tiny")]
        return types if "run.start" in types and "autolab.experiment" in types else None
    types = lab.wait_for("the run's events in session autolab/tiny", started)
    check("autolab.run" in types, "no autolab.run event: %s" % types)
    # Pause from the session (what the web UI's steer box sends): the driver lets both finish, exits 7.
    lab.run(["session", "steer", "autolab/tiny", "pause", "--server", server], want=None, timeout=60)
    lab.wait_for("the pause to reach the ledger", lambda: lab.json(["autolab", "status", plan])["control"] == "pause")
    with open(gate, "w"):
        pass
    try:
        rc = driver.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        raise Failure("the driver did not exit within %ds of the pause" % WAIT_S)
    check(rc == EXIT_PAUSED, "driver exit %d after a pause from the session, want 7\n%s"
          % (rc, driver.stderr.read()[-2000:]))
    s = lab.json(["autolab", "status", plan])
    check(s["counts"]["finished"] == 2 and s["counts"]["running"] == 0, "paused: running ones finish: %s" % s["counts"])
    # Issue 18: the session gets the protocol's progress and metric events, as kernel gen's, so the
    # web page draws a bar and charts: 2 of the 4 experiments ended, the metric of each, the best.
    def standing():
        evs = session_events(lab, server, "autolab/tiny")
        prog = [e["data"] for e in evs if e.get("type") == "progress"]
        metrics = [e["data"] for e in evs if e.get("type") == "metric"]
        return (prog, metrics) if prog and prog[-1].get("done") == 2 else None
    prog, metrics = lab.wait_for("progress events in session autolab/tiny", standing)
    check(prog[-1].get("total") == 4 and prog[-1].get("unit") == "experiments", "progress event: %s" % prog[-1])
    names = {m.get("name") for m in metrics}
    check(len(names) == 2 and all(isinstance(m.get("value"), (int, float)) for m in metrics),
          "metric events (each experiment's and the best so far): %s" % metrics)
    ends = [e for e in session_events(lab, server, "autolab/tiny") if e.get("type") == "run.end"]
    check(ends, "the session run was not ended")


def case_skill_plan(lab):
    with open(os.path.join(ROOT, "skills", "dsx", "references", "autolab.md")) as f:
        ref = f.read()
    blocks = re.findall(r"```(\w*)\n(.*?)```", ref, re.S)
    train = [b for lang, b in blocks if lang == "python" and "json.dumps" in b]
    plan = [b for lang, b in blocks if lang == "yaml" and "objective:" in b]
    status = [b for lang, b in blocks if lang == "json" and '"counts"' in b]
    check(len(train) == 1 and len(plan) == 1 and len(status) == 1, "the reference's blocks changed shape")
    folder = os.path.join(lab.tmp, "skill")
    os.makedirs(folder)
    with open(os.path.join(folder, "train.py"), "w") as f:
        f.write(train[0])
    path = os.path.join(folder, "lr-sweep.yaml")
    with open(path, "w") as f:
        f.write(plan[0].replace("python3 ", "/usr/bin/python3 ", 1))
    v = lab.json(["autolab", "validate", path])
    check(v["ok"] and v["experiments"] == 6, "skeleton: %s" % v)
    out = json.loads(lab.run(["autolab", "run", path, "--json", "--quiet", "--poll-ms", "50"], want=EXIT_DONE).stdout)
    check(out["finished"] == 6 and out["best_id"], "skeleton run: %s" % out)
    real = lab.json(["autolab", "status", "lr-sweep"])
    check(real["best"]["params"] == {"lr": 0.3}, "the largest step wins in train.py: %s" % real["best"])
    example = json.loads(status[0].replace('"..."', '""').replace('"e-..."', '""').replace('"j-..."', '""')
                         .replace('"c-..."', '""'))
    check(sorted(example) == sorted(real), "status keys: doc %s, real %s" % (sorted(example), sorted(real)))
    for k in ("plan", "counts", "budget", "objective", "best"):
        check(sorted(example[k]) == sorted(real[k]), "status .%s keys: doc %s, real %s"
              % (k, sorted(example[k]), sorted(real[k])))
    check(sorted(example["lease"]) == ["acquired_ms", "alive", "expires_ms", "host", "pid", "renewed_ms"],
          "lease keys in the doc: %s" % sorted(example["lease"]))
    check(sorted(example["running"][0]) == sorted(["id", "job_id", "host", "pid", "started_ms", "attempts",
                                                   "params", "seed"]), "running[] keys in the doc")


def man_text():
    with open(MAN) as f:
        text = f.read()
    return text.replace("\\-", "-").replace("\\e", "\\")


def case_man_page(lab):
    man = man_text()
    check("not implemented" not in man and "not available yet" not in man, "man page still says not implemented")
    top = lab.run(["autolab", "--help"], want=0).stdout
    subs = re.findall(r"^  ([a-z]+)\s", top.split("Subcommands:", 1)[1], re.M)
    check(set(subs) == {"validate", "run", "status", "stop", "pause", "resume", "report"}, "subcommands: %s" % subs)
    synopsis = man.split(".SH DESCRIPTION", 1)[0]
    for sub in subs:
        check(re.search(r"dsx autolab %s\b" % sub, synopsis), "SYNOPSIS lacks dsx autolab %s" % sub)
        helptext = lab.run(["autolab", sub, "--help"], want=0).stdout
        for flag in sorted(set(re.findall(r"(--[a-z][a-z-]+)", helptext.split("Options:", 1)[-1]))):
            if flag == "--help":
                continue
            check(flag in man, "dsx autolab %s --help has %s; the man page does not" % (sub, flag))
    exit_section = man.split(".SH EXIT STATUS", 1)[1].split(".SH", 1)[0]
    for code in (0, 1, 2, 3, 4, 5, 6, 7, 9):
        check(re.search(r"^\.B %d$" % code, exit_section, re.M), "EXIT STATUS lacks %d" % code)
    check("0 * * * * dsx autolab run /path/plan.yaml --quiet >> ~/autolab.log 2>&1" in man, "crontab line")
    for var in ("DSX_AUTOLAB_DIR", "DSX_JOBS_DIR", "DSX_TOKEN", "OPENAI_API_KEY"):
        check(var in man.split(".SH ENVIRONMENT", 1)[-1], "ENVIRONMENT lacks " + var)


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print("usage: cli_test.py DSX {%s}" % "|".join(CASES), file=sys.stderr)
        return 2
    lab = Lab(sys.argv[1])
    try:
        CASES[sys.argv[2]](lab)
    except Failure as e:
        print("FAIL %s: %s\n(temp dir %s)" % (sys.argv[2], e, lab.tmp), file=sys.stderr)
        os.environ["DSX_TEST_KEEP"] = "1"
        return 1
    finally:
        lab.close()
    print("ok %s" % sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
