#!/usr/bin/env bash
# tests/kernels/export/export_cli.sh DSX
# `dsx kernel export` from the command line: every shipped task's optimized kernel exports, --json
# names what was written, the Python wrapper runs against a stand-in torch (wrapper_check.py:
# output shapes and dtypes, argument order), and (where nvcc is installed) every exported launch.cu, which holds the
# verified kernel and its launches, compiles for sm_80 as kernel-builder's nvcc would build it.
# Where libtorch is installed, the torch binding is compiled and registered (libtorch_check.sh).
# Then the error cases and their exit codes (2 usage, 3 not found, 4 refused).
# The torch op and binding need torch headers: scripts/gpu-check builds those on a GPU machine.
set -u
DSX=${1:?usage: export_cli.sh DSX}
KERNELS=${DSX_KERNELS_DIR:?DSX_KERNELS_DIR must name the kernels folder}
T=$(mktemp -d "${TMPDIR:-/tmp}/dsx-export-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
ok() { echo "ok: $*"; }

# expect CODE DESCRIPTION COMMAND...: runs, checks the exit code, keeps stderr in $T/err
expect() {
  local want=$1 what=$2; shift 2
  "$@" > "$T/out" 2> "$T/err"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then bad "$what: exit $rc, want $want ($(head -c 300 "$T/err"))"; return 1; fi
  ok "$what (exit $rc)"
}

NVCC=""
for c in "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" "$(command -v nvcc 2>/dev/null)"; do
  [ -n "$c" ] && [ -x "$c" ] && { NVCC=$c; break; }
done
[ -z "$NVCC" ] && echo "note: no nvcc: the exported launch.cu files are not compiled here"

expect 0 "export --help" "$DSX" kernel export --help
for dir in "$KERNELS"/*/; do
  t=$(basename "$dir")
  [ -e "$dir/task.toml" ] || continue
  if ! "$DSX" kernel show "$t" > /dev/null 2>&1; then echo "note: task '$t' does not load; skipped"; continue; fi
  expect 0 "export $t" "$DSX" kernel export "$t" --out "$T/$t" --json || continue
  python3 - "$T/out" "$T/$t" <<'PY' || bad "export $t: --json does not match the folder"
import json, os, sys
doc = json.load(open(sys.argv[1]))
for key in ("out", "task", "kernel_name", "op", "schema", "impl", "impl_sha256", "dtypes", "measured", "files"):
    assert key in doc, key
assert doc["measured"] is False and doc["device"] is None
assert os.path.samefile(doc["out"], sys.argv[2])
for f in doc["files"]:
    assert os.path.getsize(os.path.join(sys.argv[2], f["path"])) == f["bytes"], f
PY
  op=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["op"])' "$T/out")
  if python3 "$(dirname "$0")/wrapper_check.py" "$T/$t" "$dir" > "$T/wrap" 2>&1; then ok "$(tail -1 "$T/wrap")"
  else bad "wrapper $t: $(tail -c 1500 "$T/wrap")"; fi
  if [ -n "$NVCC" ]; then
    if (cd "$T/$t/${op}_cuda" && "$NVCC" -std=c++17 $(python3 -c 'import tomllib,sys; c=tomllib.load(open(sys.argv[1],"rb")); print(" ".join(c["kernel"][sys.argv[2]].get("cuda-flags", [])))' "$T/$t/build.toml" "$op") -arch=sm_80 -c launch.cu -o "$T/$t.o") > "$T/nvcc" 2>&1; then
      ok "nvcc sm_80: $t/${op}_cuda/launch.cu"
    else
      bad "nvcc sm_80: $t/${op}_cuda/launch.cu: $(head -c 1500 "$T/nvcc")"
    fi
  fi
done

# The torch binding against libtorch's headers, where they are installed (Debian libtorch-dev; CPU
# only, so the CUDA op gets a stub): torch must accept the schema and the binding's signature.
# One task (rmsnorm: tensors written and read, a float default), ~1-3 min on a busy machine.
for t in rmsnorm; do
  [ -e "$T/$t/dsx-export.json" ] || continue
  bash "$(dirname "$0")/libtorch_check.sh" "$T/$t" "$T/libtorch-$t" > "$T/lt" 2>&1
  case $? in
    0) ok "$(tail -1 "$T/lt")" ;;
    77) echo "note: $(tail -1 "$T/lt")"; break ;;
    *) bad "libtorch check $t: $(head -c 2000 "$T/lt")" ;;
  esac
done

# Errors.
expect 2 "no TASK" "$DSX" kernel export --out "$T/x"
expect 2 "no --out" "$DSX" kernel export vector_add
expect 3 "unknown task" "$DSX" kernel export no_such_task --out "$T/x"
expect 3 "impl not found" "$DSX" kernel export vector_add --impl "$T/none.cu" --out "$T/x"
expect 4 "out not empty" "$DSX" kernel export vector_add --out "$T/vector_add"
grep -q -- "--force" "$T/err" || bad "out not empty: the message does not mention --force"
expect 0 "--force" "$DSX" kernel export vector_add --out "$T/vector_add" --force
# --force with another task: the first export's files go (its manifest lists them), the
# user's own file stays, and the folder holds exactly the new manifest's files.
mkdir -p "$T/swap" && "$DSX" kernel export vector_add --out "$T/swap" > /dev/null 2>&1 || bad "swap: first export"
echo mine > "$T/swap/NOTES.txt"
expect 0 "--force over another task's export" "$DSX" kernel export softmax --out "$T/swap" --force
[ -e "$T/swap/NOTES.txt" ] || bad "--force removed a file dsx did not write"
python3 - "$T/swap" <<'PY' || bad "--force left the first export's files"
import json, os, sys
root = sys.argv[1]
listed = set(json.load(open(os.path.join(root, "dsx-export.json")))["files"])
found = {os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs}
extra = found - listed - {"NOTES.txt"}
missing = listed - found
if extra or missing:
    sys.exit("extra %s, missing %s" % (sorted(extra), sorted(missing)))
PY
expect 2 "bad capabilities" "$DSX" kernel export vector_add --out "$T/c1" --cuda-capabilities 8.0,,9.0
expect 2 "bad capability" "$DSX" kernel export vector_add --out "$T/c2" --cuda-capabilities sm_90
expect 0 "capabilities 9.0a" "$DSX" kernel export vector_add --out "$T/c3" --cuda-capabilities 9.0a
grep -q '"9.0a"' "$T/c3/build.toml" || bad "capabilities 9.0a not in build.toml"
expect 2 "bad name" "$DSX" kernel export vector_add --out "$T/n1" --name "-x"
printf '{"task": "vector_add", "status": "ok", "results": 5' > "$T/trunc.json"
expect 2 "truncated results" "$DSX" kernel export vector_add --out "$T/r1" --results "$T/trunc.json"
printf '{"task": "vector_add", "status": "ok", "impl_sha256": null, "results": []}' > "$T/nosha.json"
expect 2 "results without impl_sha256" "$DSX" kernel export vector_add --out "$T/r2" --results "$T/nosha.json"
grep -q "field 'device'" "$T/err" || grep -q "impl_sha256" "$T/err" || bad "results error does not name the field: $(cat "$T/err")"
python3 - "$T/other.json" <<'PY'
import json, sys
row = {"dtype": "f32", "preset": "small", "status": "ok", "sizes": {"ROWS": 257, "COLS": 1001},
       "verification": {"trials": 5, "passed": 5, "max_rel_err": 1e-7, "tolerance": 1e-5}, "median_ms": 0.01}
json.dump({"task": "softmax", "status": "ok", "impl_sha256": "a" * 64,
           "device": {"name": "NVIDIA H100 80GB HBM3", "arch": "sm_90"}, "results": [row]}, open(sys.argv[1], "w"))
PY
expect 4 "results of another task" "$DSX" kernel export vector_add --out "$T/r3" --results "$T/other.json"
[ -e "$T/r1" ] && bad "a refused export left its folder behind"

if [ $fail -ne 0 ]; then echo "export_cli: FAILED" >&2; exit 1; fi
echo "export_cli: all passed"
