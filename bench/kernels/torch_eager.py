#!/usr/bin/env python3
"""PyTorch eager baseline for the dsx kernel tasks (issue 4).

Times the same function as kernels/<task>/task.toml in eager PyTorch, on the same preset sizes
and dtypes, the way `dsx kernel bench` times ours: CUDA events around each call, warm-up first,
the L2 cache flushed (a write of at least 2x the L2 size) before every sample, median of many
samples. Prints one JSON line per (task, preset, dtype):

  {"task": "softmax", "preset": "large", "dtype": "bf16", "median_ms": 0.21, "bytes": 268435456,
   "gbps": 1278.3, "p10_ms": ..., "p90_ms": ..., "samples": 40, "op": "F.softmax(x, dim=-1)",
   "device": "NVIDIA H100 80GB HBM3", "torch": "2.11.0"}

"bytes" is the task's [cost].bytes (the same roofline bytes the harness uses), so "gbps" compares
directly with `dsx kernel bench`. Without PyTorch or a CUDA device it says so on stderr and exits 0.

Usage:
  python3 bench/kernels/torch_eager.py --all
  python3 bench/kernels/torch_eager.py --task softmax [--preset large] [--dtype bf16]
  python3 bench/kernels/torch_eager.py --all --dry-run      # list configs and bytes, no torch

Never hangs: a watchdog thread ends the process (exit 1) past --time-limit + 60 s, and configs
that would start after --time-limit seconds (default 80) are reported as skipped. A full --all run
takes ~30-60 s on an H100.
"""

import argparse
import faulthandler
import json
import math
import pathlib
import re
import sys
import time

try:
    import tomllib  # Python 3.11+
except ImportError:  # pragma: no cover
    sys.stderr.write("torch_eager: needs Python 3.11+ (tomllib)\n")
    sys.exit(0)

ROOT = pathlib.Path(__file__).resolve().parents[2]
DTYPE_SIZES = {"f32": 4, "f64": 8, "bf16": 2, "f16": 2, "i32": 4, "i64": 8}


# ----------------------------------------------------------------------------------------------
# Expressions (docs/formats/kernel-task.md): + - * / % ( ), ceil_div/min/max/sqrt, sizeof(T|dtype).
# Integer arithmetic when both operands are integers ("/" truncates toward zero).
# ----------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\.\d+(?:[eE][-+]?\d+)?)|(\d+)|([A-Za-z_]\w*)|(.))")


def _tokens(text):
    out = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            break
        pos = m.end()
        if m.group(1):
            out.append(("num", float(m.group(1))))
        elif m.group(2):
            out.append(("num", int(m.group(2))))
        elif m.group(3):
            out.append(("name", m.group(3)))
        elif m.group(4).strip():
            out.append(("op", m.group(4)))
    return out


def _div(a, b):
    if isinstance(a, int) and isinstance(b, int):
        if b == 0:
            raise ValueError("division by zero")
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q
    return a / b


def _mod(a, b):
    if isinstance(a, int) and isinstance(b, int):
        if b == 0:
            raise ValueError("division by zero")
        return a - _div(a, b) * b
    return math.fmod(a, b)


