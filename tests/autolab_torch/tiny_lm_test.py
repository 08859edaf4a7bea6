#!/usr/bin/python3
"""The tiny-lm AutoLab example (configs/autolab/examples/tiny-lm.yaml, tiny-lm/train.py and its
patches) on its own and through `dsx autolab run`.

usage: tiny_lm_test.py CASE [DSX]     (python3 stdlib only; one CTest test per case)

Cases:
  output        train.py with --max-steps prints one {"step", "val_bpb"} line per --eval-every steps
                and a final {"val_bpb", "steps", "train_seconds", "parameters"} line; it really learns
                (below 5 bits per byte after 60 steps, from 8 for a uniform guess)
  determinism   the same seed and step count give identical metrics; another seed does not
  bad_args      bad arguments exit 2 with nothing on stdout; a missing data file and a diverging
                learning rate exit 1 with a one-line reason and no final metric
  patches       every hypothesis patch of the plan applies with `patch -p1` to the folder the driver
                copies, and so does every ordered subset (the evolve loop stacks the winners'
                patches); each patched train.py runs and changes what it should (tied-embeddings:
                256 x width fewer parameters; lr-decay, dropout: other metrics, same parameters)
  plan_command  tiny-lm.yaml's command with evolve.base's values (a 3 s budget) run in a copy of the
                files, as a worker runs it, prints the plan's metric
  validate      (DSX) `dsx autolab validate --json` accepts the plan: 7 configurations x 3 = 21 runs
  run           (DSX) `dsx autolab run` on a cut copy of the plan (4 s budget, 2 seeds, the baseline
                and 3 hypotheses): exit 0; every experiment finished with the value its log's last
                line gives; each hypothesis ran with exactly the patches of the hypotheses kept
                before it plus its own; results.json names the ledger's promoted experiment

Exit 77 (CTest SKIP_RETURN_CODE) only when /usr/bin/python3 cannot import torch (validate needs no
torch) or, for `run`, when this dsx has no `autolab run` yet. python3-torch is optional (scripts/setup
--with torch): these tests carry the CTest label autolab_torch, which scripts/test leaves out unless
asked (scripts/test -L autolab_torch).
"""
import itertools
import json
import math
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "configs", "autolab", "examples")
PLAN = os.path.join(EXAMPLES, "tiny-lm.yaml")
FOLDER = os.path.join(EXAMPLES, "tiny-lm")
TRAIN = os.path.join(FOLDER, "train.py")
PYTHON = "/usr/bin/python3"  # the Debian interpreter that python3-torch installs into
RUN_TIMEOUT_S = 240           # one short run takes a few seconds; generous for a loaded machine
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def train(*args, script=TRAIN):
    proc = subprocess.run([PYTHON, script, *map(str, args)], capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                          env=ENV)
    return proc.returncode, proc.stdout, proc.stderr


def parse_run(stdout, steps, eval_every):
    """The run's JSON lines, checked: intermediate lines at eval_every, ..., then the final line."""
    lines = [json.loads(line) for line in stdout.splitlines()]
    check(lines, "no output")
    *points, final = lines
    check([p.get("step") for p in points] == list(range(eval_every, steps + 1, eval_every)),
          f"intermediate steps {[p.get('step') for p in points]}, want every {eval_every} up to {steps}")
    for p in points:
        check(set(p) == {"step", "val_bpb"} and math.isfinite(p["val_bpb"]) and p["val_bpb"] > 0, f"bad point {p}")
    check(set(final) == {"val_bpb", "steps", "train_seconds", "parameters"}, f"bad final line {final}")
    check(final["steps"] == steps and math.isfinite(final["val_bpb"]) and final["val_bpb"] > 0, f"final {final}")
    return points, final


def short_run(*extra, script=TRAIN, steps=20, eval_every=10):
    rc, out, err = train("--max-steps", steps, "--eval-every", eval_every, "--time-budget", 600, *extra,
                         script=script)
    check(rc == 0, f"{script} {extra}: exit {rc}\n{err}")
    return parse_run(out, steps, eval_every)


def case_output():
    points, final = short_run("--seed", 0, "--lr", 0.01, steps=60, eval_every=20)
    check(final["val_bpb"] < 5.0, f"no learning: val_bpb {final['val_bpb']} after 60 steps (uniform: 8)")
    check(points[-1]["val_bpb"] < points[0]["val_bpb"], f"val_bpb did not fall: {points}")
    # width 64, 2 blocks, context 64: embeddings 256*64 + 64*64, per block 12*64^2 + 13*64, final
    # LayerNorm 2*64, head 64*256 (no bias).
    want = 256 * 64 + 64 * 64 + 2 * (12 * 64 * 64 + 13 * 64) + 2 * 64 + 64 * 256
    check(final["parameters"] == want, f"parameters {final['parameters']}, want {want}")
    print(f"ok: 60 steps -> val_bpb {final['val_bpb']:.3f} ({points[0]['val_bpb']:.3f} at step 20)")


