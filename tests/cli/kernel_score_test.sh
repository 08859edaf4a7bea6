#!/usr/bin/env bash
# issue 19: `dsx kernel score` (fast_p from saved results) and the fast_p flags of `kernel bench`,
# on the CPU: recorded fixtures shaped like bench --json and gen run folders
# (tests/cli/fixtures/fast_p), text and --json, and every refusal with its exit code.
# Usage: kernel_score_test.sh DSX_BINARY REPO_ROOT
set -u
dsx=$1
fix=$2/tests/cli/fixtures/fast_p
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
all=("$fix/softmax.bench.json" "$fix/rmsnorm_wrong.bench.json" "$fix/matmul_rejected.bench.json"
     "$fix/multi.bench.json" "$fix/gen-layernorm" "$fix/gen-silu_mul")

# expect RC WORDS... -- ARGS: run dsx ARGS, want exit RC and every WORD on stderr (or stdout for rc 0).
expect() {
  local rc=$1; shift
  local words=()
  while [ "$1" != "--" ]; do words+=("$1"); shift; done
  shift
  "$dsx" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ $got -ne "$rc" ]; then
    echo "FAIL: dsx $* exited $got, want $rc"; cat "$tmp/err"; fail=1; return
  fi
  local where="$tmp/err"
  [ "$rc" -eq 0 ] && where="$tmp/out"
  for w in "${words[@]}"; do
    grep -qF -- "$w" "$where" || { echo "FAIL: dsx $*: no '$w' in:"; cat "$where"; fail=1; }
  done
}

# The worked example: 7 tasks, 4 correct; speedups 2.152 (softmax), 1.000 (vector_add: a tie, not
# > 1), 5.810 (transpose), 1.924 (layernorm).
expect 0 "fast_p over 7 tasks" "fast_0     0.571  (4/7" "fast_1     0.429  (3/7" "fast_2     0.286  (2/7" \
  "silu_mul" "no candidate passed verification (3 tried)" -- kernel score "${all[@]}"
"$dsx" kernel score "${all[@]}" --json --fast-p 1,2 >"$tmp/score.json" || { echo "FAIL: score --json"; fail=1; }
python3 - "$tmp/score.json" <<'PY' || fail=1
import json, sys
j = json.load(open(sys.argv[1]))
assert j["n"] == 7 and j["correct"] == 4 and j["scored"] == 4, j
assert j["baseline"] == "reference", j
assert j["fast_p"] == {"fast_1": 3 / 7, "fast_2": 2 / 7}, j["fast_p"]
assert [t["p"] for t in j["thresholds"]] == [1, 2], j["thresholds"]
speed = {t["task"]: t["speedup"] for t in j["tasks"]}
assert abs(speed["softmax"] - 2.1524) < 1e-3 and speed["vector_add"] == 1.0, speed
assert speed["rmsnorm"] is None and speed["matmul"] is None, speed
assert len(j["inputs"]) == 6, j["inputs"]
PY

# Against PyTorch eager: transpose was skipped there, so it is correct but unscored.
"$dsx" kernel score "${all[@]}" --baseline-json "$fix/torch_eager.jsonl" --fast-p 0,1,1.5 --json \
  >"$tmp/torch.json" || { echo "FAIL: score --baseline-json"; fail=1; }
python3 - "$tmp/torch.json" <<'PY' || fail=1
import json, sys
j = json.load(open(sys.argv[1]))
assert j["baseline"] == "torch_eager" and j["scored"] == 3, j
assert j["fast_p"] == {"fast_0": 3 / 7, "fast_1": 3 / 7, "fast_1.5": 1 / 7}, j["fast_p"]
note = {t["task"]: t["note"] for t in j["tasks"]}
assert note["transpose"] == "f32/large: PyTorch eager skipped: time limit", note
PY
expect 0 "baseline: PyTorch eager" -- kernel score "$fix/softmax.bench.json" --baseline-json "$fix/torch_eager.jsonl"

# A multi-task bench document's own fast_p is what score computes from it.
"$dsx" kernel score "$fix/multi.bench.json" --json >"$tmp/multi.json"
python3 - "$fix/multi.bench.json" "$tmp/multi.json" <<'PY' || fail=1
import json, sys
doc, score = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
score.pop("inputs")
assert doc["fast_p"] == score, (doc["fast_p"], score)
PY

