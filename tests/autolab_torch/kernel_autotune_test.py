#!/usr/bin/python3
"""The GPU AutoLab example, configs/autolab/examples/kernel-autotune.yaml, and its wrapper
kernel-autotune/autotune.py, checked on any machine (no torch; it lives beside the tiny-lm tests
because both are the examples of issue 14 section 4, but carries the default labels autolab, e2e).

usage: kernel_autotune_test.py CASE DSX      (python3 stdlib only)

Cases:
  validate  `dsx autolab validate --json` accepts the plan: 18 variants x 3 = 54 runs
  wrapper   autotune.py against a stand-in dsx (DSX_BIN) that answers `kernel compile` and
            `kernel bench --json` as the real one does: time_us is the bench's median_ms x 1000 (summed
            over rows), a wrong kernel exits 1 with the harness's reason, "no GPU" (bench exit 5)
            exits 5 with "runs where a GPU is", a compile error exits 1; bad --set values and a
            variant the template's [[require]] forbids exit 2 before anything runs
  real      the real dsx: every variant of the plan's grid (the plan's own command words) expands
            and compiles with NVRTC (where `dsx kernel compile` finds no NVRTC: said, and that part
            skipped); then one variant is benched: a JSON time_us on a GPU, else exit 5 with the
            GPU message (this is what each experiment of the plan does on a machine without one)
"""
import itertools
import json
import os
import re
import shlex
import stat
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "configs", "autolab", "examples")
PLAN = os.path.join(EXAMPLES, "kernel-autotune.yaml")
WRAPPER = os.path.join(EXAMPLES, "kernel-autotune", "autotune.py")
TEMPLATE = os.path.join(ROOT, "skills", "cuda-kernels", "templates", "silu_mul.toml")
PYTHON = "/usr/bin/python3"

# The stand-in dsx: `kernel compile ... -o OUT` writes OUT; `kernel bench ... --json` prints the
# document in $FAKE_BENCH (the real one's shape: status, results[] rows with median_ms, gbps, ...)
# and exits $FAKE_BENCH_RC; $FAKE_COMPILE_RC makes compile fail. Every call is appended to $FAKE_LOG.
FAKE_DSX = r'''#!/usr/bin/python3
import os, sys
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\n")
args = sys.argv[1:]
if args[:2] == ["kernel", "compile"]:
    rc = int(os.environ.get("FAKE_COMPILE_RC", "0"))
    if rc:
        print("candidate.cu:12: error: expected a ';'", file=sys.stderr)
        sys.exit(rc)
    with open(args[args.index("-o") + 1], "wb") as f:
        f.write(b"\0" * 1234)
    sys.exit(0)
if args[:2] == ["kernel", "bench"]:
    rc = int(os.environ.get("FAKE_BENCH_RC", "0"))
    if rc == 5:
        print("dsx: no CUDA driver: cannot load libcuda.so.1 (is the NVIDIA driver installed?)", file=sys.stderr)
        sys.exit(5)
    print(os.environ["FAKE_BENCH"])
    sys.exit(rc)
sys.exit(2)
'''


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def wrapper(args, env=None):
    """autotune.py ARGS with os.environ + env (a None value removes that variable)."""
    full = {**os.environ, **(env or {})}
    proc = subprocess.run([PYTHON, WRAPPER, *args], capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in full.items() if v is not None})
    return proc.returncode, proc.stdout, proc.stderr


def plan_text():
    with open(PLAN) as f:
        return f.read()


def plan_grid():
    block = plan_text().split("\nsweep:\n", 1)[1]
    return {k: json.loads(v) for k, v in re.findall(r"^    (\w+): (\[.*\])$", block, re.M)}


def plan_command_words(values, workdir):
    match = re.search(r"^  command: >-\n((?:    .+\n)+)", plan_text(), re.M)
    check(match, "experiment.command (a >- block) not found")
    words = shlex.split(" ".join(line.strip() for line in match.group(1).splitlines()))
    return [re.sub(r"\{(\w+)\}", lambda m: str({**values, "workdir": workdir}[m.group(1)]), w) for w in words]


