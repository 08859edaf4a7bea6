#!/usr/bin/python3
"""One AutoLab experiment of kernel-autotune.yaml: one variant of a Skill's kernel template, timed by
`dsx kernel bench`.

A Skill template (skills/cuda-kernels/templates/<task>.toml + its .cu.tmpl) has placeholders written
{{NAME}}: [fixed] ones with one value for the task, and [grid] ones that a search varies (block
size, vector width, unroll). `dsx kernel gen --provider template` tries every grid point itself;
this wrapper instead makes ONE grid point an AutoLab experiment, so the sweep, repeats, ranking
with confidence intervals, the ledger's crash safety and the report all come from AutoLab.

Steps, each with its own exit code so the ledger's failure reason says what went wrong:
  1. expand the template with [fixed] and the --set NAME=VALUE values (exactly the [grid] names;
     the template's [[require]] filters apply) into candidate.cu in the working folder;
  2. `dsx kernel compile --task TASK candidate.cu` (NVRTC: needs the CUDA toolkit, not a GPU);
  3. `dsx kernel bench TASK --impl candidate.cu --json` (verifies against the reference kernel on
     fresh random inputs, then times it: needs an NVIDIA GPU and its driver);
  4. prints one JSON line: {"time_us": <median of the cold (L2-flushed) timing>, "gbps": ...,
     "pct_peak_bw": ..., "noise_pct": ...}. With several --sizes/--dtype rows, time_us is their sum.
--compile-only stops after step 2 and prints {"cubin_bytes": N}: checks a grid on a machine
without a GPU.

dsx is $DSX_BIN, else `dsx` on PATH (put build/bin on PATH); it finds kernels/ next to itself or
in $DSX_KERNELS_DIR. The template is --template PATH, or <skill>/templates/<task>.toml with the skill
found as `dsx kernel gen --skill` finds it ($DSX_SKILLS_DIR, then next to dsx): AutoLab copies only
files inside the plan's folder into an experiment's working folder. python3 stdlib only (tomllib:
Python >= 3.11).

Exit codes: 0 done; 1 the variant failed (compile error, wrong results, rejected by the harness);
2 bad arguments or template; 5 unavailable (no dsx, no NVRTC, no GPU or driver: nothing was measured).
"""
import argparse
import ast
import json
import operator
import os
import re
import shutil
import subprocess
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

PLACEHOLDER = re.compile(r"\{\{([A-Z0-9_]+)\}\}")
COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
           ">=": operator.ge}
EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE = 1, 2, 5


class Stop(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Time one variant of a kernel template with dsx kernel bench.")
    parser.add_argument("--task", required=True, help="the kernel task (dsx kernel list)")
    parser.add_argument("--template", help="the template's params file, <skill>/templates/NAME.toml (default: "
                                           "the task's name), as a path or a name looked up like dsx finds skills")
    parser.add_argument("--skill", default="cuda-kernels", help="the Skill holding the template (default cuda-kernels)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="one [grid] placeholder's value (repeat for each)")
    parser.add_argument("--sizes", default="medium", help="size presets for bench (comma separated)")
    parser.add_argument("--dtype", default="f32", help="dtypes for bench (comma separated)")
    parser.add_argument("--out", default=".", help="folder for candidate.cu (default: the current folder)")
    parser.add_argument("--compile-only", action="store_true", help="stop after the NVRTC compile")
    parser.add_argument("--bench-arg", action="append", default=[], help="extra argument for dsx kernel bench")
    return parser.parse_args(argv)


def int_expr(text, values):
    """An integer expression over placeholder values: integers, names, + - * / %, parentheses
    (the template format's [[require]] language; / truncates like C++ for the positive values used)."""
    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: lambda a, b: int(a / b), ast.Mod: operator.mod}

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise Stop(EXIT_USAGE, f"[[require]] expr {text!r} names {node.id}, which has no value")
            return int(values[node.id])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            right = walk(node.right)
            if right == 0 and isinstance(node.op, (ast.Div, ast.Mod)):
                raise Stop(EXIT_USAGE, f"[[require]] expr {text!r} divides by zero")
            return ops[type(node.op)](walk(node.left), right)
        raise Stop(EXIT_USAGE, f"[[require]] expr {text!r} is not an integer expression")

    try:
        return walk(ast.parse(text, mode="eval"))
    except (SyntaxError, ValueError) as error:
        raise Stop(EXIT_USAGE, f"[[require]] expr {text!r}: {error}")


def expand(params_path, settings):
    """The template's source with every placeholder filled; Stop(2) on any mismatch."""
    if tomllib is None:
        raise Stop(EXIT_UNAVAILABLE, "Python 3.11 or later is needed (tomllib)")
    try:
        with open(params_path, "rb") as f:
            params = tomllib.load(f)
        template_path = os.path.join(os.path.dirname(os.path.abspath(params_path)), params["template"])
        with open(template_path) as f:
            source = f.read()
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise Stop(EXIT_USAGE, f"cannot read the template through {params_path}: {error!r}")
    grid = params.get("grid", {})
    fixed = {k: str(v) for k, v in params.get("fixed", {}).items()}
    values = dict(fixed)
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise Stop(EXIT_USAGE, f"--set {item!r}: expected NAME=VALUE")
        if name not in grid:
            raise Stop(EXIT_USAGE, f"--set {name}: not a [grid] placeholder of {params_path} "
                                   f"(grid: {', '.join(sorted(grid)) or 'none'})")
        if name in values and name not in fixed:
            raise Stop(EXIT_USAGE, f"--set {name} given twice")
        values[name] = value
    missing = sorted(set(grid) - set(values))
    if missing:
        raise Stop(EXIT_USAGE, f"no value for the grid placeholder(s) {', '.join(missing)} (--set NAME=VALUE)")
    used = set(PLACEHOLDER.findall(source))
    if used - set(values):
        raise Stop(EXIT_USAGE, f"the template uses {', '.join(sorted(used - set(values)))}, which have no value")
    if set(values) - used:
        raise Stop(EXIT_USAGE, f"the template never uses {', '.join(sorted(set(values) - used))}")
    for rule in params.get("require", []):
        got = int_expr(rule["expr"], {k: v for k, v in values.items() if k in grid})
        if rule["op"] not in COMPARE or not COMPARE[rule["op"]](got, int(rule["value"])):
            raise Stop(EXIT_USAGE, f"this variant breaks the template's requirement "
                                   f"{rule['expr']} {rule['op']} {rule['value']} ({rule['expr']} = {got})")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], source)