def case_determinism():
    def metrics(seed):
        points, final = short_run("--seed", seed)
        return points, final["val_bpb"]

    a, b, c = metrics(3), metrics(3), metrics(4)
    check(a == b, f"seed 3 twice: {a} != {b}")
    check(a != c, f"seeds 3 and 4 gave the same metrics {a}")
    print(f"ok: seed 3 -> {a[1]} twice, seed 4 -> {c[1]}")


def case_bad_args():
    for args in (["--heads", "3"], ["--lr", "0"], ["--lr", "nan"], ["--clock", "sun"], ["--width", "4"],
                 ["--time-budget", "-1"], ["--bogus"]):
        rc, out, err = train(*args)
        check(rc == 2 and out == "" and "error" in err, f"{args}: exit {rc}, stdout {out!r}, stderr {err!r}")
    rc, out, err = train("--max-steps", 5, "--data", "/nonexistent/text")
    check(rc == 1 and out == "" and "cannot use the data" in err and "Traceback" not in err,
          f"missing data: exit {rc}, stdout {out!r}, stderr {err!r}")
    rc, out, err = train("--max-steps", 30, "--eval-every", 100, "--lr", 1e4, "--seed", 0)
    check(rc == 1 and "diverged" in err and "Traceback" not in err and '"steps"' not in out,
          f"lr 1e4: exit {rc}, stdout {out!r}, stderr {err!r}")
    print("ok: bad arguments exit 2; missing data and divergence exit 1 with a reason")


def plan_text():
    with open(PLAN) as f:
        return f.read()


def plan_hypotheses():
    """[(id, patch path or None, overrides text or None)] from tiny-lm.yaml, in the plan's order (the
    stdlib has no YAML reader; the example's layout is simple and this test pins it)."""
    text = plan_text().split("\nevolve:\n", 1)[1]
    out = []
    for block in re.split(r"\n    - id: ", text)[1:]:
        hid = block.split("\n", 1)[0].strip()
        patch = re.search(r"^      patch: (\S+)$", block, re.M)
        overrides = re.search(r"^      overrides: (.+)$", block, re.M)
        out.append((hid, patch.group(1) if patch else None, overrides.group(1) if overrides else None))
    return out


def copy_folder(dest):
    """What the driver does with `files: [tiny-lm]`: {workdir}/tiny-lm/..."""
    shutil.copytree(FOLDER, os.path.join(dest, "tiny-lm"), ignore=shutil.ignore_patterns("__pycache__"))
    return os.path.join(dest, "tiny-lm", "train.py")


def apply_patch(workdir, patch_path, dry_run=False):
    with open(os.path.join(EXAMPLES, patch_path)) as f:
        diff = f.read()
    args = ["patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch"] + (["--dry-run"] if dry_run else [])
    proc = subprocess.run(args, input=diff, capture_output=True, text=True, cwd=workdir, timeout=60)
    check(proc.returncode == 0, f"{patch_path} does not apply in {workdir}: {proc.stdout}{proc.stderr}")
    check("fuzz" not in proc.stdout.lower(), f"{patch_path} applies only with fuzz: {proc.stdout}")


def case_patches():
    hypotheses = plan_hypotheses()
    check([h[0] for h in hypotheses] == ["higher-lr", "lr-decay", "wider", "deeper", "dropout", "tied-embeddings"],
          f"the plan's hypotheses changed: {hypotheses}: update this test")
    patches = [(hid, path) for hid, path, _ in hypotheses if path]
    check(len(patches) == 3, f"patches {patches}")
    # Every ordered subset: whichever hypotheses win, the next one's patch lands on top of theirs.
    for n in range(1, len(patches) + 1):
        for subset in itertools.combinations(patches, n):
            with tempfile.TemporaryDirectory(prefix="tiny-lm-stack-") as workdir:
                copy_folder(workdir)
                for _, path in subset:
                    apply_patch(workdir, path)
    # Each patch alone: dry run first (what the driver checks), then applied, then the script runs.
    _, base = short_run("--seed", 1)
    for hid, path in patches:
        with tempfile.TemporaryDirectory(prefix="tiny-lm-patch-") as workdir:
            script = copy_folder(workdir)
            apply_patch(workdir, path, dry_run=True)
            with open(script) as f:
                check(f.read() == open(TRAIN).read(), f"{hid}: --dry-run changed train.py")
            apply_patch(workdir, path)
            _, final = short_run("--seed", 1, script=script)
        if hid == "tied-embeddings":
            check(final["parameters"] == base["parameters"] - 256 * 64,
                  f"{hid}: {final['parameters']} parameters, baseline {base['parameters']}")
        else:
            check(final["parameters"] == base["parameters"], f"{hid}: parameters {final['parameters']}")
            check(final["val_bpb"] != base["val_bpb"], f"{hid}: same val_bpb as the baseline: the patch did nothing")
        print(f"ok: {hid}: applies; 20 steps -> val_bpb {final['val_bpb']:.4f} (baseline {base['val_bpb']:.4f})")
    print(f"ok: all {2 ** len(patches) - 1} ordered stacks of {len(patches)} patches apply")


