#!/usr/bin/env bash
# Compile a candidate, then verify and time it: the two steps every kernel goes through.
#   scripts/check.sh TASK FILE.cu [extra `dsx kernel bench` flags...]
# Exit status is dsx's: 0 ok, 1 failed (compile, wrong, rejected), 5 no GPU for the bench step.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 TASK FILE.cu [bench flags...]" >&2
  exit 2
fi
task=$1
file=$2
shift 2
dsx=${DSX:-dsx}
"$dsx" kernel compile "$file" --task "$task"
"$dsx" kernel bench "$task" --impl "$file" "$@"