def find_params(args, dsx):
    """The template's params file: --template as a path, else <skill>/templates/<name>.toml with the
    skill found the way `dsx kernel gen --skill` finds it ($DSX_SKILLS_DIR, then next to dsx), so the
    plan need not copy files from outside its own folder."""
    name = args.template or args.task
    if os.path.sep in name or name.endswith(".toml"):
        return name
    roots = [os.environ["DSX_SKILLS_DIR"]] if os.environ.get("DSX_SKILLS_DIR") else []
    if dsx:
        bin_dir = os.path.dirname(os.path.realpath(dsx))
        roots += [os.path.join(bin_dir, "..", "skills"), os.path.join(bin_dir, "..", "..", "skills"),
                  os.path.join(bin_dir, "..", "share", "dsx", "skills")]
    for root in roots:
        path = os.path.normpath(os.path.join(root, args.skill, "templates", name + ".toml"))
        if os.path.isfile(path):
            return path
    raise Stop(EXIT_USAGE, f"no template {name}.toml in the {args.skill} skill (looked in: "
                           f"{', '.join(os.path.normpath(r) for r in roots) or 'nowhere: no dsx, no $DSX_SKILLS_DIR'})")


def find_dsx():
    dsx = os.environ.get("DSX_BIN") or shutil.which("dsx")
    if not dsx or not os.access(dsx, os.X_OK):
        raise Stop(EXIT_UNAVAILABLE, "dsx not found: set DSX_BIN or put build/bin on PATH")
    return dsx


def run_dsx(dsx, args):
    proc = subprocess.run([dsx, *args], capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr.strip()


def main(argv):
    args = parse_args(argv)
    try:
        dsx = find_dsx()
        source = expand(find_params(args, dsx), args.set)
        os.makedirs(args.out, exist_ok=True)
        candidate = os.path.join(os.path.abspath(args.out), "candidate.cu")
        with open(candidate, "w") as f:
            f.write(source)

        cubin = os.path.join(os.path.abspath(args.out), "candidate.cubin")
        rc, out, err = run_dsx(dsx, ["kernel", "compile", "--task", args.task, candidate, "-o", cubin])
        if rc == EXIT_UNAVAILABLE:
            raise Stop(EXIT_UNAVAILABLE, f"NVRTC (the CUDA toolkit) is needed to compile kernels: {err}")
        if rc != 0:
            raise Stop(EXIT_FAILED if rc == 1 else rc, f"the variant does not compile (exit {rc}):\n{err or out}")
        if args.compile_only:
            print(json.dumps({"cubin_bytes": os.path.getsize(cubin)}), flush=True)
            return 0

        rc, out, err = run_dsx(dsx, ["kernel", "bench", args.task, "--impl", candidate, "--sizes", args.sizes,
                                     "--dtype", args.dtype, "--json", *args.bench_arg])
        if rc == EXIT_UNAVAILABLE:
            raise Stop(EXIT_UNAVAILABLE, "kernel-autotune runs where a GPU is: dsx kernel bench needs an NVIDIA "
                                         f"GPU with its driver and NVRTC, and says: {err}")
        try:
            doc = json.loads(out)
        except ValueError:
            raise Stop(EXIT_FAILED, f"dsx kernel bench exited {rc} without a JSON document: {err}")
        rows = doc.get("results") or []
        if rc != 0 or doc.get("status") != "ok" or not rows:
            reasons = "; ".join(doc.get("reasons") or []) or err or "no result rows"
            raise Stop(EXIT_FAILED, f"dsx kernel bench: {doc.get('status', 'failed')} (exit {rc}): {reasons}")
        if any(not isinstance(r.get("median_ms"), (int, float)) or r["median_ms"] <= 0 for r in rows):
            raise Stop(EXIT_FAILED, "dsx kernel bench: a result row has no positive median_ms")
        for row in rows:
            print(f"{args.task} {row.get('dtype')} {row.get('preset')}: {row['median_ms'] * 1000:.2f} us, "
                  f"{row.get('gbps', 0):.0f} GB/s, noise {row.get('noise_pct', 0):.2f}%"
                  + (f", flags: {'; '.join(row['flags'])}" if row.get("flags") else ""), file=sys.stderr)
        result = {"time_us": round(sum(r["median_ms"] for r in rows) * 1000, 4)}
        if len(rows) == 1:  # per-row numbers only mean something for a single row
            for key in ("gbps", "pct_peak_bw", "noise_pct", "speedup"):
                if isinstance(rows[0].get(key), (int, float)):
                    result[key] = round(rows[0][key], 4)
        print(json.dumps(result), flush=True)
        return 0
    except Stop as stop:
        print(f"autotune.py: {stop}", file=sys.stderr)
        return stop.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
