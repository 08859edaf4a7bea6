#!/usr/bin/env python3
"""Builds `dsx kernel export` projects with torch and calls them from Python (issue 19; GPU side).

    python3 tests/kernels/export/gpu_export_check.py DSX OUTDIR [--tasks rmsnorm,matmul] [--presets small]

For each task: `dsx kernel export TASK` (the task's optimized kernel; with --results
OUTDIR/../bench/TASK-<preset>.json when gpu-check's bench step left one that verified), then
builds the exported sources with torch.utils.cpp_extension.load (kernel-builder's nix build
cannot run offline; a local registration.h stands in for kernel-builder's and _ops.py for the one
it generates), imports torch-ext/<op>/__init__.py as a package and calls it on inputs made the
way dsx makes them (the task's presets, shapes and init distributions: normal, uniform in -1..1,
positive in 0.5..1.5, integers 1..100). The output is compared in float64 with eager PyTorch
(bench/kernels/torch_eager.py's op for the task) by relative L2 error against the task's
tolerance; for a task with no eager op, with the task's own reference kernel, exported and built
the same way. It also checks that a wrong dtype and a non-contiguous input are refused with a
message naming the op.

Exit: 0 all passed, 1 something failed, 77 skipped (no torch, no CUDA device, no nvcc/ninja).
Writes OUTDIR/export-check.jsonl (one line per check) and prints a summary.
"""

import argparse
import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import types

HERE = pathlib.Path(__file__).resolve().parent
SKIP = 77

# kernel-builder's registration.h (the same macros), for a build outside kernel-builder.
REGISTRATION_H = """#pragma once
#include <Python.h>
#define _CONCAT(A, B) A##B
#define CONCAT(A, B) _CONCAT(A, B)
#define _STRINGIFY(A) #A
#define STRINGIFY(A) _STRINGIFY(A)
#define TORCH_LIBRARY_EXPAND(NAME, MODULE) TORCH_LIBRARY(NAME, MODULE)
#define REGISTER_EXTENSION(NAME)                                               \\
  PyMODINIT_FUNC CONCAT(PyInit_, NAME)() {                                     \\
    static struct PyModuleDef module = {PyModuleDef_HEAD_INIT,                 \\
                                        STRINGIFY(NAME), nullptr, 0, nullptr}; \\
    return PyModule_Create(&module);                                           \\
  }
"""


def skip(msg):
    print("gpu_export_check: SKIPPED: " + msg)
    sys.exit(SKIP)


def find_eager(kernels_dir):
    for cand in (os.environ.get("DSX_BENCH_KERNELS"), kernels_dir.parent / "bench" / "kernels",
                 HERE.parents[2] / "bench" / "kernels"):
        if cand and (pathlib.Path(cand) / "torch_eager.py").exists():
            spec = importlib.util.spec_from_file_location("torch_eager", pathlib.Path(cand) / "torch_eager.py")
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            return mod
    return None


