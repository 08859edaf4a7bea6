#!/usr/bin/python3
"""The digits example (configs/autolab/examples/digits/train.py) on its own, before `dsx autolab run`.

Cases (argv[1]; validate also takes the dsx binary as argv[2]):
  output        a few parameter sets (mlp and logreg) print one valid JSON line per epoch with
                increasing "step" and a finite "val_loss", then a final {"val_loss", "val_accuracy"}
                line that repeats the last epoch's loss
  determinism   the same seed gives byte-identical output; a different seed gives different output
  bad_args      bad or missing arguments exit 2 with a message on stderr and nothing on stdout;
                a diverging learning rate exits 1 with a one-line reason and no final metric line
  plan_command  digits.yaml's experiment.command, with its files copied into a fresh working folder
                and its placeholders filled in, runs train.py and yields the plan's metric
  validate      `dsx autolab validate` accepts digits.yaml (30 experiments: 10 configurations x 3) and,
                as a control, rejects a copy whose command names a parameter the sweep lacks
  sweep         a sweep by hand: 3 configurations x 3 seeds, 2 at a time; mean and a 95% Student-t
                interval per configuration; the best configuration's interval must not overlap the
                worst's -- the separation the AutoLab report is meant to show on this example

Exit 77 (CTest SKIP_RETURN_CODE) only when scikit-learn cannot be imported by /usr/bin/python3
(scripts/deps/autolab.apt lists python3-sklearn; CI installs it). python3 stdlib only here.
"""
import concurrent.futures
import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAN = os.path.join(ROOT, "configs", "autolab", "examples", "digits.yaml")
TRAIN = os.path.join(os.path.dirname(PLAN), "digits", "train.py")
PYTHON = "/usr/bin/python3"  # the Debian interpreter that python3-sklearn installs into
RUN_TIMEOUT_S = 120          # one run takes ~2-3 s; generous for a loaded 2-core machine

# Student-t quantiles t(0.975, df) for the two-sided 95% interval (df = repeats - 1). A table rather
# than a computation: the stdlib has no t distribution, and these are the textbook values.
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776}


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def train(*args):
    proc = subprocess.run([PYTHON, TRAIN, *map(str, args)], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)
    return proc.returncode, proc.stdout, proc.stderr


def parse_run(args, stdout, epochs):
    """Every stdout line is a JSON object: epochs 1..epochs, then the final line. Returns final."""
    lines = stdout.splitlines()
    check(len(lines) == epochs + 1, f"{args}: expected {epochs + 1} lines, got {len(lines)}:\n{stdout}")
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise Failure(f"{args}: not a JSON line ({error}): {line!r}")
    for epoch, record in enumerate(records[:-1], start=1):
        check(set(record) == {"step", "val_loss"}, f"{args}: epoch line keys {sorted(record)}")
        check(record["step"] == epoch, f"{args}: step {record['step']} where {epoch} was due")
        check(isinstance(record["val_loss"], float) and math.isfinite(record["val_loss"])
              and record["val_loss"] >= 0, f"{args}: val_loss {record['val_loss']!r}")
    final = records[-1]
    check(set(final) == {"val_loss", "val_accuracy"}, f"{args}: final line keys {sorted(final)}")
    check(math.isfinite(final["val_loss"]), f"{args}: final val_loss {final['val_loss']!r}")
    check(final["val_loss"] == records[-2]["val_loss"], f"{args}: final loss is not the last epoch's")
    check(0 <= final["val_accuracy"] <= 1, f"{args}: val_accuracy {final['val_accuracy']!r}")
    return final


def case_output():
    cases = [
        ["--lr", 0.01, "--width", 32, "--alpha", 1e-4, "--seed", 0, "--epochs", 5],
        ["--lr", 0.003, "--width", 8, "--alpha", 0.01, "--seed", 2, "--epochs", 3],
        ["--lr", 0.01, "--alpha", 0, "--seed", 1, "--epochs", 4, "--model", "logreg"],
        ["--lr", "1e-2", "--epochs", "1"],  # defaults for the rest; exponent notation as AutoLab may print it
    ]
    for args in cases:
        code, out, err = train(*args)
        check(code == 0, f"{args}: exit {code}\n{err}")
        epochs = int(args[args.index("--epochs") + 1])
        final = parse_run(args, out, epochs)
        print(f"ok {args}: val_loss {final['val_loss']:.4f} accuracy {final['val_accuracy']:.3f}")
    # Learning happens: 20 epochs of a sane configuration beat chance (log 10 = 2.30) by far.
    code, out, err = train("--lr", 0.01, "--width", 32, "--seed", 0, "--epochs", 20)
    check(code == 0, err)
    final = parse_run("20 epochs", out, 20)
    check(final["val_loss"] < 0.5 and final["val_accuracy"] > 0.9, f"did not learn: {final}")


