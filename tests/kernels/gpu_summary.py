#!/usr/bin/env python3
"""gpu_summary.py OUTDIR: the Markdown report of scripts/gpu-check (stdout).

Reads OUTDIR/{device.json, peaks.json, bench/*.json, torch.jsonl, cache-hit.txt, steps.tsv,
gpu-tests/summary.json}. Standard library only (the GPU machine has no network)."""
import glob
import json
import os
import sys


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception:
        return default


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    out = sys.argv[1]
    dev = load(os.path.join(out, "device.json"), {}) or {}
    peaks = load(os.path.join(out, "peaks.json"), {}) or {}
    measured = peaks.get("measured_peaks") if isinstance(peaks, dict) else None
    copy = (measured or {}).get("copy_gbps")
    torch = {}
    try:
        with open(os.path.join(out, "torch.jsonl")) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                torch[(r.get("task"), r.get("dtype"), r.get("preset"))] = r
    except OSError:
        pass

    print("# dsx gpu-check")
    print()
    print("- device: %s (%s), driver %s, %s SMs, L2 %.0f MiB" % (
        dev.get("name", "?"), dev.get("arch", "?"), dev.get("driver_version", "?"),
        dev.get("sm_count", "?"), (dev.get("l2_bytes") or 0) / 1048576))
    print("- theoretical DRAM peak: %s GB/s; measured copy: %s GB/s (memcpy %s, kernel %s); tiled sgemm %s TFLOP/s" % (
        fmt(dev.get("peak_gbps"), ".0f"), fmt(copy, ".0f"), fmt((measured or {}).get("copy_gbps_memcpy"), ".0f"),
        fmt((measured or {}).get("copy_gbps_kernel"), ".0f"), fmt((measured or {}).get("sgemm_tiled_tflops"), ".1f")))
    print("- theoretical flop peaks (spec sheet x max SM clock): tensor bf16/f16 dense %s TFLOP/s, FP32 %s TFLOP/s" % (
        fmt(dev.get("peak_tflops_tensor16"), ".0f"), fmt(dev.get("peak_tflops_fp32"), ".1f")))
    try:
        print("- compile cache: " + open(os.path.join(out, "cache-hit.txt")).read().strip())
    except OSError:
        print("- compile cache: not measured")
    gt = load(os.path.join(out, "gpu-tests", "summary.json"))
    print("- GPU tests + cheat suite: %s" % ("%d passed, %d failed" % (gt["passed"], gt["failed"]) if gt else "not run"))
    print()
    print("| task | dtype | preset | ours ms | GB/s | % of copy BW | TFLOP/s | % of flop peak | speedup vs ref | torch ms | torch/ours | verified? |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    rows = 0
    for path in sorted(glob.glob(os.path.join(out, "bench", "*.json"))):
        doc = load(path)
        task = doc.get("task") if isinstance(doc, dict) and doc.get("task") else os.path.basename(path)[:-5]
        if not isinstance(doc, dict):
            err = ""
            try:
                err = open(path[:-5] + ".err").read().strip().splitlines()[-1]
            except (OSError, IndexError):
                pass
            print("| %s | - | - | - | - | - | - | - | - | - | - | no result: %s |" % (task, err.replace("|", "/")[:120]))
            continue
        if not doc.get("results"):
            print("| %s | - | - | - | - | - | - | - | - | - | - | %s: %s |" % (
                task, doc.get("status"), "; ".join(doc.get("reasons", []))[:120].replace("|", "/")))
        for r in doc.get("results", []):
            rows += 1
            ms = r.get("median_ms")
            gbps = r.get("gbps")
            pct = 100.0 * gbps / copy if (gbps and copy) else None
            t = torch.get((task, r.get("dtype"), r.get("preset")))
            tms = t.get("median_ms") if t else None
            ratio = tms / ms if (tms and ms) else None
            # % of the flop ceiling for the dtype: tensor cores for 16-bit (bench.cpp FlopCeiling).
            t16, f32p = dev.get("peak_tflops_tensor16") or 0, dev.get("peak_tflops_fp32") or 0
            ceil = max(t16, f32p) if r.get("dtype") in ("bf16", "f16") else f32p
            fpct = 100.0 * r["tflops"] / ceil if (r.get("tflops") and ceil) else None
            status = r.get("status", "?")
            ver = "yes" if status == "ok" else "%s: %s" % (status, "; ".join(r.get("reasons", []))[:100])
            if r.get("flagged"):
                ver += " (flagged)"
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                task, r.get("dtype"), r.get("preset"), fmt(ms, ".4f"), fmt(gbps, ".0f"), fmt(pct, ".1f"),
                fmt(r.get("tflops"), ".2f"), fmt(fpct, ".1f"), fmt(r.get("speedup"), ".2f"), fmt(tms, ".4f"), fmt(ratio, ".2f"),
                ver.replace("|", "/")))
    print()
    print("ours: cold median (L2 flushed before every call, fresh inputs per call, device-wide sync before the stop event).")
    print("torch/ours > 1 means we are faster than PyTorch eager.")
    print()
    print("## steps")
    print()
    try:
        lines = open(os.path.join(out, "steps.tsv")).read().strip().splitlines()
        print("| step | status | seconds | note |")
        print("|---|---|---:|---|")
        for line in lines[1:]:
            print("| " + " | ".join(line.split("\t")) + " |")
    except OSError:
        pass


if __name__ == "__main__":
    main()