def case_validate(dsx):
    proc = subprocess.run([dsx, "autolab", "validate", "--json", PLAN], capture_output=True, text=True, timeout=60)
    check(proc.returncode == 0, f"validate: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    report = json.loads(proc.stdout)
    check(report["ok"] and (report["configurations"], report["repeats"], report["experiments"]) == (18, 3, 54),
          f"validate: {report}")
    check(plan_grid() == {"block": [128, 256, 512], "vec": [8, 16], "unroll": [1, 2, 4]}, f"grid {plan_grid()}")
    print(f"ok: kernel-autotune.yaml validates: {report['experiments']} experiments")


def row(median_ms, **extra):
    return {"status": "ok", "dtype": "f32", "preset": "medium", "median_ms": median_ms, "gbps": 3000.0,
            "pct_peak_bw": 89.5, "noise_pct": 0.31, "flags": [], **extra}


def case_wrapper(dsx):
    del dsx  # the stand-in answers instead
    with tempfile.TemporaryDirectory(prefix="kernel-autotune-") as tmp:
        fake = os.path.join(tmp, "dsx")
        with open(fake, "w") as f:
            f.write(FAKE_DSX)
        os.chmod(fake, os.stat(fake).st_mode | stat.S_IXUSR)
        log = os.path.join(tmp, "calls.log")
        out_dir = os.path.join(tmp, "work")
        base_args = ["--task", "silu_mul", "--template", TEMPLATE, "--out", out_dir, "--sizes", "medium",
                     "--dtype", "f32", "--set", "BLOCK=256", "--set", "VEC=16", "--set", "UNROLL=2",
                     "--bench-arg=--no-reference-timing"]

        def run(doc=None, **env):
            open(log, "w").close()
            e = {"DSX_BIN": fake, "FAKE_LOG": log, "FAKE_BENCH": json.dumps(doc or {})}
            e.update({k: str(v) for k, v in env.items()})
            return wrapper(base_args, e)

        # One row: time_us = median_ms * 1000, the row's other numbers carried over.
        rc, out, err = run({"status": "ok", "results": [row(0.0612345, speedup=1.07)]})
        check(rc == 0, f"ok bench: exit {rc}\n{err}")
        got = json.loads(out)
        check(got == {"time_us": 61.2345, "gbps": 3000.0, "pct_peak_bw": 89.5, "noise_pct": 0.31, "speedup": 1.07},
              f"ok bench printed {got}")
        with open(log) as f:
            calls = f.read().splitlines()
        cand = os.path.join(out_dir, "candidate.cu")
        check(calls[0].startswith(f"kernel compile --task silu_mul {cand} -o ") and
              calls[1] == f"kernel bench silu_mul --impl {cand} --sizes medium --dtype f32 --json "
                          "--no-reference-timing", f"calls {calls}")
        with open(cand) as f:
            source = f.read()
        check("{{" not in source and "__launch_bounds__(256)" in source and "kUnroll = 2;" in source
              and "x / (1.0f + expf(-x)) * y" in source, "candidate.cu is not the BLOCK=256 UNROLL=2 silu_mul variant")
        # Two rows (sizes or dtypes): their times add up; per-row numbers are left out.
        rc, out, err = run({"status": "ok", "results": [row(0.01), row(0.02)]})
        check(rc == 0 and json.loads(out) == {"time_us": 30.0}, f"two rows: exit {rc}, {out!r}")
        # The harness says the kernel is wrong: exit 1, its reason on stderr, no metric.
        rc, out, err = run({"status": "wrong", "reasons": ["trial 2: max abs error 0.5 at index 7"],
                            "results": [row(0.01, status="wrong")]}, FAKE_BENCH_RC=1)
        check(rc == 1 and out == "" and "max abs error 0.5" in err, f"wrong kernel: exit {rc}, {out!r}, {err!r}")
        # No GPU: exit 5 and the message the ledger will show.
        rc, out, err = run(FAKE_BENCH_RC=5)
        check(rc == 5 and out == "" and "runs where a GPU is" in err and "libcuda" in err,
              f"no GPU: exit {rc}, {out!r}, {err!r}")
        # A compile error: exit 1 with the compiler's line, bench never called.
        rc, out, err = run(FAKE_COMPILE_RC=1)
        with open(log) as f:
            calls = f.read().splitlines()
        check(rc == 1 and "does not compile" in err and "expected a ';'" in err and len(calls) == 1,
              f"compile error: exit {rc}, {err!r}, calls {calls}")
        # Garbage from bench: exit 1, never a made-up number.
        rc, out, err = run({"status": "ok", "results": [row(0.0)]})
        check(rc == 1 and out == "", f"median 0: exit {rc}, {out!r}")
        # Bad variants exit 2 before dsx is asked anything.
        for sets, want in ((["BLOCK=256", "VEC=16"], "no value for the grid placeholder"),
                           (["BLOCK=256", "VEC=16", "UNROLL=2", "WARPS=4"], "not a [grid] placeholder"),
                           (["BLOCK=256", "BLOCK=512", "VEC=16", "UNROLL=2"], "given twice"),
                           (["BLOCK256", "VEC=16", "UNROLL=2"], "expected NAME=VALUE")):
            args = ["--task", "silu_mul", "--template", TEMPLATE, "--out", out_dir]
            for s in sets:
                args += ["--set", s]
            open(log, "w").close()
            rc, out, err = wrapper(args, {"DSX_BIN": fake, "FAKE_LOG": log})
            check(rc == 2 and want in err and os.path.getsize(log) == 0, f"{sets}: exit {rc}, {err!r}")
        rmsnorm = os.path.join(os.path.dirname(TEMPLATE), "rmsnorm.toml")
        rc, out, err = wrapper(["--task", "rmsnorm", "--template", rmsnorm, "--out", out_dir, "--set", "BLOCK=128",
                                "--set", "ROWS_PER_BLOCK=8", "--set", "VEC=16", "--set", "UNROLL=1"],
                               {"DSX_BIN": fake, "FAKE_LOG": log})
        check(rc == 2 and "requirement BLOCK / ROWS_PER_BLOCK >= 32" in err, f"require: exit {rc}, {err!r}")
        rc, out, err = wrapper(base_args, {"DSX_BIN": os.path.join(tmp, "no-such-dsx"), "PATH": "/usr/bin:/bin"})
        check(rc == 5 and "dsx not found" in err, f"no dsx: exit {rc}, {err!r}")
    print("ok: the wrapper reads bench's JSON, and maps wrong kernels, compile errors, no GPU and bad variants "
          "to exits 1, 1, 5, 2")


def case_real(dsx):
    # dsx found on PATH, as the plan's header says to run it.
    env = {"PATH": os.path.dirname(os.path.abspath(dsx)) + os.pathsep + os.environ.get("PATH", ""), "DSX_BIN": None}
    grid = plan_grid()
    names = sorted(grid)
    compiled = 0
    with tempfile.TemporaryDirectory(prefix="kernel-autotune-real-") as tmp:
        env["DSX_CACHE_DIR"] = os.path.join(tmp, "cache")  # the compile cache: not the user's
        for values in itertools.product(*(grid[n] for n in names)):
            point = dict(zip(names, values))
            words = plan_command_words({**point, "seed": 0}, tmp)
            check(words[:2] == [PYTHON, f"{tmp}/kernel-autotune/autotune.py"], f"command {words}")
            rc, out, err = wrapper(words[2:] + ["--compile-only"], env)
            if rc == 5 and "NVRTC" in err:
                print(f"note: no NVRTC here, the grid was not compiled: {err.strip()}")
                break
            check(rc == 0 and json.loads(out)["cubin_bytes"] > 0, f"{point}: exit {rc}\n{err}")
            compiled += 1
        words = plan_command_words({"block": 256, "vec": 16, "unroll": 2, "seed": 0}, tmp)
        rc, out, err = wrapper(words[2:], env)
    gpu = subprocess.run([dsx, "kernel", "device", "--json"], capture_output=True, text=True, timeout=120)
    if gpu.returncode == 0:
        check(rc == 0, f"bench on a GPU: exit {rc}\n{err}")
        result = json.loads(out)
        check(result["time_us"] > 0, f"bench on a GPU printed {result}")
        print(f"ok: {compiled} variants compiled; BLOCK=256 VEC=16 UNROLL=2 on the GPU: {result}")
    else:
        check(rc == 5 and out == "" and "runs where a GPU is" in err, f"no GPU: exit {rc}, {out!r}, {err!r}")
        print(f"ok: {compiled} variants compiled; no GPU here, so an experiment exits 5: {err.strip()}")


CASES = {"validate": case_validate, "wrapper": case_wrapper, "real": case_real}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CASES:
        print(f"usage: kernel_autotune_test.py {{{'|'.join(CASES)}}} DSX", file=sys.stderr)
        return 2
    try:
        CASES[sys.argv[1]](sys.argv[2])
    except Failure as failure:
        print(f"FAIL: {sys.argv[1]}: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
