#!/usr/bin/env bash
# issue 18: `dsx kernel gen` without a GPU fails once, before it creates anything (exit 5, one
# line, no empty leaderboard, no run folder); run folders of runs started together differ; with
# --session the run publishes progress (candidates), the metric best_speedup and the leaderboard
# table as session events next to its gen.* events; --quiet drops the progress lines.
# Usage: kernel_gen_test.sh DSX REPO_ROOT. Parts that need NVRTC are skipped without it.
set -u
dsx=$(realpath "$1")
repo=$(realpath "$2")
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0
task=$repo/kernels/vector_add
skill=$repo/skills/cuda-kernels
cd "$tmp" || exit 1

# 1. No GPU: one clear error, exit 5 (unavailable, man dsx), nothing created.
if "$dsx" kernel device >/dev/null 2>&1; then
  echo "note: a GPU is present; the no-GPU case is not checked here"
else
  "$dsx" kernel gen "$task" --skill "$skill" --provider template >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ $rc -eq 5 ] || { echo "FAIL: no GPU: exit $rc, want 5"; cat "$tmp/err"; fail=1; }
  [ "$(grep -c . "$tmp/err")" -eq 1 ] || { echo "FAIL: no GPU: want one line on stderr, got:"; cat "$tmp/err"; fail=1; }
  grep -q "no CUDA" "$tmp/err" || { echo "FAIL: no GPU: the error does not say so"; cat "$tmp/err"; fail=1; }
  grep -q -- "--compile-only" "$tmp/err" || { echo "FAIL: no GPU: no hint at --compile-only"; fail=1; }
  [ -s "$tmp/out" ] && { echo "FAIL: no GPU: printed a leaderboard:"; cat "$tmp/out"; fail=1; }
  [ -e "$tmp/runs" ] && { echo "FAIL: no GPU: left a run folder behind"; find "$tmp/runs"; fail=1; }
  "$dsx" kernel gen "$task" --skill "$skill" --provider template --out "$tmp/mine" >/dev/null 2>&1
  [ -e "$tmp/mine" ] && { echo "FAIL: no GPU: created --out"; fail=1; }
fi

if ! { ldconfig -p 2>/dev/null | grep -q libnvrtc; } && [ -z "${DSX_NVRTC_LIBRARY:-}" ]; then
  echo "SKIP: no NVRTC: --compile-only parts not run"
  [ $fail -eq 0 ] && exit 77
  exit $fail
fi

# 2. Two runs started together get two run folders (each stops at once: --max-time spent).
for i in 1 2; do
  "$dsx" kernel gen "$task" --skill "$skill" --provider template --compile-only --max-time 0.000001 \
    >/dev/null 2>&1 &
done
wait
n=$(find "$tmp/runs/kernel-gen" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
[ "$n" -eq 2 ] || { echo "FAIL: two runs made $n run folders, want 2"; ls "$tmp/runs/kernel-gen"; fail=1; }

# 3. --session: progress, metric and table events on the session; --quiet: no progress lines.
"$dsx" session serve --memory --listen 127.0.0.1:0 --ready-file "$tmp/ready.json" 2>"$tmp/serve.log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/ready.json" ] && break; sleep 0.1; done
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$tmp/ready.json")
"$dsx" kernel gen "$task" --skill "$skill" --provider template --compile-only --session kgen \
  --server "$url" --out "$tmp/run3" --quiet >"$tmp/out3" 2>"$tmp/err3"
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: gen --session exited $rc"; cat "$tmp/err3"; fail=1; }
[ -s "$tmp/err3" ] && { echo "FAIL: --quiet: stderr not empty:"; head -5 "$tmp/err3"; fail=1; }
curl -fsS "$url/v1/session/kgen/events?offset=-1" >"$tmp/events.json" || { echo "FAIL: cannot read the session"; fail=1; }
python3 - "$tmp/events.json" <<'PY' || fail=1
import json, sys
page = json.load(open(sys.argv[1]))
events = page["events"]
types = [e.get("type") for e in events]
for t in ("gen.start", "gen.result", "gen.end", "progress", "metric", "table"):
    if t not in types:
        sys.exit("FAIL: no %s event in the session (types: %s)" % (t, sorted(set(types))))
progress = [e["data"] for e in events if e.get("type") == "progress"]
last = progress[-1]
assert last["unit"] == "candidates" and last["total"] == 18 and last["done"] == 18, last
assert [p["done"] for p in progress] == sorted(p["done"] for p in progress), progress
metrics = [e["data"] for e in events if e.get("type") == "metric"]
assert all(m["name"] == "best_speedup" for m in metrics), metrics
assert [m["step"] for m in metrics] == sorted(m["step"] for m in metrics), metrics
table = [e["data"] for e in events if e.get("type") == "table"][-1]
assert table["columns"] == ["rank", "id", "outcome", "score", "summary"], table
assert len(table["rows"]) == 18 and all(len(r) == 5 for r in table["rows"]), table
assert types.index("table") > types.index("gen.start"), types
PY
[ $fail -eq 0 ] && echo "kernel gen: ok"
exit $fail
