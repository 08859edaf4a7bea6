#!/usr/bin/env python3
"""Runs an exported project's Python wrapper (torch-ext/<op>/__init__.py) without torch.

    python3 tests/kernels/export/wrapper_check.py PROJECT_DIR TASK_DIR

A stand-in `torch` (shapes, dtypes, torch.empty) and `_ops` (records the call) let the wrapper run
here: for every (dtype, preset) of the task it must allocate each output with the shape the task's
expressions give (evaluated by bench/kernels/torch_eager.py, the Python twin of dsx's evaluator)
and the right dtype, call ops.<op> once with outputs, inputs, size arguments and scalar defaults
in the schema's order, and return the output(s); an input of the wrong rank is refused with a
ValueError naming the op. What it cannot check: the op itself (scripts/gpu-check does, on a GPU).
"""

import importlib.util
import json
import pathlib
import sys
import tomllib
import types

ROOT = pathlib.Path(__file__).resolve().parents[3]


def fake_torch():
    torch = types.ModuleType("torch")

    class DType:
        def __init__(self, name):
            self.name = name

        def __repr__(self):
            return "torch." + self.name

    for n in ("float32", "float64", "bfloat16", "float16", "int32", "int64"):
        setattr(torch, n, DType(n))

    class Tensor:
        def __init__(self, shape, dtype, device="cuda:0"):
            self.shape, self.dtype, self.device = tuple(shape), dtype, device

        def dim(self):
            return len(self.shape)

    torch.dtype, torch.Tensor = DType, Tensor
    torch.empty = lambda shape, dtype=None, device=None: Tensor(shape, dtype, device)
    return torch


def main():
    proj, tdir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    man = json.loads((proj / "dsx-export.json").read_text())
    spec = tomllib.loads((tdir / "task.toml").read_text())
    sys.path.insert(0, str(ROOT / "bench" / "kernels"))
    import torch_eager  # noqa: E402  the expression evaluator

    torch = fake_torch()
    sys.modules["torch"] = torch
    calls = []
    ops_mod = types.ModuleType("fake_ops")

    class Ops:
        def __getattr__(self, name):
            return lambda *a: calls.append((name, a))

    ops_mod.ops = Ops()
    op = man["op"]
    pkg = "dsx_wrapped_" + op
    sys.modules[pkg + "._ops"] = ops_mod
    s = importlib.util.spec_from_file_location(pkg, proj / "torch-ext" / op / "__init__.py",
                                               submodule_search_locations=[str(proj / "torch-ext" / op)])
    mod = importlib.util.module_from_spec(s)
    sys.modules[pkg] = mod
    s.loader.exec_module(mod)
    fn = getattr(mod, op)
    tdt = {d: getattr(torch, n) for d, n in (("f32", "float32"), ("f64", "float64"), ("bf16", "bfloat16"),
                                              ("f16", "float16"), ("i32", "int32"), ("i64", "int64"))}
    params = {p["name"]: p for p in spec["params"]}
    checked = 0
    for dtype in spec["dtypes"]:
        tsize = {"f32": 4, "f64": 8, "bf16": 2, "f16": 2, "i32": 4, "i64": 8}[dtype]
        for preset, sizes in spec["sizes"].items():
            sizes = {k: int(v) for k, v in sizes.items()}
            shape = lambda p: tuple(int(torch_eager.evaluate(e, sizes, tsize)) for e in p["shape"])
            dt = lambda p: tdt[dtype if p.get("dtype", "T") == "T" else p["dtype"]]
            ins, sargs, want = [], [], []
            for a in man["args"]:
                p = params.get(a.get("param", ""))
                if a["role"] == "in":
                    ins.append(torch.Tensor(shape(p), dt(p)))
            for a in man["args"]:
                if a["role"] == "size":
                    sargs.append(sizes[a["name"]])
            calls.clear()
            ret = fn(*ins, *sargs)
            where = "%s %s/%s" % (op, dtype, preset)
            assert len(calls) == 1 and calls[0][0] == op, "%s: calls %r" % (where, calls)
            got = list(calls[0][1])
            outs = [a for a in man["args"] if a["role"] == "out"]
            for a, g in zip(outs, got):
                p = params[a["param"]]
                assert g.shape == shape(p), "%s: %s has shape %s, want %s" % (where, a["name"], g.shape, shape(p))
                assert g.dtype is dt(p), "%s: %s has dtype %r, want %r" % (where, a["name"], g.dtype, dt(p))
            rest = got[len(outs):]
            assert rest[:len(ins)] == ins, "%s: inputs not passed in order" % where
            rest = rest[len(ins):]
            assert rest[:len(sargs)] == sargs, "%s: size arguments %r, want %r" % (where, rest, sargs)
            defaults = [float(a["default"]) for a in man["args"] if a["role"] == "scalar"]
            assert [float(x) for x in rest[len(sargs):]] == defaults, "%s: scalar defaults %r" % (where, rest)
            single = got[0] if len(outs) == 1 else tuple(got[:len(outs)])
            assert ret is single or ret == single, "%s: does not return its output(s)" % where
            checked += 1
    if ins:
        bad = list(ins)
        bad[0] = torch.Tensor(ins[0].shape + (1,), ins[0].dtype)
        try:
            fn(*bad, *sargs)
            raise AssertionError("%s: an input of the wrong rank was accepted" % op)
        except ValueError as e:
            assert op in str(e), str(e)
    print("wrapper_check: %s: %d (dtype, preset) calls as the schema says" % (op, checked))


if __name__ == "__main__":
    main()
