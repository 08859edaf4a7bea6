#!/usr/bin/env bash
# tests/kernels/no_driver.sh DSX: without libcuda.so.1 the GPU commands fail cleanly with exit 5
# and "no CUDA driver"; compile, list and show still work. SKIP (77) on a machine with a driver.
set -u
DSX=${1:?usage: no_driver.sh DSX}
HERE=$(cd "$(dirname "$0")" && pwd)
export DSX_KERNELS_DIR=${DSX_KERNELS_DIR:-$HERE/../../kernels}
if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then echo "SKIP: this machine has libcuda.so.1"; exit 77; fi
fail=0
check() {  # check WANT_RC WANT_TEXT CMD...
  local want=$1 text=$2; shift 2
  local err rc; err=$("$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -eq "$want" ] && echo "$err" | grep -qF -- "$text"; then echo "PASS $*"; else echo "FAIL $* (exit $rc): $err"; fail=1; fi
}
check 5 "no CUDA driver" "$DSX" kernel device
check 5 "no CUDA driver" "$DSX" kernel bench vector_add --sizes small
check 5 "no CUDA driver" "$DSX" kernel bench vector_add --impl "$HERE/cheats/honest_grid_stride.cu"
# A driver library that is not libcuda: still "no CUDA driver"-class, never a crash.
DSX_CUDA_DRIVER_LIBRARY=/nonexistent/libcuda.so.1 check 5 "no CUDA driver" "$DSX" kernel device
"$DSX" kernel list > /dev/null || { echo "FAIL list"; fail=1; }
"$DSX" kernel show vector_add > /dev/null || { echo "FAIL show"; fail=1; }
# show: the [allowed] table, and long preset names keep the columns aligned.
show=$("$DSX" kernel show attention) || { echo "FAIL show attention"; fail=1; }
echo "$show" | grep -qE '^  D +64, 128$' || { echo "FAIL show: no [allowed] line for D"; fail=1; }
cols=$(echo "$show" | grep -E '^  (small|small_large_logits) +B=' | awk '{print index($0, "B=")}' | sort -u | wc -l)
[ "$cols" = 1 ] || { echo "FAIL show: preset columns not aligned"; echo "$show"; fail=1; }
exit $fail
