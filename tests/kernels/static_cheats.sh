#!/usr/bin/env bash
# tests/kernels/static_cheats.sh DSX: the part of the cheat suite that needs no GPU. Cheats whose
# trick is visible in the source must be rejected by the static scan, with the rule named, before
# any device is touched (exit 1, status "rejected"); the honest control and the shipped kernels
# must have no rejecting finding (they then stop at "no CUDA driver/device", exit 5, or pass).
set -u
DSX=${1:?usage: static_cheats.sh DSX}
HERE=$(cd "$(dirname "$0")" && pwd)
export DSX_KERNELS_DIR=${DSX_KERNELS_DIR:-$HERE/../../kernels}
fail=0; pass=0
field() { sed -n "s|^// $1: *||p" "$2" | head -1; }
for f in "$HERE"/cheats/*.cu; do
  name=$(basename "$f" .cu); expect=$(field expect "$f")
  task=$(field task "$f"); task=${task:-vector_add}
  out=$("$DSX" kernel bench "$task" --impl "$f" --sizes small --json 2>/dev/null); rc=$?
  if echo "$expect" | grep -q '^static scan\|^side-work\|^clock'; then
    if [ $rc -eq 1 ] && echo "$out" | grep -q '"status":"rejected"' && echo "$out" | grep -qF -- "$expect"; then
      pass=$((pass + 1)); echo "PASS $name: rejected statically"
    else
      fail=$((fail + 1)); echo "FAIL $name: exit $rc, expected a static rejection naming '$expect': $out"
    fi
  else
    if echo "$out" | grep -q '"status":"rejected"'; then
      fail=$((fail + 1)); echo "FAIL $name: rejected statically but its trick is not in the source: $out"
    else
      pass=$((pass + 1)); echo "PASS $name: no static finding (left to the run-time guards)"
    fi
  fi
done
for f in "$DSX_KERNELS_DIR"/*/*.cu; do
  t=$(basename "$(dirname "$f")")
  out=$("$DSX" kernel bench "$t" --impl "$f" --sizes small --json 2>/dev/null)
  if echo "$out" | grep -q '"status":"rejected"'; then fail=$((fail + 1)); echo "FAIL shipped $f rejected: $out"; else pass=$((pass + 1)); fi
done
echo "static cheats: $pass passed, $fail failed"
[ $fail -eq 0 ]
