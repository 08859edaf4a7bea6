#!/usr/bin/env bash
# tests/kernels/compile_all.sh DSX: every task's kernels (every kernels/<task>/*.cu: reference,
# optimized and any other impl, for every dtype of the task), the harness's own kernels and the
# cheats compile with NVRTC for sm_80 AND sm_90, without a GPU. A cheat is compiled against the
# task its `// task:` line names (vector_add when it has none). Fails when a task folder has no .cu
# file. Exit 77 (CTest SKIP) when NVRTC is unavailable (exit 5 from dsx). Uses a private cache so
# it really compiles.
set -u
DSX=${1:?usage: compile_all.sh DSX}
HERE=$(cd "$(dirname "$0")" && pwd)
KERNELS=${DSX_KERNELS_DIR:-$HERE/../../kernels}
export DSX_CACHE_DIR=$(mktemp -d)
trap 'rm -rf "$DSX_CACHE_DIR"' EXIT
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
echo "compiled $n (file, arch) pairs for sm_80 and sm_90, $fail failures"
[ $fail -eq 0 ]