def base_values():
    block = plan_text().split("\nevolve:\n", 1)[1].split("  hypotheses:", 1)[0]
    return dict(re.findall(r"^    (\w+): (\S+)$", block, re.M))


def plan_command_words():
    match = re.search(r"^  command: >-\n((?:    .+\n)+)", plan_text(), re.M)
    check(match, "experiment.command (a >- block) not found")
    return shlex.split(" ".join(line.strip() for line in match.group(1).splitlines()))


def case_plan_command():
    values = base_values()
    check(set(values) == {"time_budget", "clock", "lr", "width", "depth"}, f"evolve.base: {values}")
    values.update(time_budget="3", seed="0")
    with tempfile.TemporaryDirectory(prefix="tiny-lm-workdir-") as workdir:
        copy_folder(workdir)
        words = [re.sub(r"\{(\w+)\}", lambda m: {**values, "workdir": workdir}[m.group(1)], w)
                 for w in plan_command_words()]
        proc = subprocess.run(words, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=workdir, env=ENV)
    check(proc.returncode == 0, f"{words}: exit {proc.returncode}\n{proc.stderr}")
    final = json.loads(proc.stdout.splitlines()[-1])
    check(math.isfinite(final.get("val_bpb", math.nan)) and final["train_seconds"] >= 3,
          f"final line {final}")
    print(f"ok: {' '.join(words)} -> val_bpb {final['val_bpb']:.3f} after {final['steps']} steps")