class _Parser:
    def __init__(self, text, names, type_size):
        self.toks = _tokens(text)
        self.i = 0
        self.names = names
        self.type_size = type_size
        self.text = text

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, kind=None, value=None):
        tok = self.peek()
        if tok[0] is None or (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise ValueError(f"bad expression '{self.text}'")
        self.i += 1
        return tok

    def parse(self):
        v = self.expr()
        if self.i != len(self.toks):
            raise ValueError(f"trailing text in '{self.text}'")
        return v

    def expr(self):
        v = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            r = self.term()
            v = v + r if op == "+" else v - r
        return v

    def term(self):
        v = self.unary()
        while self.peek() in (("op", "*"), ("op", "/"), ("op", "%")):
            op = self.take()[1]
            r = self.unary()
            v = v * r if op == "*" else (_div(v, r) if op == "/" else _mod(v, r))
        return v

    def unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            return -self.unary()
        return self.primary()

    def primary(self):
        kind, val = self.peek()
        if kind == "num":
            self.take()
            return val
        if kind == "op" and val == "(":
            self.take()
            v = self.expr()
            self.take("op", ")")
            return v
        if kind == "name":
            self.take()
            if val == "sizeof":
                self.take("op", "(")
                t = self.take("name")[1]
                self.take("op", ")")
                if t == "T":
                    return self.type_size
                if t not in DTYPE_SIZES:
                    raise ValueError(f"unknown type '{t}' in '{self.text}'")
                return DTYPE_SIZES[t]
            if self.peek() == ("op", "("):
                self.take()
                args = [self.expr()]
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.expr())
                self.take("op", ")")
                if val == "ceil_div" and len(args) == 2:
                    if isinstance(args[0], int) and isinstance(args[1], int):
                        if args[1] == 0:
                            raise ValueError("division by zero")
                        return -((-args[0]) // args[1])
                    return math.ceil(args[0] / args[1])
                if val == "sqrt" and len(args) == 1:
                    if args[0] < 0:
                        raise ValueError(f"sqrt of a negative number in '{self.text}'")
                    return math.sqrt(args[0])
                if val == "min":
                    return min(args)
                if val == "max":
                    return max(args)
                raise ValueError(f"unknown function '{val}' in '{self.text}'")
            if val not in self.names:
                raise ValueError(f"unknown name '{val}' in '{self.text}'")
            return self.names[val]
        raise ValueError(f"bad expression '{self.text}'")


def evaluate(text, sizes, type_size):
    if isinstance(text, (int, float)):
        return text
    return _Parser(str(text), sizes, type_size).parse()


# ----------------------------------------------------------------------------------------------
# The eager PyTorch function for each task: takes the named inputs and scalars, returns outputs.
# ----------------------------------------------------------------------------------------------
def _ops(torch):
    F = torch.nn.functional

    def rms_norm(t, s):
        x, w = t["x"], t["w"]
        if hasattr(F, "rms_norm"):
            return F.rms_norm(x, (x.shape[-1],), w, s["eps"])
        xf = x.float()  # torch < 2.4: the usual manual form
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + s["eps"])).to(x.dtype) * w

    return {
        "vector_add": ("torch.add(a, b)", lambda t, s: torch.add(t["a"], t["b"])),
        "reduce_sum": ("torch.sum(x)", lambda t, s: torch.sum(t["x"])),
        "softmax": ("F.softmax(x, dim=-1)", lambda t, s: F.softmax(t["x"], dim=-1)),
        "rmsnorm": ("F.rms_norm(x, (COLS,), w, eps)", rms_norm),
        "layernorm": ("F.layer_norm(x, (COLS,), w, b, eps)",
                      lambda t, s: F.layer_norm(t["x"], (t["x"].shape[-1],), t["w"], t["b"], s["eps"])),
        "transpose": ("in.t().contiguous()", lambda t, s: t["in"].t().contiguous()),
        "silu_mul": ("F.silu(a) * b", lambda t, s: F.silu(t["a"]) * t["b"]),
        "matmul": ("torch.matmul(A, B) (no TF32)", lambda t, s: torch.matmul(t["A"], t["B"])),
        # Q, K, V are [B, H, S, D] as SDPA expects; torch picks its backend (FlashAttention-2 for
        # bf16 with D <= 256 on sm80+), as users of F.scaled_dot_product_attention get.
        "attention": ("F.scaled_dot_product_attention(Q, K, V, is_causal=CAUSAL, scale=scale)",
                      lambda t, s: F.scaled_dot_product_attention(t["Q"], t["K"], t["V"],
                                                                  is_causal=bool(s["causal"]), scale=s["scale"])),
    }


