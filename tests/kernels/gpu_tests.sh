#!/usr/bin/env bash
# tests/kernels/gpu_tests.sh DSX [OUTDIR]: every check that needs a GPU (CTest label gpu; also
# step 4 of scripts/gpu-check). Exit 77 (CTest SKIP) when there is no CUDA driver or device.
#   1 every task's optimized kernel verifies at its small presets (small, and small_* where a task has
#     them, e.g. attention's small_causal and small_large_logits): honest kernels pass
#   2 the cheat suite: each cheat rejected with the expected reason, guards on and static scan off
#   3 faults: a compile error, an illegal address and a hang are reported, not fatal
set -u
DSX=${1:?usage: gpu_tests.sh DSX [OUTDIR]}
OUT=${2:-$(mktemp -d)}
mkdir -p "$OUT"
HERE=$(cd "$(dirname "$0")" && pwd)
KERNELS=${DSX_KERNELS_DIR:-$HERE/../../kernels}
export DSX_KERNELS_DIR="$KERNELS"

"$DSX" kernel device > "$OUT/device.txt" 2>&1
rc=$?
if [ $rc -eq 5 ]; then echo "SKIP: $(head -1 "$OUT/device.txt")"; exit 77; fi
[ $rc -eq 0 ] || { echo "FAIL device probe: $(cat "$OUT/device.txt")"; exit 1; }
cat "$OUT/device.txt"

pass=0; fail=0
ok() { pass=$((pass + 1)); echo "PASS $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
field() { sed -n "s|^// $1: *||p" "$2" | head -1; }
reason_of() {  # the top-level reasons of a bench JSON document, one line
  python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(d.get("status",""), "|", " ; ".join(d.get("reasons",[])))' "$1" 2>/dev/null || head -c 400 "$1"
}

# 1 honest kernels: every task, its small presets, all dtypes
for d in "$KERNELS"/*/; do
  t=$(basename "$d")
  [ -e "$d/task.toml" ] || continue
  smalls=$(sed -n 's/^\[sizes\.\(small[A-Za-z0-9_]*\)\].*/\1/p' "$d/task.toml" | paste -sd, -)
  timeout 120 "$DSX" kernel bench "$t" --sizes "${smalls:-small}" --json --timeout 0.3 --no-reference-timing > "$OUT/honest-$t.json" 2> "$OUT/honest-$t.err"
  rc=$?
  if [ $rc -eq 0 ]; then ok "honest $t"; else bad "honest $t (exit $rc): $(reason_of "$OUT/honest-$t.json") $(tail -1 "$OUT/honest-$t.err")"; fi
done

# 2 cheats (and the honest controls among them); header fields task, dtype, sizes pick the run
# (default vector_add, f32, small)
run_cheat() {  # run_cheat FILE EXPECT MODE(static|dynamic)
  local f=$1 expect=$2 mode=$3 name; name=$(basename "$f" .cu)
  local extra=(); [ "$mode" = dynamic ] && extra=(--scan-warn-only)
  local task; task=$(field task "$f"); task=${task:-vector_add}
  local dtype; dtype=$(field dtype "$f"); dtype=${dtype:-f32}
  local sizes; sizes=$(field sizes "$f"); sizes=${sizes:-small}
  local js="$OUT/cheat-$name-$mode.json"
  timeout 120 "$DSX" kernel bench "$task" --impl "$f" --dtype "$dtype" --sizes "$sizes" --json --timeout 0.3 --child-timeout 60 "${extra[@]}" > "$js" 2> "${js%.json}.err"
  local rc=$? why; why=$(reason_of "$js")
  if [ "$expect" = ok ]; then
    if [ $rc -eq 0 ]; then ok "cheat $name ($mode): honest control passes"; else bad "cheat $name ($mode): honest control failed: $why"; fi
  elif [ $rc -eq 1 ] && echo "$why" | grep -qF -- "$expect"; then
    ok "cheat $name ($mode): rejected: $why"
  else
    bad "cheat $name ($mode): exit $rc, expected a rejection naming '$expect', got: $why"
  fi
}
for f in "$HERE"/cheats/*.cu; do
  run_cheat "$f" "$(field expect "$f")" static
  dyn=$(field expect-dynamic "$f")
  [ -n "$dyn" ] && run_cheat "$f" "$dyn" dynamic
done

# 3 faults: reported with a reason, the harness survives
for f in "$HERE"/faults/*.cu; do
  name=$(basename "$f" .cu); expect=$(field expect "$f")
  js="$OUT/fault-$name.json"
  timeout 120 "$DSX" kernel bench vector_add --impl "$f" --dtype f32 --sizes small --json --timeout 0.3 --child-timeout 20 > "$js" 2> "${js%.json}.err"
  rc=$?; why=$(reason_of "$js")
  if [ $rc -eq 1 ] && echo "$why" | grep -qF -- "$expect"; then ok "fault $name: $why"; else bad "fault $name: exit $rc, expected '$expect', got: $why"; fi
done

echo "gpu tests: $pass passed, $fail failed"
printf '{"passed": %d, "failed": %d}\n' "$pass" "$fail" > "$OUT/summary.json"
[ $fail -eq 0 ]