def case_validate(dsx):
    proc = subprocess.run([dsx, "autolab", "validate", "--json", PLAN], capture_output=True, text=True, timeout=60)
    check(proc.returncode == 0, f"validate: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    report = json.loads(proc.stdout)
    check(report["ok"] and (report["configurations"], report["repeats"], report["experiments"]) == (7, 3, 21),
          f"validate: {report}")
    print(f"ok: tiny-lm.yaml validates: {report['experiments']} experiments")


def has_run(dsx):
    proc = subprocess.run([dsx, "autolab", "run", "--help"], capture_output=True, text=True, timeout=60)
    return proc.returncode == 0


def case_run(dsx):
    if not has_run(dsx):
        raise Skip("this dsx has no `autolab run` yet")
    tmp = tempfile.mkdtemp(prefix="tiny-lm-run-")
    try:
        plan_dir = os.path.join(tmp, "plan")
        os.makedirs(plan_dir)
        shutil.copytree(FOLDER, os.path.join(plan_dir, "tiny-lm"), ignore=shutil.ignore_patterns("__pycache__"))
        text = plan_text()
        # Cut: 2 seeds, a 4 s budget, the baseline + higher-lr, lr-decay, dropout (2 overrides-free
        # patches and one override), 8 runs.
        for old, new in (("repeats: 3", "repeats: 2"), ("max_experiments: 21", "max_experiments: 8"),
                         ("time_budget: 30", "time_budget: 4")):
            check(text.count(old) == 1, f"tiny-lm.yaml no longer has one {old!r}: update this test")
            text = text.replace(old, new)
        head, hyps = text.split("  hypotheses:\n", 1)
        blocks = re.split(r"(?=^    - id: )", hyps, flags=re.M)
        keep = [b for b in blocks if re.match(r"    - id: (higher-lr|lr-decay|dropout)\n", b)]
        check(len(keep) == 3, f"hypothesis blocks {blocks}")
        keep[-1] = keep[-1].split("\nbackend:", 1)[0] + "\n"
        plan = os.path.join(plan_dir, "tiny-lm.yaml")
        with open(plan, "w") as f:
            f.write(head + "  hypotheses:\n" + "".join(keep) + "\nbackend: local\n")
        env = {k: v for k, v in os.environ.items() if k not in ("DSX_SERVER", "DSX_TOKEN", "HF_TOKEN")}
        env.update(DSX_JOBS_DIR=os.path.join(tmp, "jobs"), DSX_AUTOLAB_DIR=os.path.join(tmp, "autolab"),
                   DSX_CONFIG_DIR=os.path.join(tmp, "config"))
        run_dir = os.path.join(tmp, "run")
        proc = subprocess.run([dsx, "autolab", "run", plan, "--run-dir", run_dir], capture_output=True, text=True,
                              timeout=900, env=env)
        check(proc.returncode == 0, f"autolab run: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}")
        db = sqlite3.connect(os.path.join(run_dir, "ledger.sqlite"))
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM experiments ORDER BY seq")]
        db.close()
        table = "\n".join(f"  {r['hypothesis']:16} seed {r['seed']} {r['state']:9} {r['metric']} {r['reason']}"
                          for r in rows)
        check(len(rows) == 8 and all(r["state"] == "finished" for r in rows), f"ledger:\n{table}")
        order = ["baseline", "higher-lr", "lr-decay", "dropout"]
        check([r["hypothesis"] for r in rows] == [h for h in order for _ in range(2)], f"ledger order:\n{table}")
        for r in rows:  # the ledger's metric is the last val_bpb its run printed
            with open(r["log_path"], errors="replace") as f:
                finals = [json.loads(l) for l in f if l.startswith("{") and '"steps"' in l]
            check(finals and math.isclose(finals[-1]["val_bpb"], r["metric"], abs_tol=1e-9),
                  f"{r['id']}: ledger metric {r['metric']}, log says {finals}")
        # Keep-or-revert. The plan's rule, recomputed from the ledger's metrics: a configuration wins
        # when its mean beats the best mean by the margin (0.01) and so does its whole 95% interval over
        # 2 seeds (t(0.975, 1) = 12.706); the report's decisions must agree.
        doc = json.load(open(os.path.join(run_dir, "results.json")))
        decided = {c["hypothesis"]: c["decision"]["promoted"] for c in doc["configurations"] if c["decision"]}
        best, won = None, {}
        for hid in order:
            values = [r["metric"] for r in rows if r["hypothesis"] == hid]
            mean = sum(values) / 2
            half = 12.706 * abs(values[0] - values[1]) / math.sqrt(2) / math.sqrt(2)  # t * s / sqrt(n)
            won[hid] = best is None or (mean < best - 0.01 and mean + half < best - 0.01)
            check(decided.get(hid) == won[hid], f"{hid}: report says promoted={decided.get(hid)}, the rule "
                                                f"says {won[hid]} (mean {mean}, best {best})\n{table}")
            best = mean if won[hid] else best
        # Each hypothesis ran with the patches of those kept before it plus its own, and with the
        # learning rate that higher-lr left (0.01 if it was kept, else the base's 0.003).
        patches = {hid: open(os.path.join(EXAMPLES, path)).read() for hid, path, _ in plan_hypotheses() if path}
        stack, lr = [], 0.003
        for hid in order[1:]:
            runs = [r for r in rows if r["hypothesis"] == hid]
            want = "".join(stack + ([patches[hid]] if hid in patches else []))
            want_lr = 0.01 if hid == "higher-lr" else lr
            for r in runs:
                check(r["patch"] == want, f"{hid} ran with patch\n{r['patch']}\nwant\n{want}")
                check(json.loads(r["params"])["lr"] == want_lr, f"{hid} ran with {r['params']}, want lr {want_lr}")
            if won[hid]:
                stack += [patches[hid]] if hid in patches else []
                lr = want_lr
        promoted = [r for r in rows if r["promoted"]]
        check(len(promoted) == 1 and doc["best"] and doc["best"]["id"] == promoted[0]["id"],
              f"promoted {[r['id'] for r in promoted]}, results.json best {doc.get('best')}")
        print("ok: autolab run finished 8 experiments; best %s (%s)\n%s" %
              (promoted[0]["id"], promoted[0]["hypothesis"], table))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


CASES = {"output": case_output, "determinism": case_determinism, "bad_args": case_bad_args,
         "patches": case_patches, "plan_command": case_plan_command, "validate": case_validate, "run": case_run}
NEEDS_DSX = {"validate", "run"}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in CASES or len(sys.argv) != (3 if sys.argv[1] in NEEDS_DSX else 2):
        print(f"usage: tiny_lm_test.py {{{'|'.join(CASES)}}} [DSX (validate, run)]", file=sys.stderr)
        return 2
    case = sys.argv[1]
    if case != "validate":
        probe = subprocess.run([PYTHON, "-c", "import torch"], capture_output=True, text=True)
        if probe.returncode != 0:
            print("SKIP: /usr/bin/python3 cannot import torch (scripts/setup --with torch installs python3-torch)")
            return 77
    try:
        CASES[case](*sys.argv[2:])
    except Skip as skip:
        print(f"SKIP: {skip}")
        return 77
    except Failure as failure:
        print(f"FAIL: {case}: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
