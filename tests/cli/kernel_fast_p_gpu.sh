#!/usr/bin/env bash
# issue 19, GPU part of fast_p: on a machine with a CUDA device, checks that
#   1. `dsx kernel bench --all --json` reports one fast_p entry per task, "correct" exactly where the
#      task's document says "ok", and speedups equal to the reference/candidate cold medians;
#   2. `dsx kernel score` of the saved document gives the same fast_p (offline == live);
#   3. with PyTorch, `--baseline-json` (torch_eager.py's output) compares cold medians: every scored
#      speedup equals torch median / our cold median, recomputed here independently;
#   4. a `kernel gen` template run's leaderboard fast_p equals `dsx kernel score RUN_DIR`.
# Prints the fast_p tables (for bench/results). Exit 77 (skipped) without a device.
# Usage: kernel_fast_p_gpu.sh DSX_BINARY REPO_ROOT [OUT_DIR]   (env: FAST_P_SIZES, default medium)
set -u
dsx=$1
root=$2
out=${3:-$(mktemp -d)}
sizes=${FAST_P_SIZES:-medium}
mkdir -p "$out"
fail=0
"$dsx" kernel device --json >"$out/device.json" 2>"$out/device.err"
rc=$?
if [ $rc -eq 5 ]; then echo "SKIP: no CUDA device ($(head -1 "$out/device.err"))"; exit 77; fi
[ $rc -eq 0 ] || { echo "FAIL: kernel device exited $rc"; exit 1; }

# 1. Every task's optimized kernel, one document (exit 1 is allowed: a task may fail, fast_p says so).
timeout 900 "$dsx" kernel bench --all --sizes "$sizes" --json >"$out/bench-all.json" 2>"$out/bench-all.err"
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 1 ] || { echo "FAIL: bench --all exited $rc"; tail -5 "$out/bench-all.err"; exit 1; }
python3 - "$out/bench-all.json" <<'PY' || fail=1
import json, math, sys
doc = json.load(open(sys.argv[1]))
fp = doc["fast_p"]
tasks = doc["tasks"]
assert fp["n"] == len(tasks) > 0, (fp["n"], len(tasks))
assert fp["baseline"] == "reference", fp["baseline"]
by = {t["task"]: t for t in fp["tasks"]}
for d in tasks:
    s = by[d["task"]]
    assert s["correct"] == (d["status"] == "ok"), (d["task"], d["status"], s)
    if not s["correct"]:
        continue
    logs = [math.log(r["reference"]["cold"]["median_ms"] / r["candidate"]["cold"]["median_ms"]) for r in d["results"]]
    want = math.exp(sum(logs) / len(logs))
    assert abs(s["speedup"] - want) <= 1e-9 * want, (d["task"], s["speedup"], want)
    for r in d["results"]:  # the row's own speedup is the same ratio
        assert abs(r["speedup"] - r["reference"]["cold"]["median_ms"] / r["candidate"]["cold"]["median_ms"]) < 1e-9
failed = sorted(d["task"] for d in tasks if d["status"] != "ok")
assert doc["failed_tasks"] == [d["task"] for d in tasks if d["status"] != "ok"], doc["failed_tasks"]
assert doc["status"] == ("ok" if not failed else "failed")
for t in fp["thresholds"]:
    n = sum(1 for s in fp["tasks"] if s["speedup"] is not None and s["speedup"] > t["p"])
    assert t["count"] == n and abs(t["fraction"] - n / fp["n"]) < 1e-12, t
print("bench --all: %d tasks, %d correct, fast_p %s" % (fp["n"], fp["correct"], fp["fast_p"]))
PY

# 2. Offline scoring of the saved document gives the same numbers.
"$dsx" kernel score "$out/bench-all.json" --json >"$out/score.json" || { echo "FAIL: score of bench-all.json"; fail=1; }
python3 - "$out/bench-all.json" "$out/score.json" <<'PY' || fail=1
import json, sys
live, offline = json.load(open(sys.argv[1]))["fast_p"], json.load(open(sys.argv[2]))
offline.pop("inputs")
assert live == offline, (live, offline)
PY
"$dsx" kernel score "$out/bench-all.json" | tee "$out/fast_p-reference.txt"

# 3. Against PyTorch eager, when PyTorch sees the device.
python3 "$root/bench/kernels/torch_eager.py" --all --preset "$sizes" >"$out/torch_eager.jsonl" 2>"$out/torch.err"
if [ -s "$out/torch_eager.jsonl" ]; then
  "$dsx" kernel score "$out/bench-all.json" --baseline-json "$out/torch_eager.jsonl" --json >"$out/score-torch.json" ||
    { echo "FAIL: score --baseline-json"; cat "$out/torch.err"; fail=1; }
  python3 - "$out/bench-all.json" "$out/torch_eager.jsonl" "$out/score-torch.json" <<'PY' || fail=1
import json, math, sys
docs = {d["task"]: d for d in json.load(open(sys.argv[1]))["tasks"]}
torch = {}
for line in open(sys.argv[2]):
    if line.strip():
        r = json.loads(line)
        if "median_ms" in r:
            torch[(r["task"], r["dtype"], r["preset"])] = r["median_ms"]
score = json.load(open(sys.argv[3]))
assert score["baseline"] == "torch_eager"
for s in score["tasks"]:
    d = docs[s["task"]]
    if s["speedup"] is None:
        assert not s["correct"] or s["note"], s
        continue
    logs = [math.log(torch[(s["task"], r["dtype"], r["preset"])] / r["candidate"]["cold"]["median_ms"])
            for r in d["results"]]
    want = math.exp(sum(logs) / len(logs))
    assert abs(s["speedup"] - want) <= 1e-9 * want, (s, want)
print("torch eager: %d of %d tasks scored, fast_p %s" % (score["scored"], score["n"], score["fast_p"]))
PY
  "$dsx" kernel score "$out/bench-all.json" --baseline-json "$out/torch_eager.jsonl" | tee "$out/fast_p-torch.txt"
else
  echo "note: no PyTorch eager baseline here ($(head -1 "$out/torch.err")); step 3 not run"
fi

# 4. A gen run (the skill's template grid, one task) and its folder scored offline.
skill=$root/skills/cuda-kernels
timeout 600 "$dsx" kernel gen vector_add --skill "$skill" --provider template --bench-arg=--sizes="$sizes" \
  --out "$out/gen-vector_add" --json --quiet >"$out/gen.json" 2>"$out/gen.err"
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 1 ] || { echo "FAIL: gen exited $rc"; tail -5 "$out/gen.err"; fail=1; }
"$dsx" kernel score "$out/gen-vector_add" --json >"$out/gen-score.json" || { echo "FAIL: score of the gen run"; fail=1; }
python3 - "$out/gen.json" "$out/gen-score.json" <<'PY' || fail=1
import json, sys
board, score = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
score.pop("inputs")
live = board["fast_p"]
assert live["n"] == 1 and live["fast_p"] == score["fast_p"], (live, score)
assert abs((live["tasks"][0]["speedup"] or 0) - (score["tasks"][0]["speedup"] or 0)) < 1e-9, (live, score)
print("gen vector_add: best %s, fast_p %s" % (board["best"], live["fast_p"]))
PY

[ $fail -eq 0 ] && echo "kernel fast_p (GPU): ok"
exit $fail
