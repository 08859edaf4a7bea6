#!/usr/bin/env bash
# tests/kernels/compile_all.sh DSX: every task's kernels (every kernels/<task>/*.cu: reference,
# optimized and any other impl, for every dtype of the task), the harness's own kernels and the
# cheats compile with NVRTC for sm_80 AND sm_90, without a GPU. A cheat is compiled against the
# task its `// task:` line names (vector_add when it has none). Fails when a task folder has no .cu
# file. Every variant of every skills/cuda-kernels template (`dsx kernel gen TASK --provider
# template --compile-only`) compiles for both arches too. Exit 77 (CTest SKIP) when NVRTC is unavailable (exit 5 from dsx). Uses a private cache so
# it really compiles.
set -u
DSX=${1:?usage: compile_all.sh DSX}
HERE=$(cd "$(dirname "$0")" && pwd)
KERNELS=${DSX_KERNELS_DIR:-$HERE/../../kernels}
SKILL=${DSX_SKILL_DIR:-$HERE/../../skills/cuda-kernels}
export DSX_CACHE_DIR=$(mktemp -d)
trap 'rm -rf "$DSX_CACHE_DIR"' EXIT
export DSX_KERNELS_DIR="$KERNELS"
"$DSX" kernel compile --harness --arch sm_90 > /dev/null 2>"$DSX_CACHE_DIR/err"
rc=$?
if [ $rc -eq 5 ]; then echo "SKIP: $(cat "$DSX_CACHE_DIR/err")"; exit 77; fi
fail=0; n=0
for d in "$KERNELS"/*/; do
  [ -e "$d/task.toml" ] || continue
  ls "$d"*.cu >/dev/null 2>&1 || { echo "FAIL $d: a task with no .cu file"; fail=$((fail + 1)); }
done
for arch in sm_80 sm_90; do
  "$DSX" kernel compile --harness --arch $arch >/dev/null || { echo "FAIL harness $arch"; fail=$((fail + 1)); }
  for f in "$KERNELS"/*/*.cu; do
    [ -e "$(dirname "$f")/task.toml" ] || continue
    t=$(basename "$(dirname "$f")"); n=$((n + 1))
    "$DSX" kernel compile "$f" --task "$t" --arch $arch > /dev/null || { echo "FAIL $f $arch"; fail=$((fail + 1)); }
  done
  for f in "$HERE"/cheats/*.cu; do
    grep -q '^// expect-dynamic: compile failed' "$f" && continue  # does not compile on purpose
    n=$((n + 1))
    t=$(sed -n 's|^// task: *||p' "$f" | head -1)
    "$DSX" kernel compile "$f" --task "${t:-vector_add}" --arch $arch > /dev/null || { echo "FAIL $f $arch"; fail=$((fail + 1)); }
  done
done
# Template variants: sm_80 only (the features they use, mma.sync/ldmatrix/cp.async, are the same
# on sm_90, and each variant compiles for every dtype: both arches would double a minutes-long step).
for toml in "$SKILL"/templates/*.toml; do
  t=$(basename "$toml" .toml); out="$DSX_CACHE_DIR/gen-$t-sm_80"
  "$DSX" kernel gen "$t" --provider template --compile-only --skill "$SKILL" --arch sm_80 --out "$out" --json -q \
    > "$out.json" 2> "$out.err" || { echo "FAIL template $t sm_80: $(tail -2 "$out.err")"; fail=$((fail + 1)); continue; }
  bad=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); e=d.get("entries",[])
print(len(e), sum(x.get("outcome")!="passed" for x in e))' "$out.json") || bad="0 1"
  set -- $bad
  n=$((n + $1))
  if [ "$1" -eq 0 ] || [ "$2" -ne 0 ]; then echo "FAIL template $t sm_80: $2 of $1 variants did not compile ($out)"; fail=$((fail + 1)); fi
done
# `-o FILE.ptx` writes PTX text that ptxas takes: no trailing NUL (NVRTC's PTX has one, which
# cuModuleLoadData wants and ptxas refuses).
ptx="$DSX_CACHE_DIR/vector_add.ptx"
if "$DSX" kernel compile "$HERE/../../kernels/vector_add/optimized.cu" --task vector_add --arch compute_80 -o "$ptx" > /dev/null; then
  if [ "$(tail -c 1 "$ptx" | od -An -tx1 | tr -d ' ')" = "00" ]; then echo "FAIL -o $ptx ends with a NUL byte"; fail=$((fail + 1)); fi
  PTXAS=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
  if [ -x "$PTXAS" ] && ! "$PTXAS" -arch=sm_80 "$ptx" -o "$ptx.cubin" 2> "$ptx.err"; then
    echo "FAIL ptxas refuses $ptx: $(head -2 "$ptx.err")"; fail=$((fail + 1))
  fi
else
  echo "FAIL compile -o $ptx"; fail=$((fail + 1))
fi
echo "compiled $n sources (task kernels and cheats for sm_80 and sm_90, template variants for sm_80), $fail failures"
[ $fail -eq 0 ]
