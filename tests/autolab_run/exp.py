#!/usr/bin/python3
"""The experiment program of the autolab_run suite's fixture plans (run_test.py writes the plans and
copies this file next to them; each experiment runs it from its own {workdir}).

    exp.py --x X --mode MODE --seed SEED --workdir WORKDIR

It prints JSON lines the way a training script does ({"step": 1, "loss": ...} per step, then a final
{"loss": ...}) and its loss is a known function of x and the seed (loss() below), so the test knows
every experiment's metric in advance. It records its life in files the test watches instead of
sleeping:
  $AL_LOG     one line appended (O_APPEND, one write) at start and at end:
              "start <id> <seed> <pid> <pid start time>" and "end <id> <seed>"; <id> is the
              basename of WORKDIR (the run folder's experiments/<id>), so counting start lines per id
              tells how many times an experiment ran, and their order the concurrency
  $AL_GATE    when set: the final metric is printed only once this file exists (bounded wait), so
              the test decides when running experiments may finish; meanwhile each file
              $AL_GATE.ping.<id>.<k> (k = 1, 2, ...) makes it print {"ping": k} once
Modes (the bad ones are what issue 14 asks the driver to survive):
  ok        steps then the final metric; exit 0
  crash     a step, a message on stderr, exit 3
  hang      starts a child (same process group) that would create $AL_MARKS/late.<id> after 20 s,
            records the child's pid in $AL_MARKS/child.<id>, then sleeps for 10 minutes: the
            driver's per-experiment timeout must kill the whole tree before the child writes
  block     starts the same kind of child (it writes after 10 minutes), then waits for $AL_GATE:
            an experiment with a process tree that stop must kill
  nometric  prints log lines and a step line without the metric key; exit 0
  nan       prints the metric as NaN (Python's json.dumps writes the bare token); exit 0
  garbage   prints the metric as a string that is not a number; exit 0
BONUS is what the evolve fixture's patch changes (a patch to the working files, not a parameter).
Python 3 stdlib only.
"""
import argparse
import json
import os
import subprocess
import sys
import time

BONUS = 0.0
GATE_WAIT_S = 300  # far longer than any test waits; an unopened gate fails the run, never hangs it


def loss(x, seed):
    """The metric: distinct per x (so the ranking has no ties) with a small seed effect."""
    return round((x - 2.5) ** 2 + 0.1 * x + 0.01 * seed + BONUS, 6)


def start_time(pid):
    """Field 22 of /proc/<pid>/stat: with the pid it names one process (pids are recycled)."""
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def append(path, line):
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def emit(record):
    print(json.dumps(record), flush=True)


def spawn_late_writer(exp_id, delay_s):
    """A child in our process group that writes a file after delay_s unless it is killed first."""
    marks = os.environ["AL_MARKS"]
    late = os.path.join(marks, "late." + exp_id)
    child = subprocess.Popen([sys.executable, "-c",
                              "import sys, time; time.sleep(float(sys.argv[1])); open(sys.argv[2], 'w').write('late')",
                              str(delay_s), late])
    tmp = os.path.join(marks, ".child.%s.tmp" % exp_id)
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (child.pid, start_time(child.pid)))
    os.rename(tmp, os.path.join(marks, "child." + exp_id))  # whole or absent: the test polls for it
    return child


def wait_gate(exp_id):
    gate = os.environ.get("AL_GATE")
    if not gate:
        return
    deadline = time.monotonic() + GATE_WAIT_S
    ping = 1
    while not os.path.exists(gate):
        # Pings: the test creates <gate>.ping.<id>.<k> and waits for {"ping": k} in the run folder's
        # copy of this output, which the driver appends while it reconciles (after reading the
        # control word, in every pass): two answered pings prove a whole pass began after a moment.
        # A line follows it because the driver holds back a running job's last line (it may be
        # incomplete) until the next one arrives.
        if os.path.exists("%s.ping.%s.%d" % (gate, exp_id, ping)):
            emit({"ping": ping})
            print("pong %d" % ping, flush=True)
            ping += 1
            continue
        if time.monotonic() > deadline:
            print("exp.py: gate %s never opened" % gate, file=sys.stderr)
            sys.exit(1)
        time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--x", type=float, required=True)
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    exp_id = os.path.basename(os.path.normpath(a.workdir))
    log = os.environ.get("AL_LOG", "")
    append(log, "start %s %d %d %d" % (exp_id, a.seed, os.getpid(), start_time(os.getpid())))
    value = loss(a.x, a.seed)
    print("training x=%g seed=%d mode=%s" % (a.x, a.seed, a.mode), flush=True)
    if a.mode == "crash":
        emit({"step": 1, "loss": value + 1})
        print("exp.py: simulated crash", file=sys.stderr, flush=True)
        sys.exit(3)
    if a.mode == "hang":
        spawn_late_writer(exp_id, 20)
        time.sleep(600)
        sys.exit(1)
    if a.mode == "block":
        spawn_late_writer(exp_id, 600)
    if a.mode == "nometric":
        emit({"step": 1, "accuracy": 0.5})
        print("done, but no loss today", flush=True)
        append(log, "end %s %d" % (exp_id, a.seed))
        return
    if a.mode == "nan":
        emit({"step": 1, "loss": value})
        emit({"loss": float("nan")})
        append(log, "end %s %d" % (exp_id, a.seed))
        return
    if a.mode == "garbage":
        emit({"loss": "lots"})
        append(log, "end %s %d" % (exp_id, a.seed))
        return
    for step in (1, 2, 3):
        emit({"step": step, "loss": round(value + 0.1 * (3 - step), 6)})
    wait_gate(exp_id)
    emit({"loss": value})
    append(log, "end %s %d" % (exp_id, a.seed))


if __name__ == "__main__":
    main()