# Refusals: malformed, missing, duplicated, oversized, bad thresholds.
printf '{"task": "t", "status": "ok", "results": [{"status": "ok", "dtype": "f32", "preset": "large", "candidate": {"cold": {"median_ms": "fast"}}}]}' >"$tmp/bad.json"
expect 2 "bad.json': results[0].candidate.cold.median_ms: want a number, got string" -- kernel score "$tmp/bad.json"
printf '[' >"$tmp/trunc.json"
expect 2 "trunc.json': invalid JSON" -- kernel score "$tmp/trunc.json"
printf '{"hello": 1}' >"$tmp/other.json"
expect 2 "not a dsx kernel bench or gen document" -- kernel score "$tmp/other.json"
expect 3 "no results at" -- kernel score "$tmp/missing.json"
mkdir "$tmp/emptydir"
expect 2 "without leaderboard.json" -- kernel score "$tmp/emptydir"
expect 2 "'softmax' appears twice" -- kernel score "$fix/softmax.bench.json" "$fix/softmax.bench.json"
truncate -s 70M "$tmp/huge.json"  # sparse: refused after 64 MiB are read, never parsed
expect 2 "larger than" -- kernel score "$tmp/huge.json"
python3 -c 'print("[" * 200000 + "]" * 200000)' >"$tmp/deep.json"
expect 2 "nested deeper" -- kernel score "$tmp/deep.json"
for p in "1,x" "-1" "1,1" "" "nan"; do
  expect 2 "--fast-p" -- kernel score "$fix/softmax.bench.json" --fast-p "$p"
done
printf '{"task": "softmax", "preset": "large", "dtype": "f32", "bytes": 10}\n' >"$tmp/dry.jsonl"
expect 2 "--baseline-json: " "line 1: no \"median_ms\"" -- kernel score "$fix/softmax.bench.json" --baseline-json "$tmp/dry.jsonl"
expect 3 "" -- kernel score "$fix/softmax.bench.json" --baseline-json "$tmp/nope.jsonl"
expect 2 "RESULTS is required" -- kernel score

# bench: refused before any GPU work (these hold with or without a device).
expect 2 "give one or more TASKs, or --all" -- kernel bench
expect 2 "give one or more TASKs, or --all" -- kernel bench softmax --all
expect 2 "--impl names one task's kernel" -- kernel bench softmax rmsnorm --impl "$tmp/x.cu"
expect 3 "unknown task 'no_such_task'" -- kernel bench softmax no_such_task
expect 2 "--baseline-json: " -- kernel bench softmax rmsnorm --baseline-json "$tmp/dry.jsonl"
expect 2 "--fast-p" -- kernel bench softmax --fast-p 2,2
expect 2 "task 'softmax' given twice" -- kernel bench softmax "$2/kernels/softmax"
expect 2 "task 'transpose' has no dtype 'bf16'" -- kernel bench softmax transpose --dtype bf16
expect 2 "no task has the given --sizes and --dtype" "leaving out 'softmax' (no dtype 'f64')" -- kernel bench --all --dtype f64
expect 2 "--fast-p" -- kernel gen softmax --provider template --compile-only --fast-p x --out "$tmp/never"
[ -e "$tmp/never" ] && { echo "FAIL: gen made a run folder before refusing --fast-p"; fail=1; }

# gen over several tasks (compile-only: no GPU): one run folder per task under --out, then the
# set's fast_p; the run folders score the same offline. Nothing was verified, so every fast_p is 0.
skill=$2/skills/cuda-kernels
if ! { ldconfig -p 2>/dev/null | grep -q libnvrtc; } && [ -z "${DSX_NVRTC_LIBRARY:-}" ]; then
  echo "note: no NVRTC: the two-task gen check is not run"
else
"$dsx" kernel gen vector_add rmsnorm --skill "$skill" --provider template --compile-only --out "$tmp/gen" \
  --json --quiet >"$tmp/gen.json" 2>"$tmp/gen.err" || { echo "FAIL: gen over two tasks"; cat "$tmp/gen.err"; fail=1; }
"$dsx" kernel score "$tmp/gen/vector_add" "$tmp/gen/rmsnorm" --json >"$tmp/gen-score.json" ||
  { echo "FAIL: score of the gen run folders"; fail=1; }
python3 - "$tmp/gen.json" "$tmp/gen-score.json" <<'PY' || fail=1
import json, sys
j, score = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert [r["task"] for r in j["runs"]] == ["vector_add", "rmsnorm"], j["runs"]
assert all(r["fast_p"]["n"] == 1 for r in j["runs"]), j["runs"]
fp = j["fast_p"]
assert fp["n"] == 2 and fp["correct"] == 0 and set(fp["fast_p"].values()) == {0.0}, fp
assert all("compile-only" in t["note"] for t in fp["tasks"]), fp["tasks"]
score.pop("inputs")
assert score == fp, (score, fp)
PY
fi
expect 2 "task 'vector_add' given twice" -- kernel gen vector_add vector_add --skill "$skill" --provider template \
  --compile-only --out "$tmp/gen2"
expect 3 "unknown task 'no_such_task'" -- kernel gen vector_add no_such_task --skill "$skill" --provider template \
  --compile-only --out "$tmp/gen3"
[ -e "$tmp/gen2" ] || [ -e "$tmp/gen3" ] && { echo "FAIL: gen made a run folder before refusing a task"; fail=1; }

[ $fail -eq 0 ] && echo "kernel score: ok"
exit $fail