def case_determinism():
    args = ["--lr", 0.01, "--width", 16, "--alpha", 1e-3, "--epochs", 4]
    runs = {seed: [train(*args, "--seed", seed) for _ in range(2 if seed == 3 else 1)] for seed in (3, 4)}
    for seed, results in runs.items():
        for code, _, err in results:
            check(code == 0, f"seed {seed}: exit {code}\n{err}")
    same_a, same_b = runs[3][0][1], runs[3][1][1]
    check(same_a == same_b, f"seed 3 twice gave different output:\n{same_a}\n---\n{same_b}")
    check(runs[4][0][1] != same_a, "seeds 3 and 4 gave identical output: the seed is not used")
    # The seed changes initialisation and minibatch order, not the validation split: the losses
    # stay in the same range (both runs learn), they are just not the same numbers.
    print("ok: same seed identical, different seed different")


def case_bad_args():
    bad = [
        [],                                        # --lr is required
        ["--lr", "0"],
        ["--lr", "-0.1"],
        ["--lr", "nan"],
        ["--lr", "fast"],
        ["--lr", "0.01", "--width", "0"],
        ["--lr", "0.01", "--width", "2.5"],
        ["--lr", "0.01", "--alpha", "-1"],
        ["--lr", "0.01", "--epochs", "0"],
        ["--lr", "0.01", "--seed", "-1"],
        ["--lr", "0.01", "--model", "forest"],
        ["--lr", "0.01", "--unknown", "1"],
    ]
    for args in bad:
        code, out, err = train(*args)
        check(code == 2, f"{args}: exit {code}, want 2\nstdout: {out}\nstderr: {err}")
        check(out == "", f"{args}: printed a metric on stdout: {out!r}")
        check("error" in err, f"{args}: no message on stderr: {err!r}")
    print(f"ok: {len(bad)} bad argument sets exit 2 with a message")
    # Regression: an absurd learning rate made sklearn raise on overflowed weights and train.py died
    # with a traceback (exit 1 by accident). Now it is a deliberate exit 1 with one line of reason,
    # and stdout holds only whole epoch lines, never a final result.
    code, out, err = train("--lr", "1e300", "--epochs", 3)
    check(code == 1, f"diverging run: exit {code}, want 1\n{err}")
    check("diverged" in err and "Traceback" not in err, f"diverging run: stderr {err!r}")
    for line in out.splitlines():
        check("step" in json.loads(line), f"diverging run printed a final metric: {line!r}")
    print("ok: a diverging run exits 1 with a reason")


def summarize(values):
    n = len(values)
    mean = statistics.fmean(values)
    half = T_975[n - 1] * statistics.stdev(values) / math.sqrt(n)
    return mean, mean - half, mean + half


def case_sweep():
    # Three configurations that differ as a sweep over lr/width/alpha would make them differ: a
    # reasonable one, a slow learner (lr 10x too small, narrow) and a starved one (lr 100x too
    # small, very narrow). 30 epochs, as in digits.yaml's command.
    configs = {
        "good": ["--lr", 0.01, "--width", 64, "--alpha", 1e-4],
        "slow": ["--lr", 0.001, "--width", 16, "--alpha", 1e-4],
        "starved": ["--lr", 0.0001, "--width", 8, "--alpha", 1e-2],
    }
    seeds = (0, 1, 2)  # AutoLab passes {seed} = 0 .. repeats-1
    jobs = {(name, seed): args + ["--seed", seed, "--epochs", 30]
            for name, args in configs.items() for seed in seeds}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:  # max_parallel: 2
        futures = {key: pool.submit(train, *args) for key, args in jobs.items()}
        results = {key: future.result() for key, future in futures.items()}
    losses = {name: [] for name in configs}
    for (name, seed), (code, out, err) in results.items():
        check(code == 0, f"{name} seed {seed}: exit {code}\n{err}")
        losses[name].append(parse_run(f"{name} seed {seed}", out, 30)["val_loss"])
    summaries = {name: summarize(values) for name, values in losses.items()}
    ranked = sorted(summaries, key=lambda name: summaries[name][0])  # val_loss: minimize
    for name in ranked:
        mean, low, high = summaries[name]
        print(f"{name:8s} mean {mean:.4f}  95% CI [{low:.4f}, {high:.4f}]  values {losses[name]}")
    best, worst = ranked[0], ranked[-1]
    check(best == "good", f"the sensible configuration did not win: {ranked}")
    check(worst == "starved", f"the starved configuration did not lose: {ranked}")
    check(summaries[best][2] < summaries[worst][1],
          f"best {best}'s interval overlaps worst {worst}'s: {summaries[best]} vs {summaries[worst]}")
    for name, values in losses.items():
        check(len(set(values)) == len(values), f"{name}: seeds gave identical losses {values}")
    print(f"ok: {best} beats {worst} with non-overlapping 95% intervals")


def plan_block(text, key):
    """The indented lines under a top-level `key:` of the plan (stdlib has no YAML reader; the
    example's layout is simple and this test pins it)."""
    match = re.search(rf"^{key}:\n((?:[ #].*\n|\n)*)", text, re.M)
    check(match, f"digits.yaml has no top-level {key}:")
    return match.group(1)