def load_tasks(kernels_dir):
    tasks = {}
    for toml in sorted(pathlib.Path(kernels_dir).glob("*/task.toml")):
        with open(toml, "rb") as f:
            spec = tomllib.load(f)
        tasks[spec.get("name", toml.parent.name)] = spec
    return tasks


def presets_of(spec):
    """small, medium, large first, then any other preset (attention's large_causal, ...) in file order."""
    sizes = spec.get("sizes", {})
    return [p for p in ("small", "medium", "large") if p in sizes] + \
        [p for p in sizes if p not in ("small", "medium", "large")]


def configs(tasks, task, preset, dtype):
    for name, spec in tasks.items():
        if task and name != task:
            continue
        for p in presets_of(spec):
            if preset and p != preset:
                continue
            for d in spec.get("dtypes", []):
                if dtype and d != dtype:
                    continue
                yield name, spec, p, d


def run_config(torch, ops, spec, name, preset, dtype, args):
    sizes = {k: int(v) for k, v in spec["sizes"][preset].items()}
    tsize = DTYPE_SIZES[dtype]
    nbytes = int(evaluate(spec["cost"]["bytes"], sizes, tsize))
    if name not in ops:
        return {"task": name, "preset": preset, "dtype": dtype, "skipped": "no eager PyTorch op for this task"}
    op_text, fn = ops[name]
    tdt = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16,
           "f64": torch.float64, "i32": torch.int32, "i64": torch.int64}
    gen = torch.Generator(device="cuda")
    gen.manual_seed(int.from_bytes(__import__("os").urandom(8), "little") & ((1 << 63) - 1))
    tensors, scalars = {}, {}
    for p in spec.get("params", []):
        if p.get("kind") == "scalar":
            scalars[p["name"]] = evaluate(p["value"], sizes, tsize)
            continue
        if p.get("io") != "in":
            continue
        shape = [int(evaluate(e, sizes, tsize)) for e in p.get("shape", [])]
        dt = tdt[dtype if p.get("dtype", "T") == "T" else p["dtype"]]
        if dt in (torch.int32, torch.int64):
            t = torch.randint(1, 101, shape, device="cuda", dtype=dt, generator=gen)
        else:
            init = p.get("init", "normal")
            if init == "uniform":
                t = torch.rand(shape, device="cuda", dtype=torch.float32, generator=gen) * 2 - 1
            elif init == "positive":
                t = torch.rand(shape, device="cuda", dtype=torch.float32, generator=gen) + 0.5
            else:
                t = torch.randn(shape, device="cuda", dtype=torch.float32, generator=gen)
            t = t.to(dt)
        tensors[p["name"]] = t

    props = torch.cuda.get_device_properties(0)
    l2 = int(getattr(props, "L2_cache_size", 0) or 50 * 2**20)
    flush = torch.empty(max(2 * l2, 128 * 2**20) // 4, dtype=torch.int32, device="cuda")

    for _ in range(args.warmup):
        fn(tensors, scalars)
    torch.cuda.synchronize()

    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    t_end = time.monotonic() + args.budget
    while len(times) < args.max_samples and (len(times) < args.min_samples or time.monotonic() < t_end):
        flush.fill_(len(times))  # a write of >= 2x L2: evicts the inputs (cold samples, as dsx does)
        torch.cuda.synchronize()
        start.record()
        fn(tensors, scalars)
        stop.record()
        torch.cuda.synchronize()  # device-wide: any side-stream work is counted
        times.append(start.elapsed_time(stop))
    del tensors, flush
    times.sort()
    med = times[len(times) // 2] if len(times) % 2 else 0.5 * (times[len(times) // 2 - 1] + times[len(times) // 2])
    pick = lambda q: times[min(len(times) - 1, int(q * (len(times) - 1) + 0.5))]
    row = {"task": name, "preset": preset, "dtype": dtype, "median_ms": round(med, 6), "bytes": nbytes,
           "gbps": round(nbytes / (med * 1e-3) / 1e9, 2) if med > 0 else None,
           "p10_ms": round(pick(0.1), 6), "p90_ms": round(pick(0.9), 6), "samples": len(times), "op": op_text}
    flops_expr = spec.get("cost", {}).get("flops")
    if name in ("matmul", "attention") and flops_expr:  # compute-bound tasks: TFLOP/s as dsx reports
        flops = int(evaluate(flops_expr, sizes, tsize))
        row["tflops"] = round(flops / (med * 1e-3) / 1e12, 2) if med > 0 else None
    return row


def main():
    ap = argparse.ArgumentParser(description="PyTorch eager baseline for the dsx kernel tasks")
    ap.add_argument("--all", action="store_true", help="every task, preset and dtype")
    ap.add_argument("--task")
    ap.add_argument("--preset", help="one preset (small, medium, large, or a task's own, e.g. large_causal)")
    ap.add_argument("--dtype")
    ap.add_argument("--kernels-dir", default=str(ROOT / "kernels"))
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--min-samples", type=int, default=10)
    ap.add_argument("--max-samples", type=int, default=100)
    ap.add_argument("--budget", type=float, default=0.4, help="seconds of sampling per config (after min-samples)")
    ap.add_argument("--time-limit", type=float, default=80.0, help="no config starts after this many seconds")
    ap.add_argument("--dry-run", action="store_true", help="list configs and roofline bytes; no torch needed")
    args = ap.parse_args()
    if not args.all and not args.task:
        ap.error("give --task TASK or --all")

    tasks = load_tasks(args.kernels_dir)
    if args.task and args.task not in tasks:
        sys.stderr.write(f"torch_eager: no task '{args.task}' in {args.kernels_dir}\n")
        return 3
    todo = list(configs(tasks, None if args.all else args.task, args.preset, args.dtype))
    if not todo:
        sys.stderr.write("torch_eager: nothing matches the given task/preset/dtype\n")
        return 2

    if args.dry_run:
        for name, spec, preset, dtype in todo:
            sizes = {k: int(v) for k, v in spec["sizes"][preset].items()}
            nbytes = int(evaluate(spec["cost"]["bytes"], sizes, DTYPE_SIZES[dtype]))
            print(json.dumps({"task": name, "preset": preset, "dtype": dtype, "bytes": nbytes}), flush=True)
        return 0

    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure means "no baseline here"
        sys.stderr.write(f"torch_eager: PyTorch is not available ({e.__class__.__name__}); no eager baseline\n")
        return 0
    if not torch.cuda.is_available():
        sys.stderr.write("torch_eager: no CUDA device visible to PyTorch; no eager baseline\n")
        return 0

    faulthandler.dump_traceback_later(args.time_limit + 60, exit=True)  # never hang
    torch.backends.cuda.matmul.allow_tf32 = False  # f32 matmul in f32, like our kernel
    torch.backends.cudnn.allow_tf32 = False
    ops = _ops(torch)
    device = torch.cuda.get_device_name(0)
    t0 = time.monotonic()
    for name, spec, preset, dtype in todo:
        if time.monotonic() - t0 > args.time_limit:
            row = {"task": name, "preset": preset, "dtype": dtype, "skipped": "time limit"}
        else:
            try:
                row = run_config(torch, ops, spec, name, preset, dtype, args)
            except Exception as e:  # noqa: BLE001 - report the config and go on
                row = {"task": name, "preset": preset, "dtype": dtype, "error": f"{e.__class__.__name__}: {e}"}
            torch.cuda.empty_cache()
        row["device"] = device
        row["torch"] = torch.__version__
        print(json.dumps(row), flush=True)
    faulthandler.cancel_dump_traceback_later()
    return 0


if __name__ == "__main__":
    sys.exit(main())