def export(dsx, task, out, impl=None, name=None, results=None):
    cmd = [dsx, "kernel", "export", task, "--out", str(out), "--force", "--json"]
    if impl:
        cmd += ["--impl", str(impl)]
    if name:
        cmd += ["--name", name]
    if results:
        cmd += ["--results", str(results)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("dsx kernel export failed (exit %d): %s" % (r.returncode, r.stderr.strip()))
    return json.loads(r.stdout)


def build(torch, project, tag):
    """cpp_extension.load over the exported sources; returns the imported wrapper package."""
    from torch.utils import cpp_extension
    import tomllib
    man = json.loads((project / "dsx-export.json").read_text())
    op = man["op"]
    conf = tomllib.loads((project / "build.toml").read_text())
    kern = conf["kernel"][op]
    shim = project / "_shim"
    shim.mkdir(exist_ok=True)
    (shim / "registration.h").write_text(REGISTRATION_H)
    ext = "dsx_export_%s_%s" % (op, tag)
    srcs = [str(project / s) for s in conf["torch"]["src"] + kern["src"] if s.endswith((".cpp", ".cu"))]
    bdir = project / "_build"
    bdir.mkdir(exist_ok=True)
    cpp_extension.load(name=ext, sources=srcs, extra_include_paths=[str(shim), str(project / (op + "_cuda")),
                                                                   str(project / "torch-ext")],
                       extra_cflags=["-O2", "-std=c++17"],
                       extra_cuda_cflags=["-O3", "-std=c++17"] + kern.get("cuda-flags", []),
                       build_directory=str(bdir), is_python_module=False, verbose=False)
    # The package as kernels.get_kernel would see it: torch-ext/<op>/ plus the generated _ops.py.
    pkg = project / "_pkg" / op
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text((project / "torch-ext" / op / "__init__.py").read_text())
    (pkg / "_ops.py").write_text("import torch\nops = torch.ops.%s\n\n\ndef add_op_namespace_prefix(op_name):\n"
                                 "    return '%s::' + op_name\n" % (ext, ext))
    name = "dsx_pkg_%s_%s" % (op, tag)
    spec = importlib.util.spec_from_file_location(name, pkg / "__init__.py", submodule_search_locations=[str(pkg)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return getattr(mod, op), man


def make_inputs(torch, spec, man, sizes, dtype, tsize, evaluate):
    tdt = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16, "f64": torch.float64,
           "i32": torch.int32, "i64": torch.int64}
    params = {p["name"]: p for p in spec["params"]}
    tensors, args = {}, []
    for a in man["args"]:
        if a["role"] == "in":
            p = params[a["param"]]
            shape = [int(evaluate(e, sizes, tsize)) for e in p["shape"]]
            dt = tdt[dtype if p.get("dtype", "T") == "T" else p["dtype"]]
            if dt in (torch.int32, torch.int64):
                t = torch.randint(1, 101, shape, device="cuda", dtype=dt)
            else:
                init = p.get("init", "normal")
                t = torch.rand(shape, device="cuda") * 2 - 1 if init == "uniform" else \
                    torch.rand(shape, device="cuda") + 0.5 if init == "positive" else torch.randn(shape, device="cuda")
                t = t.to(dt)
            tensors[p["name"]] = t
            args.append(t)
        elif a["role"] == "size":
            args.append(int(sizes[a["name"]]))
    return tensors, args


def rel_l2(torch, out, ref):
    o, r = out.double().flatten(), ref.double().flatten()
    return float(torch.linalg.vector_norm(o - r) / max(float(torch.linalg.vector_norm(r)), 1e-300))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dsx")
    ap.add_argument("outdir")
    ap.add_argument("--tasks", default=os.environ.get("DSX_EXPORT_TASKS", "rmsnorm,matmul,attention"))
    ap.add_argument("--presets", default="small")
    args = ap.parse_args()
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        skip("torch does not import (%s)" % e)
    if not torch.cuda.is_available():
        skip("torch sees no CUDA device")
    from torch.utils import cpp_extension
    if not cpp_extension.CUDA_HOME or not pathlib.Path(cpp_extension.CUDA_HOME, "bin", "nvcc").exists():
        skip("no CUDA toolkit with nvcc for torch.utils.cpp_extension (CUDA_HOME=%s)" % cpp_extension.CUDA_HOME)
    try:
        cpp_extension.verify_ninja_availability()
    except Exception:  # noqa: BLE001
        skip("ninja is not installed (torch.utils.cpp_extension.load needs it)")
    cc = torch.cuda.get_device_capability()
    os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "%d.%d" % cc)  # build for this device only: faster
    kernels = pathlib.Path(os.environ.get("DSX_KERNELS_DIR", HERE.parents[2] / "kernels"))
    eager = find_eager(kernels)
    ops = eager._ops(torch) if eager else {}
    out = pathlib.Path(args.outdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "export-check.jsonl", "w")
    failed = 0

    def record(**row):
        nonlocal failed
        failed += row.get("status") != "ok"
        log.write(json.dumps(row) + "\n")
        log.flush()
        print("%-10s %-28s %s %s" % (row.get("task"), row.get("check"), row.get("status"), row.get("detail", "")))

    import tomllib
    for task in [t for t in args.tasks.split(",") if t]:
        tdir = kernels / task
        if not (tdir / "task.toml").exists():
            record(task=task, check="task", status="skipped", detail="no such task in %s" % kernels)
            failed -= 1
            continue
        spec = tomllib.loads((tdir / "task.toml").read_text())
        t0 = time.monotonic()
        try:
            bench = out.parent / "bench" / ("%s-medium.json" % task)
            results = bench if bench.exists() and json.loads(bench.read_text() or "{}").get("status") == "ok" else None
            rep = export(args.dsx, task, out / task, results=results)
            fn, man = build(torch, out / task, "opt")
            record(task=task, check="export+build", status="ok", detail="%.0fs, measured=%s" %
                   (time.monotonic() - t0, rep["measured"]))
        except Exception as e:  # noqa: BLE001
            record(task=task, check="export+build", status="failed", detail=str(e)[-3000:])
            continue
        ref_fn = None
        if task not in ops:  # no eager op: the task's own reference kernel, exported the same way
            try:
                export(args.dsx, task, out / (task + "-ref"), impl=tdir / spec["impl"]["reference"]["file"],
                       name=task.replace("_", "-") + "-ref")
                ref_fn, _ = build(torch, out / (task + "-ref"), "ref")
            except Exception as e:  # noqa: BLE001
                record(task=task, check="reference build", status="failed", detail=str(e)[-3000:])
                continue
        for preset in [p for p in args.presets.split(",") if p in spec["sizes"]]:
            sizes = {k: int(v) for k, v in spec["sizes"][preset].items()}
            for dtype in spec["dtypes"]:
                tsize = {"f32": 4, "f64": 8, "bf16": 2, "f16": 2, "i32": 4, "i64": 8}[dtype]
                check = "%s/%s" % (dtype, preset)
                try:
                    tensors, call = make_inputs(torch, spec, man, sizes, dtype, tsize, eager.evaluate)
                    got = fn(*call)
                    torch.cuda.synchronize()
                    got = got if isinstance(got, tuple) else (got,)
                    if ref_fn is not None:
                        want = ref_fn(*call)
                        want = want if isinstance(want, tuple) else (want,)
                        against = "dsx reference kernel"
                    else:
                        scalars = {}
                        for p in spec["params"]:
                            if p.get("kind") == "scalar":
                                scalars[p["name"]] = eager.evaluate(p["value"], sizes, tsize)
                        f64 = {k: (v.double() if v.is_floating_point() else v) for k, v in tensors.items()}
                        want = ops[task][1](f64, scalars)
                        want = want if isinstance(want, tuple) else (want,)
                        against = "torch " + ops[task][0]
                    tol = float(spec["tolerance"][dtype])
                    errs = [rel_l2(torch, g, w) for g, w in zip(got, want)]
                    ok = all(e <= tol for e in errs) and all(g.shape == w.shape for g, w in zip(got, want))
                    record(task=task, check=check, status="ok" if ok else "wrong",
                           detail="rel L2 %s vs %s (tolerance %g)" % (", ".join("%.2e" % e for e in errs), against, tol))
                except Exception as e:  # noqa: BLE001
                    record(task=task, check=check, status="failed", detail=str(e)[-2000:])
        # Refusals: a float64 input (no dsx-verified variant) and a non-contiguous one.
        try:
            dtype = spec["dtypes"][0]
            tsize = {"f32": 4, "f64": 8, "bf16": 2, "f16": 2, "i32": 4, "i64": 8}[dtype]
            small = {k: int(v) for k, v in spec["sizes"]["small"].items()}
            _, call = make_inputs(torch, spec, man, small, dtype, tsize, eager.evaluate)
            first = next(i for i, a in enumerate(call) if hasattr(a, "dim"))
            for what, bad in (("float64 input", call[first].double()),
                              ("non-contiguous input", call[first].t() if call[first].dim() == 2 else None)):
                if bad is None:
                    continue
                c2 = list(call)
                c2[first] = bad
                try:
                    fn(*c2)
                    torch.cuda.synchronize()
                    record(task=task, check="refuses " + what, status="failed", detail="accepted")
                except (RuntimeError, ValueError) as e:
                    ok = man["op"] in str(e)
                    record(task=task, check="refuses " + what, status="ok" if ok else "failed",
                           detail=re.sub(r"\s+", " ", str(e))[:200])
        except Exception as e:  # noqa: BLE001
            record(task=task, check="refusals", status="failed", detail=str(e)[-1000:])
    log.close()
    print("gpu_export_check: %s" % ("all passed" if failed == 0 else "%d check(s) failed" % failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