def case_plan_command():
    # What a worker will do with the plan: copy experiment.files into the experiment's folder
    # (by name), fill in {workdir}, the sweep's parameters and {seed}, split the command into words
    # without a shell, add experiment.env, and read experiment.metric from stdout.
    with open(PLAN) as f:
        text = f.read()
    experiment = plan_block(text, "experiment")
    command = re.search(r"^  command: (.+)$", experiment, re.M)
    check(command, "experiment.command not found")
    template = command.group(1).strip()
    files = re.findall(r"^    - (\S+)$", experiment.split("  files:\n", 1)[1], re.M)
    check(files == ["digits/train.py"], f"experiment.files: {files}")
    env = dict(re.findall(r'^    ([A-Z_]+): "(.*)"$', experiment, re.M))
    check(env.get("OMP_NUM_THREADS") == "1", f"experiment.env: {env}")
    placeholders = set(re.findall(r"\{(\w+)\}", template))
    swept = set(re.findall(r"^    (\w+):$", plan_block(text, "sweep"), re.M))
    check(swept == {"lr", "width", "alpha"}, f"sweep.params: {swept}")
    check(placeholders == swept | {"workdir", "seed"}, f"command placeholders {placeholders}")
    objective = plan_block(text, "objective")
    check(re.search(r"^  metric: val_loss$", objective, re.M), "objective.metric is not val_loss")
    check(re.search(r"^    intermediate_key: step$", experiment, re.M), "intermediate_key is not step")

    values = {"lr": "0.0113879", "width": "8", "alpha": "6.66801e-05", "seed": "2"}  # as the sampler prints them
    with tempfile.TemporaryDirectory(prefix="digits-workdir-") as workdir:
        for path in files:
            shutil.copy(os.path.join(os.path.dirname(PLAN), path), workdir)
        words = [re.sub(r"\{(\w+)\}", lambda m: {**values, "workdir": workdir}[m.group(1)], word)
                 for word in shlex.split(template)]
        proc = subprocess.run(words, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=workdir,
                              env={**os.environ, **env})
    check(proc.returncode == 0, f"{words}: exit {proc.returncode}\n{proc.stderr}")
    epochs = int(words[words.index("--epochs") + 1])
    final = parse_run(words, proc.stdout, epochs)
    print(f"ok: {' '.join(words)} -> val_loss {final['val_loss']:.4f}")


def case_validate(dsx):
    def validate(plan):
        return subprocess.run([dsx, "autolab", "validate", "--json", plan], capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S)

    proc = validate(PLAN)
    check(proc.returncode == 0, f"validate {PLAN}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    report = json.loads(proc.stdout)
    check(report["ok"] and report["errors"] == [], f"validate: {report}")
    check((report["configurations"], report["repeats"], report["experiments"], report["budget"]) == (10, 3, 30, 30),
          f"validate: the plan's size changed: {report}")
    # The control: the same plan and files with a misspelt placeholder must fail, naming the line,
    # so the pass above means the checker really read this plan.
    with open(PLAN) as f:
        text = f.read()
    check("--alpha {alpha}" in text, "the command has no --alpha {alpha}")
    with tempfile.TemporaryDirectory(prefix="digits-plan-") as folder:
        shutil.copytree(os.path.join(os.path.dirname(PLAN), "digits"), os.path.join(folder, "digits"))
        broken = os.path.join(folder, "digits.yaml")
        with open(broken, "w") as f:
            f.write(text.replace("--alpha {alpha}", "--alpha {alpah}"))
        proc = validate(broken)
    check(proc.returncode == 2, f"a misspelt placeholder passed: exit {proc.returncode}\n{proc.stdout}")
    errors = json.loads(proc.stdout)["errors"]
    command_line = 1 + text[:text.index("  command:")].count("\n")
    check(any(e["line"] == command_line and "alpah" in e["message"] for e in errors),
          f"no error at line {command_line} naming {{alpah}}: {errors}")
    print(f"ok: digits.yaml validates ({report['experiments']} experiments); a misspelt copy fails at line "
          f"{command_line}")


CASES = {"output": case_output, "determinism": case_determinism, "bad_args": case_bad_args,
         "plan_command": case_plan_command, "validate": case_validate, "sweep": case_sweep}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in CASES or len(sys.argv) != (3 if sys.argv[1] == "validate" else 2):
        print(f"usage: digits_test.py {{{'|'.join(CASES)}}} (validate: DSX_BINARY)", file=sys.stderr)
        return 2
    # validate only reads the plan: it needs no scikit-learn.
    probe = subprocess.run([PYTHON, "-c", "import sklearn.neural_network, sklearn.datasets"],
                           capture_output=True, text=True)
    if probe.returncode != 0 and sys.argv[1] != "validate":
        print("SKIP: /usr/bin/python3 cannot import scikit-learn (apt-get install python3-sklearn; "
              f"scripts/deps/autolab.apt lists it): {probe.stderr.strip().splitlines()[-1:]}")
        return 77
    try:
        CASES[sys.argv[1]](*sys.argv[2:])
    except Failure as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
