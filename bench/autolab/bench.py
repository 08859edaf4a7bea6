#!/usr/bin/env python3
"""bench/autolab: what `dsx autolab run` costs an experiment, side by side with its floor, in one run.

  A sweep of N experiments whose command does nothing but print its metric (`/bin/echo`), run 2 at a
  time, so the wall time is the driver's own cost: planning, a fresh working folder, the job's
  submit (registry folder + detached supervisor), polling, log and metric reading, the ledger's
  transactions (SQLite, synchronous=FULL: fsyncs), promotion and the report.
  floor:  N x `dsx jobs submit -- /bin/echo ...` one after the other (what starting N jobs costs
          through the jobs layer alone, without waiting for them).
  run:    `dsx autolab run` of the N-experiment plan with --poll-ms 50 and with the default 500.
Reports per-experiment medians (REPEAT runs each) and the ratio to the floor.
Usage: bench/autolab/run [DSX]   Env: N (20) REPEAT (3)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DSX = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../build/bin/dsx")
N = int(os.environ.get("N", "20"))
REPEAT = int(os.environ.get("REPEAT", "3"))

PLAN = """name: bench
objective: {metric: loss, direction: minimize}
budget: {max_experiments: %d, max_parallel: 2, experiment_timeout: 60}
experiment:
  command: '/bin/echo {{"loss": {x}}}'
sweep:
  params:
    x: [%s]
"""


def timed(argv, env):
    t = time.monotonic()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t


def main():
    work = tempfile.mkdtemp(prefix="dsx-bench-autolab-")
    try:
        plan = os.path.join(work, "bench.yaml")
        with open(plan, "w") as f:
            f.write(PLAN % (N, ", ".join(str(i) for i in range(N))))
        floors, runs = [], {50: [], 500: []}
        for r in range(REPEAT):
            env = dict(os.environ, DSX_JOBS_DIR=os.path.join(work, "jobs-floor-%d" % r))
            env.pop("DSX_SERVER", None)
            floors.append(sum(timed([DSX, "jobs", "submit", "--", "/bin/echo", '{"loss": %d}' % i], env)
                              for i in range(N)) / N)
            for poll in runs:
                env = dict(os.environ, DSX_JOBS_DIR=os.path.join(work, "jobs-%d-%d" % (poll, r)))
                env.pop("DSX_SERVER", None)
                run_dir = os.path.join(work, "run-%d-%d" % (poll, r))
                runs[poll].append(timed([DSX, "autolab", "run", plan, "--run-dir", run_dir, "--quiet",
                                         "--poll-ms", str(poll)], env) / N)
        floor = statistics.median(floors)
        print("autolab: %d experiments of /bin/echo, 2 at a time, median of %d" % (N, REPEAT))
        print("  floor  dsx jobs submit, one after the other: %.1f ms per job" % (floor * 1000))
        for poll, values in runs.items():
            per = statistics.median(values)
            print("  run    dsx autolab run --poll-ms %-3d: %.1f ms per experiment (%.2fx the floor)"
                  % (poll, per * 1000, per / floor))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
